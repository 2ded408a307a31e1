"""Schemathesis with every check on, against the real server: the document tells the truth.

`schemathesis run --checks all` over every operation of /openapi.json, as a
planner, a sponsor, a point officer and an anonymous caller, on SQLite and on
PostgreSQL (when TEST_POSTGRES_URL is set): no server error, no status or body
the document does not give, no request the document allows refused, no request
it forbids accepted. The few (operation, check) pairs a schema cannot express
are named, each with its reason, in tests/api/schemathesis.toml.

Each run gets its own store (an approved round 1, a draft round 2) and its own
server, so what one caller closes or approves never changes another's run. The
`thorough` hypothesis profile runs ten times more examples.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from allocator.store import cases, ledger
from allocator.store.campaign import approve_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.models import AllocationRow, Point, UnservedRow
from allocator.store.rounds import import_folder_as_round, record_handovers, solve_round
from allocator.store.users import add_user
from api.main import create_app
from api.settings import Settings
from scenarios.named import scenario
from tests.api.live_server import live_server
from tests.conftest import _fresh_postgres_database

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCALE = 10 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 1
EXAMPLES = 15 * SCALE
SEED = 20261129  # a fixed seed: a failure found in CI is found again on a laptop


def _store(url: str, tmp: Path) -> dict[str, str]:
    """A registry, one approved round and one draft; a token for each kind of caller."""
    engine = make_engine(url)
    prepare(engine)
    scenario("sample", 8).write(tmp / "s")
    with make_sessions(engine)() as session:
        for kind in ("lots", "points", "households"):
            assert import_file(session, kind, tmp / "s" / f"{kind}.csv", "setup").ok
        ledger.set_budget(session, 10**12, "setup")  # so that a budget can be too large
        row = import_folder_as_round(session, tmp / "s", "sample", "setup")
        solve_round(session, row.id, "setup")
        approve_round(session, row.id, "setup")
        assert row.id == 1
        import_folder_as_round(session, tmp / "s", "draft", "setup")
        # Something for every kind of record, so that operations on them reach past a 404:
        # a handover, and a "why not me?" case of a household the round left out.
        served = session.scalars(select(AllocationRow.household_id).where(
            AllocationRow.round_id == 1).order_by(AllocationRow.household_id)).all()
        record_handovers(session, 1, list(served[:1]), "setup")
        left_out = session.scalars(select(UnservedRow.household_id).where(
            UnservedRow.round_id == 1).order_by(UnservedRow.household_id)).first()
        cases.open_and_commit(session, kind="why_not_me", household_id=left_out,
                              actor="setup", note="")
        first_point = session.query(Point.id).order_by(Point.id).first()
        assert first_point is not None
        tokens = {"planner": add_user(session, "an", "planner", None, "setup")[1],
                  "sponsor": add_user(session, "s1", "sponsor", "OP01", "setup")[1],
                  "point": add_user(session, "p1", "point", None, "setup",
                                    points=[first_point[0]])[1]}
    engine.dispose()
    return tokens


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'api.db'}"
    if not os.environ.get("TEST_POSTGRES_URL"):
        pytest.skip("TEST_POSTGRES_URL is not set (CI sets it after starting PostgreSQL)")
    return _fresh_postgres_database(os.environ["TEST_POSTGRES_URL"], request)


@pytest.mark.parametrize("role", ["planner", "sponsor", "point", "anonymous"])
def test_the_document_tells_the_truth(database: str, role: str, tmp_path: Path) -> None:
    """Every operation, every check, as each kind of caller: no failure of any kind."""
    tokens = _store(database, tmp_path)
    with live_server(database) as base:
        headers = ["-H", f"Authorization: Bearer {tokens[role]}"] if role in tokens else []
        command = [str(Path(sys.executable).with_name("schemathesis")),
                   "--config-file", str(CONFIG), "run", f"{base}/openapi.json",
                   "--checks", "all", *headers, "--max-examples", str(EXAMPLES),
                   "--seed", str(SEED), "--no-color", "--request-timeout", "60"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=1200,
                              cwd=tmp_path)
        said = done.stdout[-20_000:] + done.stderr[-5_000:]
        assert done.returncode == 0, said
        assert "Tested: " in said, said  # it ran the operations, not just loaded the schema


def test_the_schema_lists_every_route() -> None:
    paths = set(create_app(Settings(database_url="sqlite://")).openapi()["paths"])
    assert {"/api/rounds", "/api/rounds/{round_id}/solve", "/api/imports/{kind}",
            "/api/sponsor/rounds/{round_id}/distribution", "/api/point/handovers",
            "/api/cases", "/api/rounds/{round_id}/analyses/{kind}"} <= paths
