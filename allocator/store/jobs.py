"""Durable solve jobs: queued in the database, claimed by exactly one worker, never lost.

A solve request moves the round to `solving` and queues a job in the same
transaction. Workers (`allocator worker`, or the one inside `allocator serve`)
claim queued jobs one at a time, beat a heartbeat while they solve, and write
progress into the job, so every web process can show it. A worker that dies
stops beating; any other worker then queues its job again under a new solve
attempt (so the dead worker, were it only stalled, can no longer write), up to
the job's `max_attempts`, after which the round fails with a message.

The claim is `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL followed by a
conditional UPDATE checked by its row count, which is also all SQLite needs
(its writers are serialised), so one queue serves both stores.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from allocator import solver_process
from allocator.store.lifecycle import (
    WITH_RESULTS,
    Conflict,
    Move,
    RoundError,
    now,
    transition,
)
from allocator.store.models import AllocationRow, Round, SolveJob, UnservedRow

log = logging.getLogger("allocator.jobs")

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


@dataclass(frozen=True)
class JobSettings:
    """How often a worker beats, when silence means it died, how often a job is retried."""

    heartbeat_seconds: float = 5.0
    stale_seconds: float = 60.0
    max_attempts: int = 3
    poll_seconds: float = 1.0

    @classmethod
    def from_env(cls) -> JobSettings:
        env = os.environ.get
        return cls(heartbeat_seconds=float(env("ALLOCATOR_HEARTBEAT_SECONDS", "5")),
                   stale_seconds=float(env("ALLOCATOR_STALE_SECONDS", "60")),
                   max_attempts=int(env("ALLOCATOR_SOLVE_ATTEMPTS", "3")),
                   poll_seconds=float(env("ALLOCATOR_POLL_SECONDS", "1")))


def stamp() -> dt.datetime:
    """Now, in UTC without a zone, as job times are stored and compared on both stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def worker_name(kind: str) -> str:
    return f"{kind}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def new_attempt() -> str:
    return uuid.uuid4().hex


def request_solve(session: Session, round_id: int, actor: str,
                  settings: JobSettings | None = None) -> SolveJob:
    """Accept a solve: the round moves to `solving`, its old results go, a job is queued.

    Exactly one of any number of simultaneous requests wins; the others get
    WrongState (the round is already solving).
    """
    settings = settings or JobSettings.from_env()
    attempt = new_attempt()
    job = SolveJob(round_id=round_id, attempt=attempt, status=QUEUED, attempts=0,
                   max_attempts=settings.max_attempts, requested_by=actor[:100],
                   worker_id="", progress="queued", error="")

    def queue(db: Session) -> None:
        # A round being solved shows no earlier results as current.
        db.execute(delete(AllocationRow).where(AllocationRow.round_id == round_id))
        db.execute(delete(UnservedRow).where(UnservedRow.round_id == round_id))
        db.add(job)

    transition(session, round_id, Move.SOLVE, actor, also=queue,
               values={"solve_attempt": attempt, "error": "", "summary": None,
                       "dashboard": None, "solved_at": None})
    return job


def latest_job(session: Session, round_id: int) -> SolveJob | None:
    return session.scalar(select(SolveJob).where(SolveJob.round_id == round_id)
                          .order_by(SolveJob.id.desc()).limit(1))


def progress_of(session: Session, round_id: int) -> str:
    """The newest solve's progress, as its worker last wrote it ('' if never solved)."""
    job = latest_job(session, round_id)
    if job is None:
        return ""
    if job.status == FAILED:
        return f"failed: {job.error}"[:200]
    return job.progress


def claim(session: Session, worker_id: str, job_id: int | None = None) -> SolveJob | None:
    """Take the oldest queued job (or the one named) for this worker; None if there is none."""
    found = claim_queued(session, SolveJob, worker_id, job_id, error="")
    return session.get(SolveJob, found, populate_existing=True) if found is not None else None


def claim_queued(session: Session, model: Any, worker_id: str, row_id: int | None = None,
                 **values: object) -> int | None:
    """Take the oldest queued row of `model` (a solve job, a round's analysis), or the one
    named, for this worker; its id, or None if none is queued. Also sets `values`.

    SELECT ... FOR UPDATE SKIP LOCKED, then an UPDATE that holds only while the row is
    still queued, checked by its row count: what PostgreSQL needs, and all SQLite needs.
    """
    for _ in range(5):  # another worker may win the row between our look and our update
        query = select(model.id).where(model.status == QUEUED)
        if row_id is not None:
            query = query.where(model.id == row_id)
        found = session.scalar(query.order_by(model.id).limit(1)
                               .with_for_update(skip_locked=True))
        if found is None:
            session.rollback()
            return None
        moment = stamp()
        won = session.execute(
            update(model).where(model.id == found, model.status == QUEUED)
            .values(status=RUNNING, worker_id=worker_id[:100], attempts=model.attempts + 1,
                    started_at=moment, heartbeat_at=moment, progress="started", **values)
            .execution_options(synchronize_session=False))
        session.commit()
        if won.rowcount == 1:  # type: ignore[attr-defined]
            return int(found)
    return None


