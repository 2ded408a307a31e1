"""The demo round through the service: import, solve, approve, handover, export.

Its allocations must equal `allocator solve` on the same folder, byte for byte.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient

from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.users import add_user
from api.main import create_app
from api.settings import Settings
from scenarios.named import scenario

ALLOCATOR = Path(sys.executable).parent / "allocator"


def test_demo_through_the_service(tmp_path: Path, db_url: str) -> None:
    folder = tmp_path / "demo"
    scenario("demo", 1).write(folder)
    engine = make_engine(db_url)
    prepare(engine)
    with make_sessions(engine)() as session:
        token = add_user(session, "an", "planner", None, "setup")[1]
    engine.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        for kind in ("lots", "points", "households"):
            with open(folder / f"{kind}.csv", "rb") as handle:
                done = client.post(f"/api/imports/{kind}", files={"file": (f"{kind}.csv", handle)},
                                   headers=headers)
            assert done.status_code == 200, done.text
        policy = (folder / "round.json").read_text(encoding="utf-8")
        import json
        made = client.post("/api/rounds", json={"name": "demo", "policy": json.loads(policy)},
                           headers=headers)
        assert made.status_code == 201, made.text
        round_id = made.json()["id"]
        assert client.post(f"/api/rounds/{round_id}/solve", headers=headers).status_code == 202
        assert client.post(f"/api/rounds/{round_id}/solve", headers=headers).status_code == 409
        for _ in range(1200):
            state = client.get(f"/api/rounds/{round_id}", headers=headers).json()
            if state["status"] in ("solved", "failed"):
                break
            time.sleep(0.1)
        assert state["status"] == "solved", state
        assert client.post(f"/api/rounds/{round_id}/approve", headers=headers).status_code == 200
        handover = client.get(f"/api/rounds/{round_id}/handover?format=xlsx", headers=headers)
        assert handover.status_code == 200 and handover.content[:2] == b"PK"
        exported = client.get(f"/api/rounds/{round_id}/export", headers=headers)
        assert exported.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(exported.content))
    done = subprocess.run([str(ALLOCATOR), "solve", str(folder), "--out", str(tmp_path / "cli"),
                           "-q"], capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr
    for name in ("allocations.csv", "unserved.csv"):
        assert archive.read(f"result/{name}") == (tmp_path / "cli" / name).read_bytes(), name
