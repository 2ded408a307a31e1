"""Signing in to the pages: name and password, throttled guessing, browser sessions.

Failed sign-ins are kept in the database (not in a process's memory), so every
web process behind the same store counts them together. After
`PER_ACCOUNT` failures for one name, or `PER_ADDRESS` from one address, within
`WINDOW`, further tries are refused unchecked until the oldest of those
failures is older than `WINDOW`; the caller answers 429 with `Retry-After`.
Every try, refused ones too, goes to the audit log with the name tried (never
the password). A browser session's cookie holds a random id, kept hashed.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
from dataclasses import dataclass
from functools import cache

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from allocator.store import audit
from allocator.store.models import SignInFailure, User, WebSession
from allocator.store.users import (
    hash_password,
    needs_rehash,
    password_matches,
    token_hash,
    utcnow,
)

WINDOW = dt.timedelta(minutes=15)
PER_ACCOUNT = 5
PER_ADDRESS = 20
SESSION_HOURS = 12
MAX_NAME = 200
ANONYMOUS = "anonymous"
# Control characters and lone UTF-16 surrogates: neither belongs in a name or a password.
UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


@dataclass(frozen=True)
class Outcome:
    """A sign-in's answer: the user and their session id, or how long to wait (seconds)."""

    user: User | None = None
    session_id: str = ""
    retry_after: int = 0


@cache
def _decoy() -> str:
    """A hash to check unknown names against, so they take as long as known ones."""
    return hash_password(secrets.token_urlsafe(16))


def _wait(session: Session, where: ColumnElement[bool], limit: int, now: dt.datetime) -> int:
    """Seconds until fewer than `limit` failures matching `where` lie within the window."""
    recent = session.scalars(select(SignInFailure.at)
                             .where(where, SignInFailure.at > now - WINDOW)
                             .order_by(SignInFailure.at.desc()).limit(limit)).all()
    if len(recent) < limit:
        return 0
    return max(1, math.ceil((recent[-1] + WINDOW - now).total_seconds()))


def _printable(text: str, limit: int) -> str:
    """Text as it may be stored and logged: control characters and lone surrogates shown as
    U+FFFD (a name tried may hold anything; PostgreSQL refuses NUL outright)."""
    return UNSAFE.sub("\ufffd", text.strip()[:limit])


def sign_in(session: Session, name: str, password: str, address: str) -> Outcome:
    """Check a name and password; on success start a browser session.

    The try is written down as a failure before the password is checked, and
    counted after: of any number of simultaneous guesses at one name, at most
    `PER_ACCOUNT` are checked. A throttled try takes its mark back (it checked
    nothing), so a flood does not keep a name locked for ever; a success clears the
    name's failures.
    """
    tried, address, now = _printable(name, MAX_NAME), _printable(address, 100), utcnow()
    mark = SignInFailure(at=now, name=tried, address=address)
    session.add(mark)
    session.commit()
    wait = max(_wait(session, SignInFailure.name == tried, PER_ACCOUNT + 1, now),
               _wait(session, SignInFailure.address == address, PER_ADDRESS + 1, now))
    if wait:
        session.delete(mark)
        audit.record(session, ANONYMOUS, "sign in refused", tried,
                     {"address": address, "reason": "too many failures", "retry_after": wait})
        session.commit()
        return Outcome(retry_after=wait)
    user = session.scalar(select(User).where(User.name == tried)) \
        if tried and tried == name.strip() else None
    usable = user is not None and not user.disabled and bool(user.password_hash)
    checkable = not UNSAFE.search(password)  # a lone surrogate cannot even be hashed
    if not checkable or not password_matches(
            user.password_hash if user and usable else _decoy(), password) \
            or user is None or not usable:
        reason = ("unknown name" if user is None else "revoked user" if user.disabled
                  else "no password set" if not user.password_hash else "wrong password")
        session.execute(delete(SignInFailure).where(SignInFailure.at <= now - WINDOW))
        audit.record(session, ANONYMOUS, "sign in failed", tried,
                     {"address": address, "reason": reason})
        session.commit()
        return Outcome()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.execute(delete(SignInFailure).where(SignInFailure.name == tried))
    audit.record(session, user.name, "sign in", user.name, {"address": address})
    return Outcome(user, start_session(session, user))


def start_session(session: Session, user: User) -> str:
    """A new signed-in browser for `user`; returns the id for its cookie (kept hashed)."""
    sid = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(WebSession(id_hash=token_hash(sid), user_id=user.id, created_at=now,
                           expires_at=now + dt.timedelta(hours=SESSION_HOURS)))
    session.commit()
    return sid


def user_for_session(session: Session, sid: str) -> User | None:
    """The user of a live (not ended, not expired, user not revoked) browser session."""
    found = session.get(WebSession, token_hash(sid))
    if found is None or found.ended or found.expires_at.replace(tzinfo=None) <= utcnow():
        return None
    user = session.get(User, found.user_id)
    return None if user is None or user.disabled else user


def sign_out(session: Session, sid: str) -> None:
    """End the browser session of `sid` and say so in the audit log."""
    found = session.get(WebSession, token_hash(sid)) if sid else None
    if found is None or found.ended:
        return
    found.ended = True
    user = session.get(User, found.user_id)
    name = user.name if user else ANONYMOUS
    audit.record(session, name, "sign out", name)
    session.commit()
