"""Analyses of a round (budget curve, bottlenecks) as durable work, on SQLite and PostgreSQL:
one live record per round and kind however many ask at once, run by the worker loop
after the solves, taken up again when a worker dies, failed with a message in the end.

The computations are stand-ins here (what the store does with a result is the subject);
one test runs the real engine on a small round. Killed worker processes are in
tests/api/test_decisions_api.py.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from allocator.store import analyses
from allocator.store.analyses import (
    AnalysisFailed,
    NoResults,
    analyse_round,
    claim_analysis,
    curve_csv,
    latest_result,
    reap_analyses,
    request_analysis,
    run_analysis,
)
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.jobs import JobSettings, claim, request_solve, stamp, work
from allocator.store.lifecycle import RoundNotFound
from allocator.store.models import AuditEntry, Round, RoundAnalysis, SolveJob
from allocator.store.rounds import compute_results, import_folder_as_round
from allocator.validate import Scenario
from scenarios.named import scenario

FAST = JobSettings(heartbeat_seconds=0.2, stale_seconds=1.0, max_attempts=2, poll_seconds=0.1)
CURVE = {"points": [{"budget_vnd": 0, "served": 0, "stage0": 0, "stage1": 0, "stage2": 0,
                     "stage3": 0.0, "status": "OPTIMAL", "by_status": {}, "by_commune": {}},
                    {"budget_vnd": 100_000_000, "served": 40, "stage0": 0, "stage1": 130,
                     "stage2": 99_000_000, "stage3": 61.25, "status": "OPTIMAL",
                     "by_status": {"poor": 40}, "by_commune": {"26740": 40}}],
         "saturation_vnd": 100_000_000, "max_stage1": 130, "round_budget_vnd": 100_000_000,
         "seconds": 0.1, "next_step": None}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    scenario("sample", 2).write(folder)
    return folder


@pytest.fixture()
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    prepare(engine)
    yield make_sessions(engine)
    engine.dispose()


def _round(sessions: sessionmaker[Session], folder: Path, status: str = "solved") -> int:
    """A round over the folder; marked as having results (analyses read only its inputs)."""
    with sessions() as session:
        round_id = import_folder_as_round(session, folder, "r", "planner").id
        session.execute(update(Round).where(Round.id == round_id).values(status=status))
        session.commit()
    return round_id


def _records(sessions: sessionmaker[Session]) -> list[RoundAnalysis]:
    with sessions() as session:
        return list(session.scalars(select(RoundAnalysis).order_by(RoundAnalysis.id)))


def _fake(result: dict[str, Any]) -> Any:
    def compute(scenario: Scenario, progress: Any, workers: int | None) -> dict[str, Any]:
        assert len(scenario.households) > 0  # the round's frozen inputs were read
        progress("budget 1/2")
        return result
    return compute


def _race(n: int, call: Any) -> list[Any]:
    """Run `call` from n threads released at once; each answer, or the error's name."""
    gate = threading.Barrier(n)
    answers: list[Any] = []

    def one() -> None:
        gate.wait()
        try:
            answers.append(call())
        except Exception as error:  # noqa: BLE001 - the race's outcome is what we count
            answers.append(type(error).__name__)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_a_second_request_gets_the_live_analysis_and_a_finished_one_can_be_redone(
        sessions: sessionmaker[Session], sample: Path) -> None:
    round_id = _round(sessions, sample)
    with sessions() as session:
        first = request_analysis(session, round_id, "curve", "an", FAST)
        again = request_analysis(session, round_id, "curve", "binh", FAST)
        other = request_analysis(session, round_id, "bottlenecks", "an", FAST)
        assert again.id == first.id and other.id != first.id
        assert (first.status, first.requested_by, first.max_attempts) == ("queued", "an", 2)
        assert analyses.state(session, round_id, "curve")["result"] is None  # type: ignore[index]
        held = claim_analysis(session, "w", first.id)
    assert held is not None
    assert run_analysis(sessions, held, FAST, compute=_fake(CURVE)) == "done"
    with sessions() as session:
        assert latest_result(session, round_id, "curve") == CURVE
        assert latest_result(session, round_id, "bottlenecks") is None
        redo = request_analysis(session, round_id, "curve", "an", FAST)
        assert redo.id != first.id and redo.status == "queued"
        shown = analyses.state(session, round_id, "curve")
        # The newest request's status, the newest finished result (kept while it runs).
        assert shown is not None and shown["status"] == "queued" and shown["result"] == CURVE
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "request curve",
            AuditEntry.target == f"round {round_id}")) == 2


