"""Schemathesis over the OpenAPI schema, against the real server on localhost: no 500s.

Every operation, as a planner, a sponsor and an anonymous caller, on SQLite and
on PostgreSQL (when TEST_POSTGRES_URL is set). A few examples per operation keep
the run to about a minute per database on a small machine; the `thorough`
hypothesis profile runs ten times more.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from allocator.store.campaign import approve_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.rounds import import_folder_as_round, solve_round
from allocator.store.users import add_user
from api.main import create_app
from api.settings import Settings
from scenarios.named import scenario
from tests.conftest import _fresh_postgres_database

# Examples per operation: more where the caller reaches the handlers' logic.
EXAMPLES = {"planner": 15, "sponsor": 10, "anonymous": 4}
SCALE = 10 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 1
# Path values that exist in the store, mixed into the generated ones, so that operations
# on a round or an import kind reach past the 404.
KNOWN: dict[str, list[object]] = {"round_id": [1, 2],
                                  "kind": ["households", "lots", "points", "communes"]}


def _store(url: str, tmp: Path) -> dict[str, str]:
    """A registry, one approved round and one draft; a planner's and a sponsor's tokens."""
    engine = make_engine(url)
    prepare(engine)
    scenario("sample", 8).write(tmp / "s")
    with make_sessions(engine)() as session:
        for kind in ("lots", "points", "households"):
            assert import_file(session, kind, tmp / "s" / f"{kind}.csv", "setup").ok
        row = import_folder_as_round(session, tmp / "s", "sample", "setup")
        solve_round(session, row.id, "setup")
        approve_round(session, row.id, "setup")
        assert row.id == 1
        import_folder_as_round(session, tmp / "s", "draft", "setup")
        tokens = {"planner": add_user(session, "an", "planner", None, "setup")[1],
                  "sponsor": add_user(session, "s1", "sponsor", "OP01", "setup")[1]}
    engine.dispose()
    return tokens


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, dict[str, str]]]:
    """The real service, on a free local port, over a store with an approved round."""
    tmp = tmp_path_factory.mktemp("schemathesis")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'api.db'}"
    elif os.environ.get("TEST_POSTGRES_URL"):
        url = _fresh_postgres_database(os.environ["TEST_POSTGRES_URL"], request)
    else:
        pytest.skip("TEST_POSTGRES_URL is not set (CI sets it after starting PostgreSQL)")
    tokens = _store(url, tmp)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(Settings(database_url=url)), host="127.0.0.1",
                            port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(200):
        if running.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", tokens
    running.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def api_schema(server: tuple[str, dict[str, str]]) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{server[0]}/openapi.json")


def _cases(operation: Any) -> st.SearchStrategy[schemathesis.Case]:
    """Generated cases, half of them aimed at a round or import kind that exists."""
    def aim(drawn: tuple[schemathesis.Case, int]) -> schemathesis.Case:
        case, pick = drawn
        for name, known in KNOWN.items():
            if case.path_parameters and name in case.path_parameters and pick >= 0:
                case.path_parameters[name] = known[pick % len(known)]
        return case

    return st.tuples(operation.as_strategy(), st.integers(-4, 3)).map(aim)


@pytest.mark.parametrize("role", ["planner", "sponsor", "anonymous"])
def test_no_server_errors(server: tuple[str, dict[str, str]],
                          api_schema: schemathesis.BaseSchema, role: str) -> None:
    """Every operation, with generated inputs, as each kind of caller: never a 5xx."""
    tokens = server[1]
    headers = {"Authorization": f"Bearer {tokens[role]}"} if role in tokens else {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    # Closing a round ends what can be done to it: try everything else on it first.
    operations.sort(key=lambda operation: operation.path.endswith("/close"))
    failures = []
    for operation in operations:
        @settings(max_examples=EXAMPLES[role] * SCALE, deadline=None,
                  suppress_health_check=list(HealthCheck), database=None)
        @given(case=_cases(operation))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        try:
            check()
        except Exception:  # every operation is tried; all failures are reported together
            failures.append(f"{operation.label}:\n{traceback.format_exc(limit=1)}")
    assert not failures, "\n\n".join(failures)


def test_the_schema_lists_every_route(api_schema: schemathesis.BaseSchema) -> None:
    paths = set(api_schema.raw_schema["paths"])
    assert {"/api/rounds", "/api/rounds/{round_id}/solve", "/api/imports/{kind}",
            "/api/sponsor/rounds/{round_id}/distribution"} <= paths
