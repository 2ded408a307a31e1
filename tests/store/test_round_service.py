"""The round service: one guarded move per status change, solve jobs that are never lost.

Races are run with real threads on SQLite and PostgreSQL (each thread its own
connection); the multi-process tests with real servers and workers are in
tests/api/test_workers.py.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from allocator.store.campaign import EarlyClose, approve_round, close_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.jobs import (
    DONE,
    FAILED,
    QUEUED,
    JobSettings,
    claim,
    progress_of,
    reap,
    request_solve,
    run,
    work,
)
from allocator.store.lifecycle import (
    TRANSITIONS,
    Conflict,
    Move,
    RoundNotFound,
    RoundStatus,
    WrongState,
    transition,
)
from allocator.store.models import AllocationRow, AuditEntry, Round, SolveJob, UnservedRow
from allocator.store.rounds import (
    SolveFailed,
    compute_results,
    import_folder_as_round,
    record_handovers,
    solve_round,
)
from scenarios.named import scenario

FAST = JobSettings(heartbeat_seconds=0.2, stale_seconds=1.0, max_attempts=2, poll_seconds=0.1)


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


def _round(sessions: sessionmaker[Session], folder: Path) -> int:
    with sessions() as session:
        return import_folder_as_round(session, folder, "r", "planner").id


def _status(sessions: sessionmaker[Session], round_id: int) -> str:
    with sessions() as session:
        return session.get_one(Round, round_id).status


def _set_status(sessions: sessionmaker[Session], round_id: int, status: str) -> None:
    with sessions() as session:
        session.execute(update(Round).where(Round.id == round_id).values(status=status))
        session.commit()


def _audit(sessions: sessionmaker[Session], action: str, round_id: int) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == action, AuditEntry.target == f"round {round_id}")) or 0


# --- the transition table ---------------------------------------------------------------

@pytest.mark.parametrize("move", [Move.SOLVE, Move.APPROVE, Move.CLOSE])
def test_each_move_is_allowed_exactly_from_its_table_row(sessions: sessionmaker[Session],
                                                         sample: Path, move: Move) -> None:
    round_id = _round(sessions, sample)
    sources, target = TRANSITIONS[move]
    for status in RoundStatus:
        _set_status(sessions, round_id, status.value)
        with sessions() as session:
            if status in sources:
                assert transition(session, round_id, move, "t").status == target
            else:
                with pytest.raises(WrongState) as refused:
                    transition(session, round_id, move, "t")
                assert status.value in str(refused.value)
        if status not in sources:
            assert _status(sessions, round_id) == status.value  # nothing changed


def test_a_missing_round_is_not_found_and_solve_moves_need_their_attempt(
        sessions: sessionmaker[Session], sample: Path) -> None:
    with sessions() as session:
        with pytest.raises(RoundNotFound):
            transition(session, 999, Move.APPROVE, "t")
        with pytest.raises(RoundNotFound):
            request_solve(session, 999, "t")
    round_id = _round(sessions, sample)
    with sessions() as session:
        request_solve(session, round_id, "t", FAST)
        with pytest.raises(ValueError):
            transition(session, round_id, Move.FINISH, "t")
        with pytest.raises(Conflict):  # a finish by a solve the round is not waiting for
            transition(session, round_id, Move.FINISH, "t", attempt="not-this-one")
    assert _status(sessions, round_id) == "solving"


# --- D1: concurrent solves, and an approved round's handovers ----------------------------

def _race(n: int, call: Any) -> list[str]:
    """Run `call` from n threads released at once; each answer is 'ok' or the error's name."""
    gate = threading.Barrier(n)
    answers: list[str] = []

    def one() -> None:
        gate.wait()
        try:
            call()
            answers.append("ok")
        except Exception as error:  # noqa: BLE001 - the race's outcome is what we count
            answers.append(type(error).__name__)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_twenty_simultaneous_solves_queue_exactly_one(sessions: sessionmaker[Session],
                                                      sample: Path) -> None:
    round_id = _round(sessions, sample)

    def ask() -> None:
        with sessions() as session:
            request_solve(session, round_id, "planner", FAST)

    answers = _race(20, ask)
    assert answers.count("ok") == 1 and answers.count("WrongState") == 19, answers
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(SolveJob)) == 1
    assert _audit(sessions, "solve round", round_id) == 1


