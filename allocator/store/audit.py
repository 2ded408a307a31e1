"""The audit log: who did what, when. Every entry is written through `record`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from allocator.store.models import AuditEntry


def record(session: Session, actor: str, action: str, target: str = "",
           detail: dict[str, Any] | None = None) -> AuditEntry:
    """Add an entry to the session's transaction (written when the caller commits)."""
    entry = AuditEntry(actor=actor, action=action, target=target, detail=detail or {})
    session.add(entry)
    return entry
