"""Real processes: web servers and solve workers sharing one store, requests racing, kill -9.

Each test starts `allocator serve` and `allocator worker` as subprocesses on
localhost, on a fresh SQLite file or PostgreSQL database, and checks what the
store holds afterwards: every round solved exactly once, none left solving,
an approved round's handovers untouched.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.models import AllocationRow, AuditEntry, Round, SolveJob
from allocator.store.rounds import import_folder_as_round
from allocator.store.users import add_user
from scenarios.named import scenario

ALLOCATOR = Path(sys.executable).parent / "allocator"
# A subprocess with these holds each solve 5 s at its first stage (tests/fixtures/slow_solve).
HOLD = {"PYTHONPATH": str(Path(__file__).parent.parent / "fixtures" / "slow_solve"),
        "ALLOCATOR_TEST_SOLVE_SECONDS": "5"}
FAST_JOBS = {"ALLOCATOR_HEARTBEAT_SECONDS": "0.5", "ALLOCATOR_STALE_SECONDS": "3",
             "ALLOCATOR_POLL_SECONDS": "0.2"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The city demo: big enough that a solve takes a few seconds, long enough to kill."""
    folder = tmp_path_factory.mktemp("demo")
    scenario("demo", 1).write(folder)
    return folder


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        prepare(self.engine)
        self.sessions: sessionmaker[Session] = make_sessions(self.engine)
        with self.sessions() as session:
            self.token = add_user(session, "planner", "planner", None, "setup")[1]

    def rounds(self, folder: Path, n: int) -> list[int]:
        with self.sessions() as session:
            return [import_folder_as_round(session, folder, f"r{i}", "setup").id
                    for i in range(n)]

    def count(self, query: object) -> int:
        with self.sessions() as session:
            return session.scalar(query) or 0  # type: ignore[call-overload]


@pytest.fixture()
def store(db_url: str) -> Iterator[Store]:
    made = Store(db_url)
    yield made
    made.engine.dispose()


@pytest.fixture()
def pg_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """A store on PostgreSQL only: several processes sharing one queue."""
    from tests.conftest import _fresh_postgres_database

    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        pytest.skip("TEST_POSTGRES_URL is not set (CI sets it after starting PostgreSQL)")
    made = Store(_fresh_postgres_database(url, request))
    yield made
    made.engine.dispose()


@pytest.fixture()
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A store on SQLite only: its single writer."""
    made = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield made
    made.engine.dispose()


class Processes:
    """Subprocesses of the test, all ended (kill -9 if need be) when it finishes."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.running = tmp, []  # type: ignore[var-annotated]

    def start(self, url: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"p{len(self.running)}.log").open("wb")
        process = subprocess.Popen([str(ALLOCATOR), *args], cwd=self.tmp,
                                   env={**os.environ, "DATABASE_URL": url, **FAST_JOBS, **env},
                                   stdout=log, stderr=subprocess.STDOUT)
        self.running.append(process)
        return process

    def web(self, url: str, *flags: str, **env: str) -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.start(url, "serve", "--port", str(port), *flags, **env)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    return base
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("the server did not start: " + self.logs())

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:]
                         for p in sorted(self.tmp.glob("p*.log")))

    def end(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture()
def processes(tmp_path: Path) -> Iterator[Processes]:
    made = Processes(tmp_path)
    yield made
    made.end()


def _auth(store: Store) -> dict[str, str]:
    return {"Authorization": f"Bearer {store.token}"}


def _at_once(n: int, call: object) -> list[int]:
    """Status codes of n requests released together."""
    gate = threading.Barrier(n)
    codes: list[int] = []

    def one(i: int) -> None:
        gate.wait()
        codes.append(call(i))  # type: ignore[operator]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def _wait_until_settled(store: Store, round_ids: list[int], seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = store.count(select(func.count()).select_from(Round).where(
            Round.id.in_(round_ids), Round.status == "solving"))
        if not left:
            return
        time.sleep(0.3)
    raise AssertionError(f"rounds still solving after {seconds} s")


