"""People and their credentials: accounts, passwords, one-time links and API tokens.

People sign in to the pages with a name and a password (argon2id). The first
password is set through a one-time link (`allocator user add` prints it); the
link is kept only as its SHA-256 hash, works once and expires. API tokens are
for machine clients: kept hashed, shown once, they expire and can be revoked
or rotated. Revoking a user or any of their tokens ends all of the user's
browser sessions, so nothing signed in before the revoke keeps working.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import unicodedata
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from allocator.store import audit
from allocator.store.models import (
    AllocationRow,
    ApiToken,
    Lot,
    PasswordLink,
    Point,
    Sponsor,
    User,
    UserPoint,
    WebSession,
)

ROLES = ("planner", "sponsor", "point")
MAX_POINTS = 50  # a point officer covers a few points of their commune, never the city
TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 3650
LINK_HOURS = 72
MIN_PASSWORD = 10
MAX_PASSWORD = 256  # argon2 takes any length; this bounds the work one request can ask for
MAX_NAME = 100  # names are also the audit log's actors
# The commonest choices that pass the length rule; a short list, the length does the rest.
COMMON_PASSWORDS = frozenset({
    "1234567890", "12345678910", "123456789012", "0123456789", "1111111111", "0000000000",
    "qwertyuiop", "1q2w3e4r5t", "password12", "password123", "password1234", "passw0rd12",
    "matkhau123", "matkhau1234", "abcd123456", "abc1234567", "iloveyou12", "qwerty1234",
    "qwerty12345", "admin12345", "administrator", "welcome123", "changeme12",
})

_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106) parameters


class PeopleError(ValueError):
    """An operator's mistake about people or tokens: said in one sentence, nothing written."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored: str, password: str) -> bool:
    """Whether `password` is the one `stored` (an argon2 hash) was made from."""
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


# Why a new password is refused: a key the pages translate, and the sentence for the terminal.
PASSWORD_PROBLEMS = {
    "password_too_short": f"A password needs at least {MIN_PASSWORD} characters.",
    "password_too_long": f"A password has at most {MAX_PASSWORD} characters.",
    "password_too_easy": "This password is too easy to guess; choose another.",
}


def password_problem(password: str, name: str) -> str | None:
    """The key of `PASSWORD_PROBLEMS` that refuses a new password, or None when it is good."""
    if len(password) < MIN_PASSWORD:
        return "password_too_short"
    if len(password) > MAX_PASSWORD:
        return "password_too_long"
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) < 4 or (
            len(name) >= 4 and name.lower() in lowered):
        return "password_too_easy"
    return None


def find_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise PeopleError(f"There is no user {name!r}.")
    return user


def known_sponsor(session: Session, sponsor_id: str) -> bool:
    """A sponsor the store knows: in the sponsor table, a lot of the registry, or a lot of
    a round with results."""
    from allocator.store.sponsor_view import PREVIEW, visible_rounds

    return any(session.scalar(select(column).where(column == sponsor_id).limit(1)) is not None
               for column in (Sponsor.id, Lot.sponsor_id, AllocationRow.sponsor_id)) \
        or bool(visible_rounds(session, sponsor_id, PREVIEW))


def known_point(session: Session, point_id: str) -> bool:
    """A distribution point the store knows: of the registry, or of a round with results."""
    return any(session.scalar(select(column).where(column == point_id).limit(1)) is not None
               for column in (Point.id, AllocationRow.point_id))


def officer_points(session: Session, user: User) -> list[str]:
    """The points a point officer works at (sorted); none for anyone else."""
    if user.role != "point":
        return []
    return list(session.scalars(select(UserPoint.point_id).where(UserPoint.user_id == user.id)
                                .order_by(UserPoint.point_id)))


def _check_points(session: Session, role: str, points: Sequence[str]) -> list[str]:
    chosen = sorted(set(points))
    if role != "point":
        if chosen:
            raise PeopleError("Only a point officer (--role point) works at points; leave out "
                              "--point.")
        return []
    if not chosen:
        raise PeopleError("A point officer needs at least one --point ID, the distribution "
                          "point they hand phones over at.")
    if len(chosen) > MAX_POINTS:
        raise PeopleError(f"A point officer works at most at {MAX_POINTS} points.")
    unknown = [p for p in chosen if not known_point(session, p)]
    if unknown:
        raise PeopleError(f"There is no distribution point {unknown[0]!r} in the store: not in "
                          "the registry (allocator import points FILE) nor in a solved round.")
    return chosen


