"""The campaign's usual store for tests: the `sample` scenario imported as the registry,
with a campaign budget, on SQLite and PostgreSQL (the `db_url` fixture).

A test module that needs another scenario or an empty store defines its own
`sample` or `sessions` fixture, which takes precedence over these.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from allocator.store import ledger
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from scenarios.named import scenario


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    scenario("sample", 4).write(folder)
    return folder


@pytest.fixture()
def sessions(db_url: str, sample: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    prepare(engine)
    made = make_sessions(engine)
    with made() as session:
        for kind in ("lots", "points", "households"):
            assert import_file(session, kind, sample / f"{kind}.csv", "setup").ok
        ledger.set_budget(session, 400_000_000, "setup")
    yield made
    engine.dispose()