def test_twenty_solve_requests_accept_one_and_spare_an_approved_round(
        store: Store, processes: Processes, demo: Path) -> None:
    (round_id,) = store.rounds(demo, 1)
    base = processes.web(store.url)
    headers = _auth(store)

    def solve(_: int) -> int:
        return httpx.post(f"{base}/api/rounds/{round_id}/solve", headers=headers,
                          timeout=60).status_code

    codes = _at_once(20, solve)
    assert sorted(codes) == [202] + [409] * 19, codes
    _wait_until_settled(store, [round_id])
    assert httpx.post(f"{base}/api/rounds/{round_id}/approve", headers=headers,
                      timeout=30).status_code == 200
    served = httpx.get(f"{base}/api/rounds/{round_id}/allocations?limit=3", headers=headers,
                       timeout=30).json()["items"]
    ids = [item["household_id"] for item in served]
    assert httpx.post(f"{base}/api/rounds/{round_id}/handovers", headers=headers, timeout=30,
                      json={"household_ids": ids}).status_code == 200
    before = store.count(select(func.count()).select_from(AllocationRow))
    late = _at_once(20, solve)
    assert set(late) == {409}
    time.sleep(1.5)  # give any stray solve time to do harm
    with store.sessions() as session:
        assert session.get_one(Round, round_id).status == "approved"
        assert session.scalar(select(func.count()).select_from(AllocationRow).where(
            AllocationRow.handed_over_at.is_not(None))) == 3
        assert session.scalar(select(func.count()).select_from(AllocationRow)) == before
        assert session.scalar(select(func.count()).select_from(SolveJob)) == 1
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "solve succeeded")) == 1


def test_two_web_processes_and_two_workers_solve_each_round_once_through_a_kill(
        pg_store: Store, processes: Processes, demo: Path) -> None:
    store = pg_store
    round_ids = store.rounds(demo, 6)
    webs = [processes.web(store.url, "--no-worker") for _ in range(2)]
    workers = [processes.start(store.url, "worker", **HOLD) for _ in range(2)]
    headers = _auth(store)

    def solve(i: int) -> int:
        return httpx.post(f"{webs[i % 2]}/api/rounds/{round_ids[i]}/solve", headers=headers,
                          timeout=60).status_code

    assert _at_once(6, solve) == [202] * 6
    seen: dict[str, set[str]] = {web: set() for web in webs}
    killed = None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        for web in webs:
            for row in httpx.get(f"{web}/api/rounds", headers=headers, timeout=30).json():
                seen[web].add(row["progress"])
        if killed is None:
            with store.sessions() as session:
                running = session.scalars(select(SolveJob).where(
                    SolveJob.status == "running", SolveJob.progress.like("stage%"))).first()
            if running is not None:
                pid = int(running.worker_id.split(":")[1])
                victim = next((w for w in workers if w.pid == pid), None)
                if victim is not None:
                    victim.send_signal(signal.SIGKILL)
                    victim.wait()
                    killed = running.id
        if killed and not store.count(select(func.count()).select_from(Round).where(
                Round.status == "solving")):
            break
        time.sleep(0.2)
    assert killed is not None, "no solve was seen running: " + processes.logs()
    _wait_until_settled(store, round_ids)
    with store.sessions() as session:
        rows = session.scalars(select(Round).where(Round.id.in_(round_ids))).all()
        assert {r.status for r in rows} == {"solved"}, [(r.id, r.status, r.error) for r in rows]
        jobs = session.scalars(select(SolveJob)).all()
        assert sorted(j.round_id for j in jobs) == sorted(round_ids)  # one job per round
        assert {j.status for j in jobs} == {"done"}
        victim_job = session.get_one(SolveJob, killed)
        assert victim_job.attempts == 2  # finished by the worker still standing
        for round_id in round_ids:
            assert session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action == "solve succeeded",
                AuditEntry.target == f"round {round_id}")) == 1
    for web in webs:  # progress is read from the store, so both web processes showed it
        assert any(p.startswith("stage") for p in seen[web]), seen[web]


def test_a_worker_killed_on_the_last_attempt_fails_the_round_with_a_message(
        pg_store: Store, processes: Processes, demo: Path) -> None:
    store = pg_store
    (round_id,) = store.rounds(demo, 1)
    # The limit is the web process's: it is written into the job when the solve is queued.
    base = processes.web(store.url, "--no-worker", ALLOCATOR_SOLVE_ATTEMPTS="1")
    worker = processes.start(store.url, "worker", **HOLD)
    assert httpx.post(f"{base}/api/rounds/{round_id}/solve", headers=_auth(store),
                      timeout=30).status_code == 202
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not store.count(
            select(func.count()).select_from(SolveJob).where(SolveJob.status == "running")):
        time.sleep(0.1)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    processes.start(store.url, "worker")
    _wait_until_settled(store, [round_id], 60)
    answer = httpx.get(f"{base}/api/rounds/{round_id}", headers=_auth(store), timeout=30).json()
    assert answer["status"] == "failed"
    assert "abandoned after 1 attempts" in answer["error"]
    assert "stopped responding" in answer["error"]