def _check_new_user(session: Session, name: str, role: str, sponsor_id: str | None) -> None:
    if not name or len(name) > MAX_NAME or name != name.strip() or any(
            unicodedata.category(c)[0] in "CZ" and c != " " for c in name):
        raise PeopleError(f"A user name has 1 to {MAX_NAME} characters, with no tabs, line "
                          "breaks or spaces at either end.")
    if role not in ROLES:
        raise PeopleError(f"The role must be one of {', '.join(ROLES)} (got {role!r}).")
    if role == "sponsor" and not sponsor_id:
        raise PeopleError("A sponsor user needs --sponsor ID, the sponsor they speak for.")
    if role in ("planner", "point") and sponsor_id:
        raise PeopleError(f"A {'planner' if role == 'planner' else 'point officer'} belongs to "
                          "no sponsor; leave out --sponsor.")
    if sponsor_id and not known_sponsor(session, sponsor_id):
        raise PeopleError(f"There is no sponsor {sponsor_id!r} in the store: no lot of the "
                          "registry or of a solved round is theirs (allocator import lots FILE "
                          "adds lots).")
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise PeopleError(f"The user {name!r} already exists.")


def create_user(session: Session, name: str, role: str, sponsor_id: str | None, actor: str,
                link_hours: int = LINK_HOURS, points: Sequence[str] = ()) -> tuple[User, str]:
    """A new person without a password, and the one-time link token to set it."""
    user = _new_user(session, name, role, sponsor_id, actor, points)
    link = _new_link(session, user, link_hours)
    session.commit()
    return user, link


def add_user(session: Session, name: str, role: str, sponsor_id: str | None, actor: str,
             days: int = TOKEN_DAYS, points: Sequence[str] = ()) -> tuple[User, str]:
    """A new machine client: a user with no password and an API token (shown only now)."""
    user = _new_user(session, name, role, sponsor_id, actor, points)
    _, token = _new_token(session, user, days, actor)
    session.commit()
    return user, token


def _new_user(session: Session, name: str, role: str, sponsor_id: str | None, actor: str,
              points: Sequence[str]) -> User:
    _check_new_user(session, name, role, sponsor_id)
    chosen = _check_points(session, role, points)
    user = User(name=name, role=role, sponsor_id=sponsor_id or None, password_hash="")
    session.add(user)
    session.flush()
    session.add_all(UserPoint(user_id=user.id, point_id=p) for p in chosen)
    audit.record(session, actor, "add user", name,
                 {"role": role, "sponsor_id": sponsor_id} | ({"points": chosen} if chosen else {}))
    return user


def _new_link(session: Session, user: User, hours: int) -> str:
    """A fresh link token; earlier unused links of the user stop working."""
    session.execute(update(PasswordLink).where(PasswordLink.user_id == user.id,
                                               PasswordLink.used_at.is_(None))
                    .values(used_at=utcnow()))
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(PasswordLink(user_id=user.id, token_hash=token_hash(token), created_at=now,
                             expires_at=now + dt.timedelta(hours=hours)))
    return token


def new_password_link(session: Session, name: str, actor: str,
                      hours: int = LINK_HOURS) -> str:
    """A new one-time link for an existing person (a forgotten password)."""
    user = find_user(session, name)
    if user.disabled:
        raise PeopleError(f"The user {name!r} is revoked.")
    token = _new_link(session, user, hours)
    audit.record(session, actor, "issue password link", name, {"hours": hours})
    session.commit()
    return token


def link_user(session: Session, link: str) -> User | None:
    """The person a usable (unused, unexpired) link belongs to."""
    found = session.scalar(select(PasswordLink).where(PasswordLink.token_hash == token_hash(link)))
    if found is None or found.used_at is not None or found.expires_at <= utcnow():
        return None
    user = session.get(User, found.user_id)
    return None if user is None or user.disabled else user


def set_password_with_link(session: Session, link: str, password: str) -> User:
    """Set the password of the link's person; the link is spent and old sessions end."""
    user = link_user(session, link)
    if user is None:
        raise PeopleError("This link is unknown, used or expired; ask for a new one.")
    problem = password_problem(password, user.name)
    if problem:
        raise PeopleError(PASSWORD_PROBLEMS[problem])
    session.execute(update(PasswordLink).where(PasswordLink.token_hash == token_hash(link))
                    .values(used_at=utcnow()))
    user.password_hash = hash_password(password)
    end_sessions_of(session, user.id)
    audit.record(session, user.name, "set password", user.name)
    session.commit()
    return user


