"""Where the store lives: DATABASE_URL, or a SQLite file beside the working folder."""

from __future__ import annotations

import os

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///allocator.db"


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("DATABASE_URL") or DEFAULT_URL


def make_engine(url: str | None = None) -> Engine:
    """An engine for the URL; SQLite gets foreign keys switched on."""
    engine = create_engine(database_url(url))
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _foreign_keys(connection, _record):  # type: ignore[no-untyped-def]
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
    return engine


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
