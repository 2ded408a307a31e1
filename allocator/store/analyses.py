"""Analyses of a round with results, the budget curve and the bottlenecks, as durable work.

Each is a batch of exact solves of the round's frozen inputs, seconds to minutes
long, so it runs like a solve: a request queues a record in the store, a worker
(`allocator worker`, or the one inside `allocator serve`) claims it when no
solve is waiting, beats a heartbeat and writes its progress, and stores the
result as JSON. A worker that dies stops beating; the next worker queues its
analysis again, up to `max_attempts`, then fails it with a message.

At most one analysis per round and kind is live (queued or running): a partial
unique index holds that in the database, so a second request, however close to
the first, gets the live record instead of starting the same work twice.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from allocator.store.audit import record
from allocator.store.jobs import (
    DONE,
    FAILED,
    QUEUED,
    RUNNING,
    Heartbeat,
    JobSettings,
    claim_queued,
    new_attempt,
    stamp,
    worker_name,
)
from allocator.store.lifecycle import WITH_RESULTS, Conflict, RoundError, fresh
from allocator.store.models import Round, RoundAnalysis, SolveJob
from allocator.store.rounds import unpack_inputs
from allocator.validate import Scenario, read_scenario

log = logging.getLogger("allocator.analyses")

CURVE, BOTTLENECKS = "curve", "bottlenecks"
KINDS = (CURVE, BOTTLENECKS)
LIVE = (QUEUED, RUNNING)
NAMES = {CURVE: ("đường cong ngân sách", "budget curve"),
         BOTTLENECKS: ("điểm nghẽn", "bottlenecks")}

Progress = Callable[[str], None]
Compute = Callable[[Scenario, Progress, int | None], dict[str, Any]]


class NoResults(RoundError):
    """The round has no results to analyse (a draft, being solved, or failed)."""

    def __init__(self, round_id: int, status: str) -> None:
        super().__init__(round_id, status)
        self.round_id, self.status = round_id, status

    def __str__(self) -> str:
        return f"{self.vi} / {self.en}"

    @property
    def vi(self) -> str:
        return (f"Đợt {self.round_id} chưa có kết quả (trạng thái {self.status}): hãy tính "
                "phân bổ trước khi phân tích.")

    @property
    def en(self) -> str:
        return (f"Round {self.round_id} has no results (it is {self.status}): solve it "
                "before analysing it.")


class AnalysisFailed(RoundError):
    """The analysis ran and ended with an error (kept in its record)."""


class SolveWaits(Exception):
    """A round's solve was queued while a worker ran an analysis: solves go first, so the
    analysis is put back in the queue (its attempt not counted) and run after them."""


def solve_waits(sessions: sessionmaker[Session]) -> bool:
    """Whether a solve job waits for a worker."""
    with sessions() as session:
        return session.scalar(select(SolveJob.id).where(SolveJob.status == QUEUED)
                              .limit(1)) is not None


def analysis_workers() -> int | None:
    """Solver processes an analysis may use (ALLOCATOR_ANALYSIS_WORKERS; default: one
    per core)."""
    value = os.environ.get("ALLOCATOR_ANALYSIS_WORKERS", "").strip()
    return max(1, int(value)) if value.isdigit() else None


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown analysis {kind!r}; one of {', '.join(KINDS)}")
    return kind


def live_analysis(session: Session, round_id: int, kind: str) -> RoundAnalysis | None:
    return session.scalar(select(RoundAnalysis).where(
        RoundAnalysis.round_id == round_id, RoundAnalysis.kind == kind,
        RoundAnalysis.status.in_(LIVE)).execution_options(populate_existing=True))


def latest_analysis(session: Session, round_id: int, kind: str) -> RoundAnalysis | None:
    """The newest analysis of this kind asked for the round, whatever its status."""
    return session.scalar(select(RoundAnalysis).where(
        RoundAnalysis.round_id == round_id, RoundAnalysis.kind == kind)
        .order_by(RoundAnalysis.id.desc()).limit(1)
        .execution_options(populate_existing=True))


def latest_done(session: Session, round_id: int, kind: str) -> RoundAnalysis | None:
    """The newest analysis of this kind that finished (a later failed one leaves it shown)."""
    return session.scalar(select(RoundAnalysis).where(
        RoundAnalysis.round_id == round_id, RoundAnalysis.kind == kind,
        RoundAnalysis.status == DONE)
        .order_by(RoundAnalysis.id.desc()).limit(1)
        .execution_options(populate_existing=True))


def latest_result(session: Session, round_id: int, kind: str) -> dict[str, Any] | None:
    """The newest finished analysis's result (`Curve.to_json()` or `Bottlenecks.to_json()`
    with the sentences), or None if none has finished."""
    done = latest_done(session, round_id, _kind(kind))
    return done.result if done is not None else None


def request_analysis(session: Session, round_id: int, kind: str, actor: str,
                     settings: JobSettings | None = None) -> RoundAnalysis:
    """Queue an analysis of a round with results; while one of this round and kind is
    queued or running, that one is returned instead (one record, one computation)."""
    _kind(kind)
    settings = settings or JobSettings.from_env()
    for _ in range(5):  # the live one may end between a refused insert and our look
        row = fresh(session, round_id)
        if row.status not in WITH_RESULTS:
            status = row.status
            session.rollback()
            raise NoResults(round_id, status)
        live = live_analysis(session, round_id, kind)
        if live is not None:
            session.commit()
            return live
        analysis = RoundAnalysis(round_id=round_id, kind=kind, status=QUEUED,
                                 requested_by=actor[:100], progress=QUEUED, error="",
                                 worker_id="", attempt="", attempts=0,
                                 max_attempts=settings.max_attempts)
        try:
            session.add(analysis)
            session.flush()  # the unique index refuses a second live one here
            record(session, actor, f"request {kind}", f"round {round_id}",
                   {"analysis": analysis.id})
            session.commit()
            return analysis
        except IntegrityError:
            session.rollback()
    raise Conflict(f"round {round_id}: the {kind} analysis kept changing; try again")


def claim_analysis(session: Session, worker_id: str,
                   analysis_id: int | None = None) -> RoundAnalysis | None:
    """Take the oldest queued analysis (or the one named) for this worker; None if none."""
    found = claim_queued(session, RoundAnalysis, worker_id, analysis_id,
                         attempt=new_attempt())
    return session.get(RoundAnalysis, found, populate_existing=True) \
        if found is not None else None


@dataclass(frozen=True)
class Claim:
    """A worker's hold on a running analysis: plain values, safe to share with the
    heartbeat's thread whatever becomes of the session that claimed it."""

    id: int
    attempt: str
    round_id: int
    kind: str

    @classmethod
    def of(cls, analysis: RoundAnalysis) -> Claim:
        return cls(analysis.id, analysis.attempt, analysis.round_id, analysis.kind)


