"""Users and their bearer tokens (stored hashed, shown once)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.store.models import ApiToken, AuditEntry, User, WebSession

ROLES = ("planner", "sponsor")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user(session: Session, name: str, role: str, sponsor_id: str | None,
             actor: str) -> tuple[User, str]:
    """A new user and a fresh token for them (the only time the token is visible)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)} (got {role!r})")
    if (role == "sponsor") != bool(sponsor_id):
        raise ValueError("a sponsor user needs --sponsor; a planner has none")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise ValueError(f"user {name!r} already exists")
    user = User(name=name, role=role, sponsor_id=sponsor_id)
    session.add(user)
    session.flush()
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=token_hash(token)))
    session.add(AuditEntry(actor=actor, action="add user", target=name,
                           detail={"role": role, "sponsor_id": sponsor_id}))
    session.commit()
    return user, token


def user_for_token(session: Session, token: str) -> User | None:
    """The user a valid, unrevoked token belongs to."""
    found = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token),
                                                  ApiToken.revoked.is_(False)))
    return session.get(User, found.user_id) if found else None


SESSION_HOURS = 12


def start_session(session: Session, user: User) -> str:
    """A new signed-in browser for `user`; returns the id for its cookie (kept hashed)."""
    sid = secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    session.add(WebSession(id_hash=token_hash(sid), user_id=user.id, created_at=now,
                           expires_at=now + dt.timedelta(hours=SESSION_HOURS)))
    session.commit()
    return sid


def user_for_session(session: Session, sid: str) -> User | None:
    """The user of a live (not ended, not expired) browser session."""
    found = session.get(WebSession, token_hash(sid))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if found is None or found.ended or found.expires_at.replace(tzinfo=None) <= now:
        return None
    return session.get(User, found.user_id)


def end_session(session: Session, sid: str) -> None:
    found = session.get(WebSession, token_hash(sid))
    if found is not None:
        found.ended = True
        session.commit()