def _own(job: SolveJob) -> tuple:  # type: ignore[type-arg]
    """Conditions under which a worker still holds a job: its id, attempt and status."""
    return (SolveJob.id == job.id, SolveJob.attempt == job.attempt,
            SolveJob.worker_id == job.worker_id, SolveJob.status == RUNNING)


def beat(sessions: sessionmaker[Session], job: SolveJob, progress: str | None = None) -> bool:
    """Tell the store this worker is alive (and how far it got); False if it lost the job."""
    values: dict[str, object] = {"heartbeat_at": stamp()}
    if progress is not None:
        values["progress"] = progress[:200]
    with sessions() as session:
        done = session.execute(update(SolveJob).where(*_own(job)).values(**values)
                               .execution_options(synchronize_session=False))
        session.commit()
    return done.rowcount == 1  # type: ignore[attr-defined]


class Heartbeat:
    """A thread that calls `pulse` every `every` seconds while work runs (a solve job, a
    round's analysis), each beat on its own connection; a busy store skips one beat."""

    def __init__(self, pulse: Callable[[], object], every: float, name: str) -> None:
        self.pulse, self.every, self.name = pulse, every, name
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"heartbeat-{name}")

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            try:
                self.pulse()
            except OperationalError as error:  # a busy store: the next beat will do
                log.warning("heartbeat of %s missed: %s", self.name, error)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


Solver = Callable[[Session, Round, Callable[[str], None]], Callable[[Session], None]]
"""Computes a round's results from its frozen inputs; returns the step that writes them."""


def run(sessions: sessionmaker[Session], job: SolveJob, solver: Solver,
        settings: JobSettings, echo: Callable[[str], None] | None = None) -> str:
    """Run a claimed job to its end: the round solved, or failed with a message.

    Returns the job's final status ('done', 'failed', or 'lost' when the job
    was taken from this worker because it was thought dead).
    """
    def progress(message: str) -> None:
        if echo is not None:
            echo(message)
        try:
            beat(sessions, job, message)
        except OperationalError as error:
            log.warning("progress of job %s not written: %s", job.id, error)

    actor = f"worker {job.worker_id}"
    try:
        return _run(sessions, job, solver, settings, actor, progress)
    except (KeyboardInterrupt, SystemExit) as stop:  # Ctrl-C, SIGTERM: say so, then stop
        why = str(stop) or type(stop).__name__
        _fail(sessions, job, actor, f"stopped ({why}) before the solve finished; solve "
                                    "the round again")
        raise


def _run(sessions: sessionmaker[Session], job: SolveJob, solver: Solver,
         settings: JobSettings, actor: str, progress: Callable[[str], None]) -> str:
    with Heartbeat(lambda: beat(sessions, job), settings.heartbeat_seconds,
                   f"job {job.id}"), sessions() as session:
        row = session.get(Round, job.round_id)
        try:
            if row is None:
                raise LookupError(f"round {job.round_id} no longer exists")
            write = solver(session, row, progress)
        except Exception as error:
            session.rollback()
            log.exception("solve of round %s failed", job.round_id)
            return _fail(sessions, job, actor, f"{type(error).__name__}: {error}")
        for wait in (0.5, 2, 5, 10, 0):
            try:
                transition(session, job.round_id, Move.FINISH, actor, attempt=job.attempt,
                           values={"error": "", "solved_at": now()}, also=write,
                           detail={"job": job.id, "worker": job.worker_id})
                break
            except Conflict:
                return "lost"
            except RoundError as error:  # the round was deleted or moved on under us
                _end_job(sessions, job, FAILED, str(error))
                return FAILED
            except OperationalError as error:  # a store too busy to take the results now
                if not wait:
                    return _fail(sessions, job, actor, f"the results could not be written: "
                                                       f"{error.orig}")
                log.warning("results of round %s wait for the store: %s", job.round_id,
                            error.orig)
                time.sleep(wait)
    _end_job(sessions, job, DONE, "")
    return DONE


def give_up(sessions: sessionmaker[Session], job_id: int, worker_id: str, message: str) -> None:
    """Fail a job that this worker asked for and was stopped before running: still queued,
    or claimed by this very worker."""
    with sessions() as session:
        job = session.get(SolveJob, job_id)
        if job is not None and (job.status == QUEUED or
                                (job.status == RUNNING and job.worker_id == worker_id)):
            session.expunge(job)
            _fail(sessions, job, f"worker {worker_id}", message)


def _fail(sessions: sessionmaker[Session], job: SolveJob, actor: str, message: str) -> str:
    with sessions() as session:
        try:
            transition(session, job.round_id, Move.FAIL, actor, attempt=job.attempt,
                       values={"error": message[:2000]},
                       detail={"job": job.id, "error": message[:500]})
        except Conflict:
            return "lost"
        except RoundError:
            pass
    _end_job(sessions, job, FAILED, message)
    return FAILED