def set_password(session: Session, name: str, password: str, actor: str) -> User:
    """Set a password directly (the demo's throwaway accounts, tests)."""
    user = find_user(session, name)
    problem = password_problem(password, name)
    if problem:
        raise PeopleError(PASSWORD_PROBLEMS[problem])
    user.password_hash = hash_password(password)
    end_sessions_of(session, user.id)
    audit.record(session, actor, "set password", name)
    session.commit()
    return user


def revoke_user(session: Session, name: str, actor: str) -> User:
    """Disable a person: their tokens, links and browser sessions stop working at once."""
    user = find_user(session, name)
    if user.disabled:
        raise PeopleError(f"The user {name!r} is already revoked.")
    user.disabled = True
    session.execute(update(ApiToken).where(ApiToken.user_id == user.id)
                    .values(revoked=True))
    session.execute(update(PasswordLink).where(PasswordLink.user_id == user.id,
                                               PasswordLink.used_at.is_(None))
                    .values(used_at=utcnow()))
    end_sessions_of(session, user.id)
    audit.record(session, actor, "revoke user", name)
    session.commit()
    return user


def end_sessions_of(session: Session, user_id: int) -> None:
    session.execute(update(WebSession).where(WebSession.user_id == user_id,
                                             WebSession.ended.is_(False)).values(ended=True))


def _token_days(days: int) -> int:
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise PeopleError(f"--days must be between 1 and {MAX_TOKEN_DAYS} (got {days}).")
    return days


def _new_token(session: Session, user: User, days: int, actor: str,
               action: str = "add token", detail: dict[str, object] | None = None
               ) -> tuple[ApiToken, str]:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(user_id=user.id, token_hash=token_hash(token), created_at=now,
                   expires_at=now + dt.timedelta(days=_token_days(days)))
    session.add(row)
    session.flush()
    audit.record(session, actor, action, f"token {row.id}",
                 {"user": user.name, "days": days, **(detail or {})})
    return row, token


def add_token(session: Session, name: str, actor: str,
              days: int = TOKEN_DAYS) -> tuple[ApiToken, str]:
    """A new API token for a machine client of `name` (the only time it is visible)."""
    user = find_user(session, name)
    if user.disabled:
        raise PeopleError(f"The user {name!r} is revoked; a revoked user gets no tokens.")
    row, token = _new_token(session, user, _token_days(days), actor)
    session.commit()
    return row, token


def list_tokens(session: Session, name: str | None = None) -> Sequence[tuple[ApiToken, User]]:
    """Tokens (never their value) with their users, oldest first."""
    query = select(ApiToken, User).join(User, User.id == ApiToken.user_id)
    if name is not None:
        query = query.where(User.name == find_user(session, name).name)
    return [(token, user) for token, user in session.execute(query.order_by(ApiToken.id))]


def _token(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id) if 0 < token_id < 2**31 else None
    if row is None:
        raise PeopleError(f"There is no token {token_id}.")
    return row


def revoke_token(session: Session, token_id: int, actor: str) -> ApiToken:
    """Revoke a token; the user's browser sessions end with it (see the module's note)."""
    row = _token(session, token_id)
    if row.revoked:
        raise PeopleError(f"Token {token_id} is already revoked.")
    row.revoked = True
    end_sessions_of(session, row.user_id)
    audit.record(session, actor, "revoke token", f"token {token_id}")
    session.commit()
    return row


def rotate_token(session: Session, token_id: int, actor: str,
                 days: int = TOKEN_DAYS) -> tuple[ApiToken, str]:
    """Revoke a token and give its user a new one (shown only now)."""
    row = _token(session, token_id)
    user = session.get(User, row.user_id)
    if row.revoked or user is None or user.disabled:
        raise PeopleError(f"Token {token_id} is revoked; add a new one with "
                          "'allocator token add USER'.")
    row.revoked = True
    end_sessions_of(session, row.user_id)
    new, token = _new_token(session, user, _token_days(days), actor, "rotate token",
                            {"replaces": token_id})
    session.commit()
    return new, token


def user_for_token(session: Session, token: str) -> User | None:
    """The user a live token belongs to: not revoked, not expired, user not revoked."""
    return session.scalar(
        select(User).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_hash(token), ApiToken.revoked.is_(False),
               ApiToken.expires_at > utcnow(), User.disabled.is_(False)))
