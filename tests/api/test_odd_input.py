"""Input no person types but anyone can send: lone surrogates in JSON, huge ids in the shell."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.users import add_user
from api.main import create_app
from api.settings import Settings

ALLOCATOR = Path(sys.executable).parent / "allocator"


@pytest.fixture()
def client(db_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as session:
        token = add_user(session, "an", "planner", None, "setup")[1]
    engine.dispose()
    app = create_app(Settings(database_url=db_url, run_worker=False))
    with TestClient(app, raise_server_exceptions=False) as made:
        yield made, {"Authorization": f"Bearer {token}", "content-type": "application/json"}


@pytest.mark.parametrize(("path", "body"), [
    ("/api/rounds", '{"name": "x\\ud800y"}'),  # not the schema: the 422 echoes the input
    ("/api/rounds", '{"name": "x\\ud800y", "policy": {}}'),  # the schema, a bad name
    ("/api/rounds/1/handovers", '{"household_ids": ["\\udfff"]}'),
    ("/api/rounds/1/handovers", '{"name": "ok", "policy": {"x": "\\ud800"}}'),
])
def test_a_lone_surrogate_is_a_422_in_ascii_json(client: tuple[TestClient, dict[str, str]],
                                                 path: str, body: str) -> None:
    http, headers = client
    answer = http.post(path, content=body.encode("ascii"), headers=headers)
    assert answer.status_code == 422, answer.text[:300]
    assert answer.content.isascii() and "detail" in answer.json()
    assert http.get("/api/rounds", headers=headers).status_code == 200  # the next one too


def test_a_round_id_no_store_can_hold_is_exit_2_in_the_shell(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"}
    for command in ("solve", "approve", "close", "export", "handover"):
        for round_id in ("99999999999999999999", "2147483648", "0"):
            extra = {"export": ["--out", str(tmp_path / "x")],
                     "handover": ["--out", str(tmp_path / "x.csv")]}.get(command, [])
            done = subprocess.run([str(ALLOCATOR), "round", command, round_id, *extra],
                                  env=env, cwd=tmp_path, capture_output=True, text=True,
                                  timeout=120)
            assert done.returncode == 2, (command, round_id, done.stderr)
            assert "internal error" not in done.stderr and "Traceback" not in done.stderr