def test_a_service_restart_leaves_a_command_line_solve_alone(
        store: Store, processes: Processes, demo: Path, tmp_path: Path) -> None:
    """D1b: the service once failed a round the command line was solving, then solved it
    a second time beside it."""
    (round_id,) = store.rounds(demo, 1)
    # The solve is held long enough for the test to act while it runs, however fast it is.
    cli = processes.start(store.url, "round", "solve", str(round_id),
                          **{**HOLD, "ALLOCATOR_TEST_SOLVE_SECONDS": "20"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not store.count(
            select(func.count()).select_from(SolveJob).where(SolveJob.status == "running")):
        time.sleep(0.05)
    base = processes.web(store.url)  # the service (re)starts while the command solves
    answer = httpx.post(f"{base}/api/rounds/{round_id}/solve", headers=_auth(store), timeout=30)
    assert answer.status_code == 409, answer.text
    assert cli.wait(timeout=180) == 0, processes.logs()
    with store.sessions() as session:
        assert session.get_one(Round, round_id).status == "solved"
        (job,) = session.scalars(select(SolveJob)).all()
        assert (job.status, job.attempts) == ("done", 1)
        assert job.worker_id.startswith("cli@")


def test_a_locked_sqlite_store_answers_503_with_retry_after_and_solves_beside_an_import(
        sqlite_store: Store, processes: Processes, demo: Path, tmp_path: Path) -> None:
    """D5: a solve and an import at once gave 500s and left the round solving."""
    store = sqlite_store
    (round_id,) = store.rounds(demo, 1)
    base = processes.web(store.url, ALLOCATOR_SQLITE_BUSY_SECONDS="1")
    headers = _auth(store)
    path = store.url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, timeout=10)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the store longer than we wait
    try:
        busy = httpx.post(f"{base}/api/rounds", headers=headers, timeout=30,
                          json={"name": "x", "policy": {"budget_vnd": 1000}})
    finally:
        holder.rollback()
        holder.close()
    assert busy.status_code == 503 and busy.headers["retry-after"].isdigit(), busy.text
    # A solve and a large registry import at the same time: no 500, and the round is solved.
    codes: list[int] = []

    def upload() -> None:
        with (demo / "households.csv").open("rb") as file:
            codes.append(httpx.post(f"{base}/api/imports/households", headers=headers,
                                    files={"file": ("households.csv", file, "text/csv")},
                                    timeout=120).status_code)

    importer = threading.Thread(target=upload)
    solve = httpx.post(f"{base}/api/rounds/{round_id}/solve", headers=headers, timeout=30)
    importer.start()
    importer.join()
    assert solve.status_code == 202
    assert codes and codes[0] in (200, 201, 422, 503), codes
    _wait_until_settled(store, [round_id], 120)
    with store.sessions() as session:
        row = session.get_one(Round, round_id)
        assert row.status == "solved", row.error


def test_a_command_line_solve_stopped_by_sigterm_fails_its_round_at_once(
        store: Store, processes: Processes, demo: Path) -> None:
    """A closed terminal used to leave the round 'solving' until some worker noticed."""
    (round_id,) = store.rounds(demo, 1)
    # The solve is held long enough for the test to act while it runs, however fast it is.
    cli = processes.start(store.url, "round", "solve", str(round_id), **HOLD)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not store.count(
            select(func.count()).select_from(SolveJob).where(SolveJob.status == "running")):
        time.sleep(0.05)
    cli.send_signal(signal.SIGTERM)
    assert cli.wait(timeout=120) == 130, processes.logs()
    with store.sessions() as session:
        row = session.get_one(Round, round_id)
        assert row.status == "failed" and "stopped (SIGTERM)" in row.error, row.error
        (job,) = session.scalars(select(SolveJob)).all()
        assert job.status == "failed"
    assert "can be solved again" in processes.logs()