def test_an_approved_round_keeps_its_handovers_through_late_requests(
        sessions: sessionmaker[Session], sample: Path) -> None:
    round_id = _round(sessions, sample)
    with sessions() as session:
        solve_round(session, round_id, "planner", settings=FAST)
        first_job = session.scalar(select(SolveJob))
        assert first_job is not None
        approve_round(session, round_id, "planner")
        served = session.scalars(select(AllocationRow.household_id).where(
            AllocationRow.round_id == round_id).limit(3)).all()
        assert record_handovers(session, round_id, list(served), "officer") == 3
        before = sorted((a.household_id, a.lot_id, a.handed_over_at) for a in session.scalars(
            select(AllocationRow).where(AllocationRow.round_id == round_id)))

    def late() -> None:
        with sessions() as session:
            request_solve(session, round_id, "planner", FAST)

    def stale_finish() -> None:  # the first solve's attempt, arriving again
        with sessions() as session:
            transition(session, round_id, Move.FINISH, "worker", attempt=first_job.attempt)

    assert set(_race(12, late)) == {"WrongState"}
    assert set(_race(4, stale_finish)) == {"WrongState"}
    with sessions() as session:
        assert session.get_one(Round, round_id).status == "approved"
        after = sorted((a.household_id, a.lot_id, a.handed_over_at) for a in session.scalars(
            select(AllocationRow).where(AllocationRow.round_id == round_id)))
    assert after == before
    assert sum(1 for _, _, at in after if at is not None) == 3
    assert _audit(sessions, "solve round", round_id) == 1
    assert _audit(sessions, "solve succeeded", round_id) == 1


# --- jobs: a dead worker's solve is retried; a stalled one can no longer write -------------

def _stale(sessions: sessionmaker[Session], job_id: int) -> None:
    with sessions() as session:
        old = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=10)
        session.execute(update(SolveJob).where(SolveJob.id == job_id).values(heartbeat_at=old))
        session.commit()


def test_a_dead_workers_job_is_retried_and_the_stalled_worker_cannot_write(
        sessions: sessionmaker[Session], sample: Path) -> None:
    round_id = _round(sessions, sample)
    with sessions() as session:
        job = request_solve(session, round_id, "planner", FAST)
        stalled = claim(session, "worker-a")
        assert stalled is not None and stalled.id == job.id and stalled.attempts == 1
    _stale(sessions, job.id)
    with sessions() as session:
        assert reap(session, FAST, "worker-b") == [job.id]
        assert session.get_one(SolveJob, job.id).status == QUEUED
    # The stalled worker wakes up and tries to finish: its results are refused.
    assert run(sessions, stalled, compute_results, FAST) == "lost"
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AllocationRow)) == 0
    assert work(sessions, compute_results, "worker-b", FAST, threading.Event(), once=True) == 1
    with sessions() as session:
        done = session.get_one(SolveJob, job.id)
        assert (done.status, done.attempts, done.worker_id) == (DONE, 2, "worker-b")
        assert session.get_one(Round, round_id).status == "solved"
    assert _audit(sessions, "retry solve", round_id) == 1
    assert _audit(sessions, "solve succeeded", round_id) == 1


def test_a_job_out_of_attempts_fails_the_round_with_a_message(sessions: sessionmaker[Session],
                                                              sample: Path) -> None:
    round_id = _round(sessions, sample)
    with sessions() as session:
        job = request_solve(session, round_id, "planner", FAST)
    for attempt in range(FAST.max_attempts):
        with sessions() as session:
            assert claim(session, f"worker-{attempt}") is not None
        _stale(sessions, job.id)
        with sessions() as session:
            reap(session, FAST, "reaper")
    with sessions() as session:
        row = session.get_one(Round, round_id)
        assert row.status == "failed" and "after 2 attempts" in row.error
        assert session.get_one(SolveJob, job.id).status == FAILED
        assert "after 2 attempts" in progress_of(session, round_id)


