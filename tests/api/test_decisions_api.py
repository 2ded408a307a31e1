"""The budget curve and bottlenecks of a round through the API, on SQLite and PostgreSQL:
planners only, 202 then progress then the result, the curve as a CSV file, and a
sentence (Vietnamese and English) for every refusal.

The last tests run real processes: twenty simultaneous requests to `allocator serve`
make one record, and a worker killed with -9 in the middle of an analysis leaves it
to the next worker (or failed with a message, after its last attempt).
"""

from __future__ import annotations

import csv
import io
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from allocator.store import analyses
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.jobs import JobSettings, work
from allocator.store.models import RoundAnalysis
from allocator.store.rounds import compute_results, import_folder_as_round, solve_round
from allocator.store.users import add_user
from allocator.validate import Scenario
from api.main import create_app
from api.settings import Settings
from scenarios.named import scenario
from tests.api.test_workers import Processes, Store

FAST = JobSettings(heartbeat_seconds=0.2, stale_seconds=1.0, max_attempts=2, poll_seconds=0.1)
CURVE = {"points": [{"budget_vnd": b, "served": s, "stage0": 0, "stage1": 3 * s,
                     "stage2": b - 1000 * s, "stage3": 1.5 * s, "status": "OPTIMAL",
                     "by_status": {}, "by_commune": {}}
                    for b, s in ((0, 0), (50_000_000, 20), (100_000_000, 35))],
         "saturation_vnd": 100_000_000, "max_stage1": 105, "round_budget_vnd": 50_000_000,
         "seconds": 0.5,
         "next_step": {"served_more": 15,
                       "sentence_vi": "100 triệu đồng tiếp theo sẽ phục vụ thêm 15 hộ.",
                       "sentence_en": "The next 100 million VND would serve 15 more "
                                      "households."}}
SLOW_ANALYSIS = {"PYTHONPATH": str(Path(__file__).parent.parent / "fixtures" / "slow_analysis"),
                 "ALLOCATOR_TEST_ANALYSIS_SECONDS": "60", "ALLOCATOR_ANALYSIS_WORKERS": "1"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    scenario("sample", 6).write(folder)
    return folder


class World:
    def __init__(self, client: TestClient, sessions: sessionmaker[Session],
                 tokens: dict[str, str], solved: int, draft: int) -> None:
        self.client, self.sessions, self.tokens = client, sessions, tokens
        self.solved, self.draft = solved, draft

    def as_(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def run_queued(self) -> None:
        """What a worker does: the queued analyses, one after another."""
        work(self.sessions, compute_results, "test-worker", FAST, threading.Event(), once=True)


@pytest.fixture()
def world(db_url: str, sample: Path) -> Iterator[World]:
    """A solved round and a draft; a planner, a sponsor and a point officer. No worker
    runs in the app: the test runs queued analyses when it wants them run."""
    engine = make_engine(db_url)
    prepare(engine)
    sessions = make_sessions(engine)
    with sessions() as session:
        for kind in ("lots", "points", "households"):
            assert import_file(session, kind, sample / f"{kind}.csv", "setup").ok
        solved = import_folder_as_round(session, sample, "Đợt 1", "setup").id
        solve_round(session, solved, "setup", settings=FAST)
        draft = import_folder_as_round(session, sample, "Đợt 2", "setup").id
        sponsor = str(pd.read_csv(sample / "lots.csv")["sponsor_id"].iloc[0])
        point = str(pd.read_csv(sample / "points.csv")["point_id"].iloc[0])
        tokens = {"planner": add_user(session, "an", "planner", None, "setup")[1],
                  "sponsor": add_user(session, "s1", "sponsor", sponsor, "setup")[1],
                  "point": add_user(session, "p1", "point", None, "setup", points=[point])[1]}
    with TestClient(create_app(Settings(database_url=db_url, run_worker=False))) as client:
        yield World(client, sessions, tokens, solved, draft)
    engine.dispose()


def _fake(result: dict[str, Any]) -> Any:
    def compute(scenario: Scenario, progress: Any, workers: int | None) -> dict[str, Any]:
        progress("budget 2/3")
        return result
    return compute


def test_only_planners_may_ask_or_read(world: World) -> None:
    client, n = world.client, world.solved
    paths = [("post", f"/api/rounds/{n}/analyses/curve"),
             ("get", f"/api/rounds/{n}/analyses/bottlenecks"),
             ("get", f"/api/rounds/{n}/curve.csv")]
    for method, path in paths:
        assert getattr(client, method)(path).status_code == 401, path
        for role in ("sponsor", "point"):
            answer = getattr(client, method)(path, headers=world.as_(role))
            assert answer.status_code == 403, (role, path)
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RoundAnalysis)) == 0


