"""Where the store lives: DATABASE_URL, or a SQLite file beside the working folder."""

from __future__ import annotations

import os

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///allocator.db"


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("DATABASE_URL") or DEFAULT_URL


def busy_timeout_seconds() -> float:
    """How long a SQLite writer waits for another's lock before giving up (then: 503)."""
    return float(os.environ.get("ALLOCATOR_SQLITE_BUSY_SECONDS", "30"))


def make_engine(url: str | None = None) -> Engine:
    """An engine for the URL.

    SQLite gets foreign keys, write-ahead logging (readers never wait for the
    writer, nor the writer for readers) and a busy timeout: a second writer waits
    for the first instead of failing at once with 'database is locked'.
    """
    chosen = database_url(url)
    if chosen.startswith("sqlite"):
        engine = create_engine(chosen, connect_args={"timeout": busy_timeout_seconds()})

        @event.listens_for(engine, "connect")
        def _pragmas(connection, _record):  # type: ignore[no-untyped-def]
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in chosen and chosen not in ("sqlite://", "sqlite:///"):
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_seconds() * 1000)}")
            cursor.close()
        return engine
    return create_engine(chosen)


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def prepare(engine: Engine) -> None:
    """Migrate the schema to the newest and, in an empty store, add the city's 168 communes."""
    from sqlalchemy import select

    from allocator.reference import hcmc_communes
    from allocator.store.migrate import upgrade
    from allocator.store.models import Commune

    upgrade(engine)
    with make_sessions(engine)() as session:
        if session.scalar(select(Commune.code).limit(1)) is None:
            for row in hcmc_communes().to_dict("records"):
                session.add(Commune(code=str(row["commune_code"]), name=str(row["name"]),
                                    lat=float(row["lat"]), lon=float(row["lon"])))
            session.commit()
