"""Schemathesis over the OpenAPI schema, against the real server on localhost: no 500s."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.rounds import import_folder_as_round, solve_round
from allocator.store.users import add_user
from api.main import create_app
from api.settings import Settings
from scenarios.named import scenario

TOKENS: dict[str, str] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real service, on a free local port, over a store with a solved round."""
    tmp = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite:///{tmp / 'api.db'}"
    engine = make_engine(url)
    prepare(engine)
    scenario("sample", 8).write(tmp / "s")
    with make_sessions(engine)() as session:
        for kind in ("lots", "points", "households"):
            assert import_file(session, kind, tmp / "s" / f"{kind}.csv", "setup").ok
        row = import_folder_as_round(session, tmp / "s", "sample", "setup")
        solve_round(session, row.id, "setup")
        TOKENS["planner"] = add_user(session, "an", "planner", None, "setup")[1]
        TOKENS["sponsor"] = add_user(session, "s1", "sponsor", "OP01", "setup")[1]
    engine.dispose()
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
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def api_schema(server: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{server}/openapi.json")


FEW = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck),
               database=None)


@pytest.mark.parametrize("role", ["planner", "sponsor", "anonymous"])
def test_no_server_errors(api_schema: schemathesis.BaseSchema, role: str) -> None:
    """Every operation, with generated inputs, as each kind of caller: never a 5xx."""
    headers = {"Authorization": f"Bearer {TOKENS[role]}"} if role in TOKENS else {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:
        @FEW
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()


def test_the_schema_lists_every_route(api_schema: schemathesis.BaseSchema) -> None:
    paths = set(api_schema.raw_schema["paths"])
    assert {"/api/rounds", "/api/rounds/{round_id}/solve", "/api/imports/{kind}",
            "/api/sponsor/rounds/{round_id}/distribution"} <= paths