def _own(analysis: Claim) -> tuple:  # type: ignore[type-arg]
    """Conditions under which a worker still holds an analysis."""
    return (RoundAnalysis.id == analysis.id, RoundAnalysis.attempt == analysis.attempt,
            RoundAnalysis.status == RUNNING)


def beat(sessions: sessionmaker[Session], analysis: Claim,
         progress: str | None = None) -> bool:
    """Tell the store this worker is alive (and how far it got); False if it lost it."""
    values: dict[str, object] = {"heartbeat_at": stamp()}
    if progress is not None:
        values["progress"] = progress[:200]
    with sessions() as session:
        done = session.execute(update(RoundAnalysis).where(*_own(analysis)).values(**values)
                               .execution_options(synchronize_session=False))
        session.commit()
    return done.rowcount == 1  # type: ignore[attr-defined]


def frozen_scenario(session: Session, round_id: int) -> Scenario:
    """The round's frozen inputs, read as the engine reads a folder."""
    row = session.get(Round, round_id)
    if row is None:
        raise LookupError(f"round {round_id} no longer exists")
    with tempfile.TemporaryDirectory() as tmp:
        return read_scenario(unpack_inputs(row, Path(tmp)))


def compute_curve(scenario: Scenario, progress: Progress,
                  workers: int | None = None) -> dict[str, Any]:
    """The budget curve, with what the next 100 million VND would buy, in sentences."""
    from allocator.curve import budget_curve

    return budget_curve(scenario, workers=workers, progress=progress).to_json()


def compute_bottlenecks(scenario: Scenario, progress: Progress,
                        workers: int | None = None) -> dict[str, Any]:
    """What binds and the ten changes that would serve the most."""
    from allocator.bottlenecks import find_bottlenecks

    return find_bottlenecks(scenario, top=10, workers=workers, progress=progress).to_json()


