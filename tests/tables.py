"""A fingerprint of every table of the store, to prove that a refused write changed nothing."""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine, select

from allocator.store.models import Base


def fingerprint(engine: Engine) -> str:
    """A hash of every row of every table, in a fixed order (each table's rows sorted)."""
    digest = hashlib.sha256()
    with engine.connect() as connection:
        for table in sorted(Base.metadata.tables.values(), key=lambda t: t.name):
            rows = sorted(repr(tuple(row)) for row in connection.execute(select(table)))
            digest.update(f"{table.name}:{len(rows)}\n".encode())
            for row in rows:
                digest.update(row.encode() + b"\n")
    return digest.hexdigest()
