"""The audit log: who did what, when. Every entry is written through `record`.

The entries form a hash chain. Each holds `prev_hash`, the hash of the entry
before it (`GENESIS` for the first), and `hash`, the SHA-256 of a canonical JSON
of its own id, time, actor, action, target, detail and `prev_hash`. Editing an
entry changes its hash; deleting or reordering one breaks the link of the next;
`verify` walks the chain and names the first entry that does not hold. (Cutting
entries off the end leaves a shorter chain that still holds: keep the head hash
`verify` prints somewhere else to catch that.) On PostgreSQL a trigger also
refuses UPDATE, DELETE and TRUNCATE on the table.

The canonical form is part of the stored data: changing `entry_hash` would
break every chain already written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from allocator.store.models import AuditEntry

GENESIS = "0" * 64
# Any fixed number: the key of the PostgreSQL advisory lock that orders writers.
_LOCK_KEY = 0x41554454  # "AUDT"


def entry_hash(id: int, at: dt.datetime, actor: str, action: str, target: str,
               detail: Any, prev_hash: str) -> str:
    """SHA-256 of the entry's canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(
        {"id": id, "at": at.replace(tzinfo=None).isoformat(timespec="microseconds"),
         "actor": actor, "action": action, "target": target, "detail": detail,
         "prev_hash": prev_hash},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record(session: Session, actor: str, action: str, target: str = "",
           detail: dict[str, Any] | None = None) -> AuditEntry:
    """Add an entry to the session's transaction (written when the caller commits).

    The entry is flushed at once, with its id and hashes chosen here, so the
    log is only ever appended to (never updated, which PostgreSQL refuses).
    Writers queue for the chain's end: on PostgreSQL behind a transaction-level
    advisory lock, on SQLite behind the database's write lock, taken before the
    last entry is read; both are held until the caller's commit or rollback.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    else:  # a write that changes nothing, so this transaction holds the write lock now
        session.execute(text("UPDATE audit_log SET id = id WHERE 1 = 0"))
    last = session.execute(select(AuditEntry.id, AuditEntry.hash)
                           .order_by(AuditEntry.id.desc()).limit(1)).first()
    new_id, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
    # Stored as the database gives it back (JSON types, naive UTC), so the hash can be redone.
    clean = json.loads(json.dumps(detail or {}, default=str))
    at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    actor, action, target = actor[:100], action[:100], target[:200]
    entry = AuditEntry(id=new_id, at=at, actor=actor, action=action, target=target,
                       detail=clean, prev_hash=prev_hash,
                       hash=entry_hash(new_id, at, actor, action, target, clean, prev_hash))
    session.add(entry)
    session.flush()
    return entry


def record_read(session: Session, actor: str, action: str, target: str = "",
                detail: dict[str, Any] | None = None) -> None:
    """Record a read of personal data and commit it at once: a read has no write of its
    own for the entry to join, and a download must leave its trace even if the answer
    then fails to reach the reader.

    Call it once the reads are done (every result fetched): on SQLite a query still
    being read holds a snapshot, and a write from it would be refused at once rather
    than wait its turn.
    """
    session.commit()  # end the reads' transaction: the write below starts afresh and waits
    record(session, actor, action, target, detail)
    session.commit()


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: entries checked, the head hash, the first bad entry and why."""

    checked: int
    head: str
    bad_id: int | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.bad_id is None


def check_chain(entries: Iterable[AuditEntry]) -> Verdict:
    """Walk entries in id order; stop at the first whose link or hash does not hold."""
    prev, count = GENESIS, 0
    for entry in entries:
        if entry.prev_hash != prev:
            return Verdict(count, prev, entry.id, "does not follow the entry before it "
                           "(an entry was deleted, inserted or moved)")
        if entry.hash != entry_hash(entry.id, entry.at, entry.actor, entry.action,
                                    entry.target, entry.detail, entry.prev_hash):
            return Verdict(count, prev, entry.id, "its content does not match its hash "
                           "(the entry was edited)")
        prev, count = entry.hash, count + 1
    return Verdict(count, prev)


def verify(session: Session, batch: int = 5000) -> Verdict:
    """Check the whole chain, reading it in batches (give it a session of its own)."""

    def entries() -> Iterable[AuditEntry]:
        after = None
        while True:
            query = select(AuditEntry).order_by(AuditEntry.id).limit(batch)
            if after is not None:
                query = query.where(AuditEntry.id > after)
            rows = session.scalars(query).all()
            if not rows:
                return
            yield from rows
            after = rows[-1].id
            session.expunge_all()

    return check_chain(entries())