COMPUTE: dict[str, Compute] = {CURVE: compute_curve, BOTTLENECKS: compute_bottlenecks}


def run_analysis(sessions: sessionmaker[Session], analysis: RoundAnalysis | Claim,
                 settings: JobSettings, echo: Progress | None = None,
                 compute: Compute | None = None, yield_to_solves: bool = True) -> str:
    """Run a claimed analysis to its end; returns 'done', 'failed', 'lost' when it was
    taken from this worker because it was thought dead, or 'queued' when it stepped aside
    for a solve queued meanwhile (`yield_to_solves`: a worker's analyses, which can take
    minutes on a large round, never hold up a solve for longer than one of their solves)."""
    held = analysis if isinstance(analysis, Claim) else Claim.of(analysis)
    looked = [time.monotonic()]

    def progress(message: str) -> None:
        if echo is not None:
            echo(message)
        if yield_to_solves and time.monotonic() - looked[0] >= min(1.0, settings.poll_seconds):
            looked[0] = time.monotonic()
            try:
                waits = solve_waits(sessions)
            except OperationalError:
                waits = False
            if waits:
                raise SolveWaits()
        try:
            beat(sessions, held, str(message))
        except OperationalError as error:
            log.warning("progress of analysis %s not written: %s", held.id, error)

    work = compute or COMPUTE[held.kind]
    try:
        with Heartbeat(lambda: beat(sessions, held), settings.heartbeat_seconds,
                       f"analysis {held.id}"):
            try:
                with sessions() as session:  # no connection is held through the solves
                    scenario = frozen_scenario(session, held.round_id)
                result = work(scenario, progress, analysis_workers())
                json.dumps(result, allow_nan=False)  # what either store's JSON column holds
            except SolveWaits:
                log.info("analysis %s steps aside: a solve waits", held.id)
                return _requeue(sessions, held)
            except Exception as error:
                log.exception("%s of round %s failed", held.kind, held.round_id)
                return _end(sessions, held, FAILED, error=f"{type(error).__name__}: {error}")
        return _end(sessions, held, DONE, result=result)
    except (KeyboardInterrupt, SystemExit) as stop:  # Ctrl-C, SIGTERM: say so, then stop
        why = str(stop) or type(stop).__name__
        _end(sessions, held, FAILED,
             error=f"stopped ({why}) before the analysis finished; request it again")
        raise


def _end(sessions: sessionmaker[Session], analysis: Claim, status: str,
         result: dict[str, Any] | None = None, error: str = "") -> str:
    """Write how an analysis this worker still holds ended; 'lost' if it no longer does,
    'unwritten' if the store would not take it (the analysis is then reaped, run again)."""
    for wait in (0.5, 2, 5, 10, 0):
        try:
            with sessions() as session:
                ended = session.execute(
                    update(RoundAnalysis).where(*_own(analysis))
                    .values(status=status, result=result, error=error[:2000], progress=status,
                            finished_at=stamp())
                    .execution_options(synchronize_session=False))
                session.commit()
            return status if ended.rowcount == 1 else "lost"  # type: ignore[attr-defined]
        except OperationalError as busy:  # a store too busy to take the result now
            log.warning("analysis %s waits for the store: %s", analysis.id, busy.orig)
            time.sleep(wait)
    return "unwritten"


def _requeue(sessions: sessionmaker[Session], analysis: Claim) -> str:
    """Put an analysis this worker holds back in the queue, its attempt not counted."""
    with sessions() as session:
        moved = session.execute(
            update(RoundAnalysis).where(*_own(analysis))
            .values(status=QUEUED, progress=QUEUED, worker_id="", started_at=None,
                    attempts=RoundAnalysis.attempts - 1)
            .execution_options(synchronize_session=False))
        session.commit()
    return QUEUED if moved.rowcount == 1 else "lost"  # type: ignore[attr-defined]