def test_only_rounds_with_results_are_analysed(sessions: sessionmaker[Session],
                                               sample: Path) -> None:
    draft = _round(sessions, sample, "draft")
    with sessions() as session:
        with pytest.raises(NoResults) as refused:
            request_analysis(session, draft, "curve", "an", FAST)
        assert "chưa có kết quả" in str(refused.value) and "solve it" in str(refused.value)
        with pytest.raises(RoundNotFound):
            request_analysis(session, 999, "curve", "an", FAST)
        with pytest.raises(ValueError):
            request_analysis(session, draft, "map", "an", FAST)
    assert _records(sessions) == []


def test_twenty_simultaneous_requests_make_one_record(sessions: sessionmaker[Session],
                                                      sample: Path) -> None:
    round_id = _round(sessions, sample)

    def ask() -> int:
        with sessions() as session:
            return request_analysis(session, round_id, "bottlenecks", "an", FAST).id

    answers = _race(20, ask)
    (record,) = _records(sessions)
    assert answers == [record.id] * 20, answers
    assert record.status == "queued"


def test_simultaneous_workers_claim_an_analysis_once(sessions: sessionmaker[Session],
                                                     sample: Path) -> None:
    round_id = _round(sessions, sample)
    with sessions() as session:
        request_analysis(session, round_id, "curve", "an", FAST)

    def take() -> int | None:
        with sessions() as session:
            held = claim_analysis(session, analyses.worker_name("t"))
            return held.id if held is not None else None

    answers = _race(8, take)
    assert answers.count(None) == 7, answers
    (record,) = _records(sessions)
    assert (record.status, record.attempts) == ("running", 1)


def test_a_failing_analysis_says_why_and_keeps_the_last_result(
        sessions: sessionmaker[Session], sample: Path) -> None:
    round_id = _round(sessions, sample)

    def broken(scenario: Scenario, progress: Any, workers: int | None) -> dict[str, Any]:
        raise ValueError("no budget to vary")

    for compute, outcome in ((_fake(CURVE), "done"), (broken, "failed")):
        with sessions() as session:
            made = request_analysis(session, round_id, "curve", "an", FAST)
            held = claim_analysis(session, "w", made.id)
        assert held is not None
        assert run_analysis(sessions, held, FAST, compute=compute) == outcome
    with sessions() as session:
        shown = analyses.state(session, round_id, "curve")
        assert shown is not None
        assert shown["status"] == "failed" and shown["error"] == "ValueError: no budget to vary"
        assert shown["result"] == CURVE  # the earlier result is still the one to show
        assert latest_result(session, round_id, "curve") == CURVE


def _silence(sessions: sessionmaker[Session], analysis_id: int) -> None:
    """The worker's last heartbeat, long ago (it died)."""
    with sessions() as session:
        session.execute(update(RoundAnalysis).where(RoundAnalysis.id == analysis_id).values(
            heartbeat_at=stamp() - dt.timedelta(minutes=5)))
        session.commit()


def test_a_dead_worker_s_analysis_is_queued_again_then_failed_with_a_message(
        sessions: sessionmaker[Session], sample: Path) -> None:
    round_id = _round(sessions, sample)
    with sessions() as session:
        made = request_analysis(session, round_id, "bottlenecks", "an", FAST)
        first = claim_analysis(session, "dead-1", made.id)
    assert first is not None
    with sessions() as session:
        assert reap_analyses(session, FAST) == []  # still beating: left alone
    _silence(sessions, made.id)
    with sessions() as session:
        assert reap_analyses(session, FAST) == [made.id]
        again = session.get_one(RoundAnalysis, made.id)
        assert again.status == "queued" and "dead-1 stopped responding" in again.error
        # A second request meanwhile still finds this one live.
        assert request_analysis(session, round_id, "bottlenecks", "an", FAST).id == made.id
        second = claim_analysis(session, "dead-2")
    assert second is not None and second.attempts == 2
    # The first worker, were it only stalled, can no longer write.
    assert run_analysis(sessions, first, FAST, compute=_fake({"x": 1})) == "lost"
    _silence(sessions, made.id)
    with sessions() as session:
        assert reap_analyses(session, FAST) == [made.id]
        ended = session.get_one(RoundAnalysis, made.id)
    assert ended.status == "failed" and ended.finished_at is not None
    assert "abandoned after 2 attempts" in ended.error and "dead-2" in ended.error
    with sessions() as session:
        assert latest_result(session, round_id, "bottlenecks") is None
        assert request_analysis(session, round_id, "bottlenecks", "an", FAST).id != made.id