def _end_job(sessions: sessionmaker[Session], job: SolveJob, status: str, error: str) -> None:
    with sessions() as session:
        _close(session, job, status, error)


def _close(session: Session, job: SolveJob, status: str, error: str) -> None:
    """End a job that is still this attempt's and not ended yet (done or failed)."""
    session.execute(update(SolveJob).where(SolveJob.id == job.id, SolveJob.attempt == job.attempt,
                                           SolveJob.status.in_([QUEUED, RUNNING]))
                    .values(status=status, error=error[:2000], finished_at=stamp(),
                            progress=status).execution_options(synchronize_session=False))
    session.commit()


def reap(session: Session, settings: JobSettings, actor: str) -> list[int]:
    """Queue again (or fail, after the last attempt) jobs whose worker stopped beating."""
    cutoff = stamp() - dt.timedelta(seconds=settings.stale_seconds)
    stale = session.scalars(select(SolveJob).where(SolveJob.status == RUNNING,
                                                   SolveJob.heartbeat_at < cutoff)
                            ).all()
    for job in stale:  # kept as read: a job taken up meanwhile has another attempt and beat
        session.expunge(job)
    session.rollback()
    reaped = []
    for job in stale:
        silent = f"worker {job.worker_id} stopped responding (attempt {job.attempts})"
        if job.attempts >= job.max_attempts:
            message = (f"solve abandoned after {job.attempts} attempts: the last {silent}")
            try:
                transition(session, job.round_id, Move.FAIL, actor, attempt=job.attempt,
                           values={"error": message}, detail={"job": job.id})
            except RoundError:
                session.rollback()
            _close(session, job, FAILED, message)
        else:
            retry = new_attempt()

            def requeue(db: Session, job: SolveJob = job, retry: str = retry,
                        silent: str = silent) -> None:
                moved = db.execute(
                    update(SolveJob).where(SolveJob.id == job.id, SolveJob.attempt == job.attempt,
                                           SolveJob.status == RUNNING,
                                           SolveJob.heartbeat_at < cutoff)
                    .values(status=QUEUED, attempt=retry, worker_id="", progress="queued",
                            error=silent).execution_options(synchronize_session=False))
                if moved.rowcount != 1:  # type: ignore[attr-defined]
                    raise Conflict(f"job {job.id} moved on")

            try:
                transition(session, job.round_id, Move.RETRY, actor, attempt=job.attempt,
                           values={"solve_attempt": retry}, also=requeue,
                           detail={"job": job.id, "why": silent})
            except RoundError:
                # The round no longer waits for this job: its worker wrote the results and
                # stopped before closing the job, or the round moved on. Close it as it ended.
                session.rollback()
                row = session.get(Round, job.round_id, populate_existing=True)
                finished = (row is not None and row.solve_attempt == job.attempt
                            and row.status in WITH_RESULTS)
                _close(session, job, DONE if finished else FAILED,
                            "" if finished else f"the round no longer waits for it ({silent})")
        reaped.append(job.id)
    return reaped



def work(sessions: sessionmaker[Session], solver: Solver, worker_id: str,
         settings: JobSettings, stop: threading.Event, once: bool = False,
         chores: Callable[[Session], object] | None = None) -> int:
    """The worker loop: reap the dead, do the `chores` (e.g. mark rounds whose pickup
    deadline passed), claim, solve; when no solve waits, run a queued analysis of a
    round (budget curve, bottlenecks); until `stop` (or nothing waits, with `once`).
    Returns how many solve jobs it ran."""
    from allocator.store import analyses  # it builds on this module

    ran = 0
    while not stop.is_set():
        analysis = None
        try:
            with sessions() as session:
                reap(session, settings, f"worker {worker_id}")
                analyses.reap_analyses(session, settings)
                if chores is not None:
                    chores(session)
                job = claim(session, worker_id)
                if job is None:
                    analysis = analyses.claim_analysis(session, worker_id)
        except OperationalError as error:  # the store is busy or away: try again soon
            log.warning("worker %s could not reach the store: %s", worker_id, error.orig)
            job = None
        if analysis is not None:
            log.info("worker %s: %s of round %s (analysis %s)", worker_id, analysis.kind,
                     analysis.round_id, analysis.id)
            log.info("analysis %s: %s", analysis.id,
                     analyses.run_analysis(sessions, analysis, settings))
            solver_process.close()  # a bottleneck analysis's LPs may have started one
            continue
        if job is None:
            if once:
                break
            stop.wait(settings.poll_seconds)
            continue
        log.info("worker %s solves round %s (job %s)", worker_id, job.round_id, job.id)
        outcome = run(sessions, job, solver, settings)
        log.info("job %s: %s", job.id, outcome)
        ran += 1
    return ran