def test_requests_progress_and_refusals_say_why(world: World,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    client, n, planner = world.client, world.solved, world.as_("planner")
    never = client.get(f"/api/rounds/{n}/analyses/curve", headers=planner)
    assert never.status_code == 409  # the round is there; its analysis is not, yet
    said = never.json()
    assert "Chưa yêu cầu" in said["detail_vi"] and "No budget curve" in said["detail"]
    no_file = client.get(f"/api/rounds/{n}/curve.csv", headers=planner)
    assert no_file.status_code == 409 and "no finished budget curve" in no_file.json()["detail"]
    draft = client.post(f"/api/rounds/{world.draft}/analyses/curve", headers=planner)
    assert draft.status_code == 409, draft.text
    assert "chưa có kết quả" in draft.json()["detail_vi"] and "solve it" in draft.json()["detail"]
    for path, code in (("/api/rounds/999/analyses/curve", 404),
                       (f"/api/rounds/{n}/analyses/map", 422),
                       ("/api/rounds/0/analyses/curve", 422),
                       ("/api/rounds/99999999999/analyses/curve", 422),
                       (f"/api/rounds/{n}/analyses/curve%00", 422)):
        assert client.post(path, headers=planner).status_code == code, path
        assert client.get(path, headers=planner).status_code == code, path
    first = client.post(f"/api/rounds/{n}/analyses/curve", headers=planner)
    assert first.status_code == 202
    body = first.json()
    assert (body["status"], body["progress"], body["result"], body["requested_by"]) == \
        ("queued", "queued", None, "an")
    again = client.post(f"/api/rounds/{n}/analyses/curve", headers=planner)
    assert again.status_code == 202 and again.json()["id"] == body["id"]
    assert client.get(f"/api/rounds/{n}/analyses/curve", headers=planner).json()["id"] == \
        body["id"]
    monkeypatch.setitem(analyses.COMPUTE, "curve", _fake(CURVE))
    world.run_queued()
    done = client.get(f"/api/rounds/{n}/analyses/curve", headers=planner).json()
    assert (done["status"], done["progress"], done["attempts"]) == ("done", "done", 1)
    assert done["result"] == CURVE and done["finished_at"] and done["result_at"]
    assert client.get(f"/api/rounds/{n}/analyses/bottlenecks",
                      headers=planner).status_code == 409


def test_the_curve_downloads_in_the_contract_s_columns(world: World,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    client, n, planner = world.client, world.solved, world.as_("planner")
    assert client.post(f"/api/rounds/{n}/analyses/curve", headers=planner).status_code == 202
    monkeypatch.setitem(analyses.COMPUTE, "curve", _fake(CURVE))
    world.run_queued()
    answer = client.get(f"/api/rounds/{n}/curve.csv", headers=planner)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == \
        f'attachment; filename="duong-cong-dot-{n}.csv"'
    assert answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0] == ["budget_vnd", "served", "stage0", "stage1", "stage2", "stage3", "status"]
    assert rows[1:] == [["0", "0", "0", "0", "0", "0", "OPTIMAL"],
                        ["50000000", "20", "0", "60", "49980000", "30", "OPTIMAL"],
                        ["100000000", "35", "0", "105", "99965000", "52.5", "OPTIMAL"]]


def test_a_failed_analysis_answers_its_error_and_can_be_asked_again(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    client, n, planner = world.client, world.solved, world.as_("planner")

    def broken(scenario: Scenario, progress: Any, workers: int | None) -> dict[str, Any]:
        raise RuntimeError("the solver ran out of memory")

    first = client.post(f"/api/rounds/{n}/analyses/bottlenecks", headers=planner).json()
    monkeypatch.setitem(analyses.COMPUTE, "bottlenecks", broken)
    world.run_queued()
    failed = client.get(f"/api/rounds/{n}/analyses/bottlenecks", headers=planner).json()
    assert failed["status"] == "failed" and failed["result"] is None
    assert failed["error"] == "RuntimeError: the solver ran out of memory"
    again = client.post(f"/api/rounds/{n}/analyses/bottlenecks", headers=planner)
    assert again.status_code == 202 and again.json()["id"] != first["id"]
    assert again.json()["status"] == "queued" and again.json()["error"] == ""


def test_the_real_engine_s_results_are_stored_and_served(world: World,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """The budget curve and bottlenecks of the solved round, by the engine itself."""
    pytest.importorskip("allocator.curve")
    monkeypatch.setenv("ALLOCATOR_ANALYSIS_WORKERS", "1")  # in this process: no spawning
    client, n, planner = world.client, world.solved, world.as_("planner")
    for kind in analyses.KINDS:
        assert client.post(f"/api/rounds/{n}/analyses/{kind}", headers=planner).status_code \
            == 202
    world.run_queued()
    with world.sessions() as session:
        from allocator.store.models import Round

        summary = session.get_one(Round, n).summary or {}
    curve = client.get(f"/api/rounds/{n}/analyses/curve", headers=planner).json()
    assert curve["status"] == "done", curve["error"]
    points = curve["result"]["points"]
    budgets = [p["budget_vnd"] for p in points]
    assert budgets == sorted(set(budgets)) and budgets[0] == 0
    mine = next(p for p in points if p["budget_vnd"] == curve["result"]["round_budget_vnd"])
    assert (mine["stage1"], mine["served"]) == (summary["stage1"], summary["served"])
    assert all(a["stage1"] <= b["stage1"] for a, b in zip(points, points[1:]))
    found = client.get(f"/api/rounds/{n}/analyses/bottlenecks", headers=planner).json()
    assert found["status"] == "done", found["error"]
    assert found["result"]["base"]["stage1"] == summary["stage1"]
    with world.sessions() as session:
        assert analyses.latest_result(session, n, "bottlenecks") == found["result"]


# --- real processes ---------------------------------------------------------------------

@pytest.fixture()
def store(db_url: str, sample: Path) -> Iterator[Store]:
    made = Store(db_url)
    with made.sessions() as session:
        for kind in ("lots", "points", "households"):
            assert import_file(session, kind, sample / f"{kind}.csv", "setup").ok
    yield made
    made.engine.dispose()


@pytest.fixture()
def processes(tmp_path: Path) -> Iterator[Processes]:
    made = Processes(tmp_path)
    yield made
    made.end()


def _solved(store: Store, folder: Path) -> int:
    (round_id,) = store.rounds(folder, 1)
    with store.sessions() as session:
        solve_round(session, round_id, "setup", settings=FAST)
    return round_id


def test_twenty_simultaneous_requests_to_a_server_make_one_analysis(
        store: Store, processes: Processes, sample: Path) -> None:
    round_id = _solved(store, sample)
    base = processes.web(store.url, "--no-worker")
    headers = {"Authorization": f"Bearer {store.token}"}
    gate = threading.Barrier(20)
    answers: list[tuple[int, int]] = []

    def ask() -> None:
        import httpx

        gate.wait()
        answer = httpx.post(f"{base}/api/rounds/{round_id}/analyses/bottlenecks",
                            headers=headers, timeout=60)
        answers.append((answer.status_code, answer.json().get("id", -1)))

    threads = [threading.Thread(target=ask) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 20 and {code for code, _ in answers} == {202}, answers
    with store.sessions() as session:
        (record,) = session.scalars(select(RoundAnalysis)).all()
    assert {n for _, n in answers} == {record.id} and record.status == "queued"


def _wait_for(store: Store, analysis_id: int, want: Any, seconds: float = 180) -> RoundAnalysis:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with store.sessions() as session:
            row = session.get_one(RoundAnalysis, analysis_id)
        if want(row):
            return row
        time.sleep(0.1)
    raise AssertionError(f"analysis {analysis_id} never got there: {row.status} {row.progress}")


@pytest.mark.parametrize("attempts", [2, 1])
def test_a_worker_killed_mid_analysis_leaves_it_to_the_next_or_failed(
        store: Store, processes: Processes, sample: Path, attempts: int) -> None:
    round_id = _solved(store, sample)
    with store.sessions() as session:
        made = analyses.request_analysis(session, round_id, "bottlenecks", "an",
                                         JobSettings(max_attempts=attempts))
    victim = processes.start(store.url, "worker", **SLOW_ANALYSIS)
    running = _wait_for(store, made.id, lambda r: r.progress == "held by the test")
    assert running.status == "running" and f":{victim.pid}:" in running.worker_id
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    processes.start(store.url, "worker", ALLOCATOR_ANALYSIS_WORKERS="1")
    ended = _wait_for(store, made.id, lambda r: r.status in ("done", "failed"))
    if attempts == 1:
        assert ended.status == "failed" and ended.result is None
        assert "abandoned after 1 attempts" in ended.error
        assert "stopped responding" in ended.error
    else:
        assert (ended.status, ended.attempts) == ("done", 2), (ended.error, processes.logs())
        assert ended.worker_id != running.worker_id and ended.result is not None
        assert ended.result["base"]["served"] > 0
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RoundAnalysis)) == 1