def reap_analyses(session: Session, settings: JobSettings) -> list[int]:
    """Queue again (or fail, after the last attempt) analyses whose worker stopped beating."""
    cutoff = stamp() - dt.timedelta(seconds=settings.stale_seconds)
    stale = session.execute(select(
        RoundAnalysis.id, RoundAnalysis.attempt, RoundAnalysis.attempts,
        RoundAnalysis.max_attempts, RoundAnalysis.worker_id)
        .where(RoundAnalysis.status == RUNNING, RoundAnalysis.heartbeat_at < cutoff)).all()
    session.rollback()
    reaped = []
    for found in stale:
        silent = f"worker {found.worker_id} stopped responding (attempt {found.attempts})"
        if found.attempts >= found.max_attempts:
            values: dict[str, Any] = {
                "status": FAILED, "progress": FAILED, "finished_at": stamp(),
                "error": f"analysis abandoned after {found.attempts} attempts: the last "
                         f"{silent}"}
        else:
            values = {"status": QUEUED, "progress": QUEUED, "worker_id": "", "error": silent}
        # Only if nobody took it up or heard from it meanwhile.
        moved = session.execute(update(RoundAnalysis).where(
            RoundAnalysis.id == found.id, RoundAnalysis.attempt == found.attempt,
            RoundAnalysis.status == RUNNING, RoundAnalysis.heartbeat_at < cutoff)
            .values(**values).execution_options(synchronize_session=False))
        session.commit()
        if moved.rowcount == 1:  # type: ignore[attr-defined]
            log.warning("analysis %s: %s; %s", found.id, silent, values["status"])
            reaped.append(found.id)
    return reaped


def analyse_round(session: Session, round_id: int, kind: str, actor: str,
                  progress: Progress | None = None,
                  settings: JobSettings | None = None) -> RoundAnalysis:
    """Work out an analysis here and now (the command line): the same durable record a
    worker would run, so a service started meanwhile never runs it a second time. One
    already running elsewhere is waited for, and taken over if its worker dies."""
    settings = settings or JobSettings.from_env()
    reap_analyses(session, settings)  # one left running by a dead worker is taken up
    analysis_id = request_analysis(session, round_id, kind, actor, settings).id
    sessions = sessionmaker(session.get_bind(), expire_on_commit=False)
    me = worker_name("cli")
    while True:
        claimed = claim_analysis(session, me, analysis_id)
        held = Claim.of(claimed) if claimed is not None else None
        session.rollback()  # no transaction is held open through the solves
        if held is not None:  # the operator waits for it: it does not step aside
            run_analysis(sessions, held, settings, echo=progress, yield_to_solves=False)
            break
        now = session.get(RoundAnalysis, analysis_id, populate_existing=True)
        if now is None or now.status not in LIVE:
            break
        session.rollback()
        time.sleep(min(1.0, settings.poll_seconds))
        reap_analyses(session, settings)
    ended = session.get(RoundAnalysis, analysis_id, populate_existing=True)
    if ended is None:
        raise AnalysisFailed(f"round {round_id}: the {kind} analysis was removed")
    if ended.status != DONE:
        raise AnalysisFailed(f"round {round_id}: the {kind} analysis failed: {ended.error}")
    return ended


def state(session: Session, round_id: int, kind: str) -> dict[str, Any] | None:
    """What the API and the pages show: the newest request's status and progress, and the
    newest finished result (kept while a later one runs or after one fails)."""
    newest = latest_analysis(session, round_id, _kind(kind))
    if newest is None:
        return None
    done = newest if newest.status == DONE else latest_done(session, round_id, kind)
    return {"id": newest.id, "round_id": round_id, "kind": kind, "status": newest.status,
            "progress": newest.progress, "error": newest.error,
            "requested_by": newest.requested_by, "requested_at": newest.requested_at,
            "started_at": newest.started_at, "finished_at": newest.finished_at,
            "attempts": newest.attempts,
            "result": done.result if done is not None else None,
            "result_at": done.finished_at if done is not None else None}


STEP = re.compile(r"(\d+)\s*/\s*(\d+)")


def fraction(progress: str, status: str) -> float:
    """How far an analysis got, from the 'k/n' its progress names (0 if it names none)."""
    if status in (DONE, FAILED):
        return 1.0
    found = STEP.search(progress or "")
    if found and int(found.group(2)) > 0:
        return round(min(1.0, int(found.group(1)) / int(found.group(2))), 3)
    return 0.0


def curve_csv(result: dict[str, Any]) -> bytes:
    """The curve's rows as `allocator curve` writes them, with the BOM Excel looks for."""
    from allocator.curve import Curve, CurvePoint
    from allocator.curve import curve_csv as engine_csv

    curve = Curve([CurvePoint(**point) for point in result.get("points", [])],
                  result["saturation_vnd"], result["max_stage1"], result["round_budget_vnd"],
                  result.get("seconds", 0.0))
    return ("\ufeff" + engine_csv(curve)).encode("utf-8")