# --- W6: a failed round shows no earlier results; a solving one no stale error ------------

def test_a_failed_solve_leaves_no_earlier_results_as_current(sessions: sessionmaker[Session],
                                                             sample: Path) -> None:
    round_id = _round(sessions, sample)
    with sessions() as session:
        solve_round(session, round_id, "planner", settings=FAST)
        assert session.scalar(select(func.count()).select_from(AllocationRow)) > 0

    def broken(session: Session, row: Round, progress: Any) -> Any:
        progress("stage 1: priority weight")
        raise RuntimeError("the solver stopped")

    with sessions() as session:
        job = request_solve(session, round_id, "planner", FAST)
        assert claim(session, "w", job.id) is not None
        claimed = session.get_one(SolveJob, job.id)
    assert run(sessions, claimed, broken, FAST) == FAILED
    with sessions() as session:
        row = session.get_one(Round, round_id)
        assert row.status == "failed" and "the solver stopped" in row.error
        assert row.summary is None and row.dashboard is None
        for table in (AllocationRow, UnservedRow):
            assert session.scalar(select(func.count()).select_from(table)) == 0
        request_solve(session, round_id, "planner", FAST)  # solving again: no stale error
        assert session.get_one(Round, round_id).error == ""
    assert _audit(sessions, "solve failed", round_id) == 1


def test_solve_round_reports_a_failure_as_a_typed_error(sessions: sessionmaker[Session],
                                                        tmp_path: Path, sample: Path) -> None:
    round_id = _round(sessions, sample)
    with sessions() as session:
        session.execute(update(Round).where(Round.id == round_id).values(inputs=b"not a zip"))
        session.commit()
        with pytest.raises(SolveFailed):
            solve_round(session, round_id, "planner", settings=FAST)
    assert _status(sessions, round_id) == "failed"


def test_close_and_handovers_keep_to_their_states(sessions: sessionmaker[Session],
                                                  sample: Path) -> None:
    round_id = _round(sessions, sample)
    with sessions() as session:
        with pytest.raises(WrongState):
            record_handovers(session, round_id, ["x"], "officer")
        with pytest.raises(WrongState):
            close_round(session, round_id, "planner")
        solve_round(session, round_id, "planner", settings=FAST)
        approve_round(session, round_id, "planner")
        with pytest.raises(EarlyClose):  # before the pickup deadline: only when confirmed
            close_round(session, round_id, "planner")
        assert close_round(session, round_id, "planner", force=True).status == "closed"
        with pytest.raises(WrongState):
            record_handovers(session, round_id, ["x"], "officer")


def test_a_worker_that_died_after_writing_its_results_leaves_them_and_its_job_is_closed(
        sessions: sessionmaker[Session], sample: Path) -> None:
    round_id = _round(sessions, sample)
    with sessions() as session:
        job = request_solve(session, round_id, "planner", FAST)
        claimed = claim(session, "worker-a")
        assert claimed is not None
        row = session.get_one(Round, round_id)
        write = compute_results(session, row, lambda _: None)
        transition(session, round_id, Move.FINISH, "worker-a", attempt=claimed.attempt,
                   also=write)  # ... and the worker dies before it closes its job
    _stale(sessions, job.id)
    with sessions() as session:
        assert reap(session, FAST, "worker-b") == [job.id]
        assert session.get_one(SolveJob, job.id).status == DONE
        assert session.get_one(Round, round_id).status == "solved"
        assert session.scalar(select(func.count()).select_from(AllocationRow)) > 0
    with sessions() as session:  # and it is not reaped again
        assert reap(session, FAST, "worker-b") == []