def test_the_worker_loop_solves_first_then_analyses(sessions: sessionmaker[Session],
                                                    sample: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    analysed = _round(sessions, sample)
    with sessions() as session:
        request_analysis(session, analysed, "curve", "an", FAST)
    to_solve = _round(sessions, sample, "draft")
    with sessions() as session:
        request_solve(session, to_solve, "an", FAST)
    seen: list[str] = []

    def solver(session: Session, row: Round, progress: Any) -> Any:
        seen.append("solve")
        return compute_results(session, row, progress)

    def curve(scenario: Scenario, progress: Any, workers: int | None) -> dict[str, Any]:
        seen.append("curve")
        return CURVE

    monkeypatch.setitem(analyses.COMPUTE, "curve", curve)
    assert work(sessions, solver, "w", FAST, threading.Event(), once=True) == 1
    assert seen == ["solve", "curve"]
    with sessions() as session:
        assert session.get_one(Round, to_solve).status == "solved"
        assert latest_result(session, analysed, "curve") == CURVE
        assert claim(session, "w") is None and claim_analysis(session, "w") is None


def test_a_running_analysis_steps_aside_for_a_solve_queued_meanwhile(
        sessions: sessionmaker[Session], sample: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Solves go first: an analysis of a large round takes minutes, so one that learns a
    solve waits puts itself back in the queue (its attempt not counted) and the worker
    solves, then runs the analysis again from the start."""
    analysed = _round(sessions, sample)
    with sessions() as session:
        request_analysis(session, analysed, "curve", "an", FAST)
    to_solve = _round(sessions, sample, "draft")
    seen: list[str] = []

    def solver(session: Session, row: Round, progress: Any) -> Any:
        seen.append("solve")
        return compute_results(session, row, progress)

    def curve(scenario: Scenario, progress: Any, workers: int | None) -> dict[str, Any]:
        seen.append("curve")
        if seen.count("curve") == 1:  # a planner asks for a solve while the curve runs
            with sessions() as session:
                request_solve(session, to_solve, "an", FAST)
            for step in range(1, 50):
                time.sleep(0.05)
                progress(f"budget {step}/50")
            raise AssertionError("the analysis did not step aside for the solve")
        return CURVE

    monkeypatch.setitem(analyses.COMPUTE, "curve", curve)
    assert work(sessions, solver, "w", FAST, threading.Event(), once=True) == 1
    assert seen == ["curve", "solve", "curve"]
    (record,) = _records(sessions)
    assert (record.status, record.attempts, record.result) == ("done", 1, CURVE)
    with sessions() as session:
        assert session.get_one(Round, to_solve).status == "solved"
    # The command line's operator waits for their analysis: it does not step aside.
    waiting = _round(sessions, sample, "draft")
    with sessions() as session:
        request_solve(session, waiting, "an", FAST)

    def patient(scenario: Scenario, progress: Any, workers: int | None) -> dict[str, Any]:
        for step in range(1, 10):
            time.sleep(0.05)
            progress(f"budget {step}/10")
        return CURVE

    monkeypatch.setitem(analyses.COMPUTE, "curve", patient)
    with sessions() as session:
        assert analyse_round(session, analysed, "curve", "an", settings=FAST).status == "done"
        assert session.scalar(select(func.count()).select_from(SolveJob)
                              .where(SolveJob.status == "queued")) == 1


def test_the_command_line_runs_the_same_record_here_and_now(
        sessions: sessionmaker[Session], sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    round_id = _round(sessions, sample)
    monkeypatch.setitem(analyses.COMPUTE, "curve", _fake(CURVE))
    said: list[str] = []
    with sessions() as session:
        done = analyse_round(session, round_id, "curve", "cli", progress=said.append,
                             settings=FAST)
    assert done.status == "done" and done.result == CURVE and done.worker_id.startswith("cli@")
    assert said == ["budget 1/2"]

    def broken(scenario: Scenario, progress: Any, workers: int | None) -> dict[str, Any]:
        raise RuntimeError("solver gone")

    monkeypatch.setitem(analyses.COMPUTE, "curve", broken)
    with sessions() as session, pytest.raises(AnalysisFailed, match="solver gone"):
        analyse_round(session, round_id, "curve", "cli", settings=FAST)
    (first, second) = _records(sessions)
    assert (first.status, second.status) == ("done", "failed")


def test_the_command_line_takes_over_an_analysis_whose_worker_died(
        sessions: sessionmaker[Session], sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It used to wait for ever for an analysis nobody would finish."""
    round_id = _round(sessions, sample)
    with sessions() as session:
        made = request_analysis(session, round_id, "curve", "an", FAST)
        assert claim_analysis(session, "dead", made.id) is not None
    _silence(sessions, made.id)
    monkeypatch.setitem(analyses.COMPUTE, "curve", _fake(CURVE))
    with sessions() as session:
        done = analyse_round(session, round_id, "curve", "cli", settings=FAST)
    assert (done.id, done.status, done.attempts, done.error) == (made.id, "done", 2, "")
    assert done.worker_id.startswith("cli@")


def test_deleting_a_round_deletes_its_analyses(sessions: sessionmaker[Session],
                                               sample: Path) -> None:
    round_id = _round(sessions, sample)
    with sessions() as session:
        request_analysis(session, round_id, "curve", "an", FAST)
        session.delete(session.get_one(Round, round_id))
        session.commit()
    assert _records(sessions) == []


def test_the_curve_file_has_the_contract_s_columns_and_a_bom() -> None:
    data = curve_csv(CURVE)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "budget_vnd,served,stage0,stage1,stage2,stage3,status"
    assert lines[1:] == ["0,0,0,0,0,0,OPTIMAL", "100000000,40,0,130,99000000,61.25,OPTIMAL"]
    assert analyses.fraction("budget 3/12", "running") == 0.25
    assert analyses.fraction("started", "running") == 0.0
    assert analyses.fraction("", "done") == 1.0


def test_a_store_of_the_previous_schema_migrates_and_back(db_url: str) -> None:
    """0008 on a store of 0007 holding a solved round: the analyses table arrives, guards
    one live analysis per round and kind, and goes again on a downgrade."""
    from alembic import command
    from sqlalchemy import MetaData, insert, inspect
    from sqlalchemy.exc import IntegrityError

    from allocator.store.migrate import _config

    before = "d8d77d9b51f1"  # 0007, at the point
    engine = make_engine(db_url)
    with engine.begin() as connection:
        command.upgrade(_config(connection), before)
    tables = MetaData()
    tables.reflect(engine)
    assert "round_analyses" not in tables.tables
    with engine.begin() as connection:
        connection.execute(insert(tables.tables["rounds"]).values(
            id=1, name="r1", status="approved", policy={}, seed=0, inputs_hash="x",
            inputs=b"", engine_version="", solver_version="", error="",
            created_at=dt.datetime(2026, 1, 1)))
    prepare(engine)
    sessions = make_sessions(engine)
    with sessions() as session:
        made = request_analysis(session, 1, "curve", "an", FAST)
        session.add(RoundAnalysis(round_id=1, kind="curve", status="running"))
        with pytest.raises(IntegrityError):  # the database itself refuses a second live one
            session.commit()
        session.rollback()
        session.add(RoundAnalysis(round_id=1, kind="curve", status="done"))
        session.commit()  # finished ones are history, as many as there were
        assert made.id is not None
    with engine.begin() as connection:
        command.downgrade(_config(connection), before)
    assert "round_analyses" not in inspect(engine).get_table_names()
    prepare(engine)
    assert "round_analyses" in inspect(engine).get_table_names()
    engine.dispose()


def test_a_result_the_store_cannot_hold_fails_the_analysis_with_a_message(
        sessions: sessionmaker[Session], sample: Path) -> None:
    round_id = _round(sessions, sample)
    with sessions() as session:
        made = request_analysis(session, round_id, "curve", "an", FAST)
        held = claim_analysis(session, "w", made.id)
    assert held is not None
    assert run_analysis(sessions, held, FAST, compute=_fake({"when": object()})) == "failed"
    with sessions() as session:
        ended = session.get_one(RoundAnalysis, made.id)
    assert ended.result is None and "not JSON serializable" in ended.error
