"""Allocation rounds as durable records: frozen inputs, solving, approval, replay.

A round freezes its inputs when it is created: the registry is written as an
engine-contract folder and kept, zipped, in the round. Solving, replaying and
exporting all read that folder, so an approved round never changes when the
registry does, and replaying it gives byte-identical allocations.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from allocator import __version__
from allocator.contract import (
    COMMUNES,
    HOUSEHOLDS,
    KEEP,
    LOTS,
    POINTS,
    ROUND,
)
from allocator.dashboard import dashboard
from allocator.issues import InputIssue, InvalidInput
from allocator.limits import name_problem
from allocator.policy import parse_policy
from allocator.problem import build_problem
from allocator.result import (
    ALLOCATIONS,
    UNSERVED,
    allocations_frame,
    summary,
    unserved_frame,
    write_result,
)
from allocator.solve import solve
from allocator.store import ledger
from allocator.store.audit import record
from allocator.store.jobs import JobSettings, claim, give_up, request_solve, run, worker_name
from allocator.store.lifecycle import (
    PICKING_UP,
    WITH_RESULTS,
    RoundError,
    RoundNotFound,
    RoundStatus,
    fresh,
    require,
)
from allocator.store.limits import column_length, scenario_bounds
from allocator.store.models import (
    AllocationRow,
    Commune,
    Household,
    HouseholdContact,
    Lot,
    Point,
    Round,
    SolveJob,
    Sponsor,
    UnservedRow,
)
from allocator.store.rows import records
from allocator.validate import read_scenario

INPUT_FILES = (HOUSEHOLDS, LOTS, POINTS, COMMUNES, KEEP)  # keep.csv: a re-plan's, if any


def _frame(session: Session, query: Any) -> pd.DataFrame:
    """A query's rows as a frame: plain tuples from the cursor (a dict per row is slow)."""
    result = session.execute(query)
    return pd.DataFrame.from_records(result.all(), columns=list(result.keys()))


def registry_tables(session: Session) -> dict[str, pd.DataFrame]:
    """The current registry as contract tables (households include their contacts)."""
    households = _frame(session,
        select(Household.id.label("household_id"), Household.commune_code,
               Household.poverty_status, Household.members, Household.twog_handsets,
               Household.smartphones, Household.flags, Household.needs, Household.lat,
               Household.lon, HouseholdContact.head_name, HouseholdContact.phone,
               HouseholdContact.national_id)
        .outerjoin(HouseholdContact, HouseholdContact.household_id == Household.id)
        .order_by(Household.id))
    lots = _frame(session,
        select(Lot.id.label("lot_id"), Lot.sponsor_id, Sponsor.name.label("sponsor_name"),
               Lot.model, Lot.network, Lot.quantity, Lot.unit_price_vnd,
               Lot.sponsor_subsidy_vnd, Lot.features, Lot.allowed_communes,
               Lot.allowed_statuses)
        .join(Sponsor, Sponsor.id == Lot.sponsor_id).order_by(Lot.id))
    points = _frame(session,
        select(Point.id.label("point_id"), Point.name, Point.commune_code, Point.lat,
               Point.lon, Point.capacity).order_by(Point.id))
    communes = _frame(session,
        select(Commune.code.label("commune_code"), Commune.name, Commune.lat, Commune.lon)
        .order_by(Commune.code))
    return {HOUSEHOLDS: households, LOTS: lots, POINTS: points, COMMUNES: communes}


def _zip(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A zip with fixed timestamps (same files, same bytes) and a hash of the contents."""
    buffer = io.BytesIO()
    digest = hashlib.sha256()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(2025, 7, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
            digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return buffer.getvalue(), digest.hexdigest()


def table_csv(table: pd.DataFrame, columns: list[str]) -> bytes:
    table = table.reindex(columns=columns) if len(table.columns) else pd.DataFrame(
        columns=columns)
    return table.to_csv(index=False, lineterminator="\n").encode("utf-8")


def import_folder_as_round(session: Session, folder: Path, name: str, actor: str) -> Round:
    """A draft round whose inputs are a contract folder, exactly as given."""
    # Every problem at once, cells held to what the store's columns can take.
    scenario = read_scenario(folder, scenario_bounds())
    files = {n: (folder / n).read_bytes() for n in INPUT_FILES if (folder / n).exists()}
    return new_round(session, files, scenario.policy.to_json(), name, actor)


def derive_round(session: Session, round_id: int, changes: dict[str, Any], name: str,
                 actor: str) -> Round:
    """A draft variant of a round: the same frozen inputs, its policy changed (e.g. budget)."""
    base = get_round(session, round_id)
    checked, issues = parse_policy({**base.policy, **changes})
    if issues:
        raise InvalidInput(issues)
    with zipfile.ZipFile(io.BytesIO(base.inputs)) as archive:
        files = {n: archive.read(n) for n in archive.namelist() if n in INPUT_FILES}
    return new_round(session, files, checked.to_json(), name, actor, based_on=base.id)


def new_round(session: Session, files: dict[str, bytes], policy: dict[str, Any], name: str,
              actor: str, based_on: int | None = None, *, replaces: int | None = None,
              ledger: dict[str, Any] | None = None,
              also: Callable[[Session, Round], None] | None = None) -> Round:
    """A draft round over these contract files, audited; `also` runs in its transaction."""
    problem = name_problem(name, column_length(Round.name) or 200)
    if problem:
        raise InvalidInput([InputIssue("round name", 0, "name", problem)])
    files = {**files, ROUND: (json.dumps(policy, indent=1, sort_keys=True) + "\n").encode()}
    archive, digest = _zip(files)
    row = Round(name=name, status=RoundStatus.DRAFT.value, policy=policy, seed=int(policy["seed"]),
                inputs=archive, inputs_hash=digest, engine_version=__version__,
                based_on=based_on, replaces=replaces, ledger=ledger)
    try:
        session.add(row)
        session.flush()
        record(session, actor, "create round", f"round {row.id}",
               {"inputs_hash": digest, "name": name, "based_on": based_on,
                "replaces": replaces})
        if also is not None:
            also(session, row)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return row


def unpack_inputs(row: Round, folder: Path) -> Path:
    """Write the round's frozen inputs as a contract folder."""
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(row.inputs)) as archive:
        for name in archive.namelist():
            if name in INPUT_FILES or name == ROUND:
                (folder / name).write_bytes(archive.read(name))
    return folder


def get_round(session: Session, round_id: int) -> Round:
    row = session.get(Round, round_id)
    if row is None:
        raise RoundNotFound(round_id)
    return row


def solve_round(session: Session, round_id: int, actor: str,
                progress: Callable[[str], None] | None = None,
                settings: JobSettings | None = None) -> Round:
    """Solve a round here and now (the command line): queued as a job and run at once.

    The job is the same as a worker's, with a heartbeat, so a service started
    meanwhile sees the round as being solved and never starts a second solve.
    """
    settings = settings or JobSettings.from_env()
    job = request_solve(session, round_id, actor, settings)
    sessions = sessionmaker(session.get_bind(), expire_on_commit=False)
    me = worker_name("cli")
    try:
        claimed = claim(session, me, job.id)
    except (KeyboardInterrupt, SystemExit) as stop:  # stopped before the solve began
        give_up(sessions, job.id, me, f"stopped ({stop or type(stop).__name__}) before the "
                                      "solve began; solve the round again")
        raise
    if claimed is None:  # a worker took it first: it solves it, we wait and report
        return _wait_for(session, round_id, job.id)
    run(sessions, claimed, compute_results, settings, echo=progress)
    return _settled(session, round_id)


def _wait_for(session: Session, round_id: int, job_id: int) -> Round:
    while True:
        job = session.get(SolveJob, job_id, populate_existing=True)
        if job is None or job.status in ("done", "failed"):
            return _settled(session, round_id)
        session.rollback()
        time.sleep(0.5)


def _settled(session: Session, round_id: int) -> Round:
    row = fresh(session, round_id)
    if row.status == RoundStatus.FAILED:
        raise SolveFailed(f"round {round_id} failed: {row.error}")
    return row


class SolveFailed(RoundError):
    """The solve ran and ended with an error (kept on the round)."""


def compute_results(session: Session, row: Round,
                    progress: Callable[[str], None]) -> Callable[[Session], None]:
    """Solve a round from its frozen inputs; returns the step that writes its results."""
    round_id = row.id
    with tempfile.TemporaryDirectory() as tmp:
        scenario = read_scenario(unpack_inputs(row, Path(tmp)))
    problem = build_problem(scenario)
    # Of the households' table only what the stored rows carry is held through the solve
    # (the rest, names and addresses among it, is hundreds of MB in a national round).
    about = scenario.households.set_index("household_id")[
        ["commune_code", "poverty_status", "flags"]]
    communes, lots, points = scenario.communes, scenario.lots, scenario.points
    del scenario
    allocation = solve(problem, progress=progress)
    allocations = allocations_frame(problem, allocation)
    unserved = unserved_frame(problem, allocation)
    data = summary(problem, allocation, {})
    figures = dashboard(problem, allocation, communes, lots, points, unserved)
    served_rows = records(allocations.join(about, on="household_id").assign(round_id=round_id))
    unserved_rows = records(unserved.assign(round_id=round_id))

    def write(session: Session) -> None:
        session.execute(delete(AllocationRow).where(AllocationRow.round_id == round_id))
        session.execute(delete(UnservedRow).where(UnservedRow.round_id == round_id))
        if served_rows:
            session.execute(insert(AllocationRow), served_rows)
        if unserved_rows:
            session.execute(insert(UnservedRow), unserved_rows)
        session.execute(update(Round).where(Round.id == round_id).values(
            summary=data, dashboard=figures, solver_version=str(data.get("solver", "")))
            .execution_options(synchronize_session=False))

    return write


def export_round(session: Session, round_id: int, folder: Path) -> Path:
    """The round's inputs and, once solved, its result files, as the engine writes them."""
    row = get_round(session, round_id)
    unpack_inputs(row, folder)
    if row.status in WITH_RESULTS:
        allocations = pd.DataFrame(session.execute(
            select(AllocationRow.household_id, AllocationRow.lot_id, AllocationRow.sponsor_id,
                   AllocationRow.point_id, AllocationRow.priority_weight,
                   AllocationRow.public_cost_vnd, AllocationRow.copay_vnd,
                   AllocationRow.distance_km)
            .where(AllocationRow.round_id == round_id)
            .order_by(AllocationRow.household_id)).mappings().all(),
            columns=["household_id", "lot_id", "sponsor_id", "point_id", "priority_weight",
                     "public_cost_vnd", "copay_vnd", "distance_km"])
        unserved = pd.DataFrame(session.execute(
            select(UnservedRow.household_id, UnservedRow.reason, UnservedRow.detail)
            .where(UnservedRow.round_id == round_id)
            .order_by(UnservedRow.household_id)).mappings().all(),
            columns=["household_id", "reason", "detail"])
        write_result(folder / "result", allocations, unserved, row.summary or {},
                     row.dashboard)
    return folder


def replay_round(session: Session, round_id: int, folder: Path) -> bool:
    """Solve the frozen inputs again; True if allocations and unserved are byte-identical."""
    row = get_round(session, round_id)
    export_round(session, round_id, folder / "stored")
    inputs = unpack_inputs(row, folder / "inputs")
    problem = build_problem(read_scenario(inputs))
    allocation = solve(problem)
    write_result(folder / "replayed", allocations_frame(problem, allocation),
                 unserved_frame(problem, allocation), {})
    return all((folder / "stored" / "result" / n).read_bytes() ==
               (folder / "replayed" / n).read_bytes() for n in (ALLOCATIONS, UNSERVED))



class NotAllocated(RoundError):
    """A handover names a household that this round did not allocate."""


def record_handovers(session: Session, round_id: int, household_ids: list[str],
                     actor: str) -> int:
    """Mark households of an approved round as having collected their phone.

    Allowed until the round is closed, also after its pickup deadline (a late
    collection is still a collection).

    All or nothing: an id that was not allocated in this round, or whose reservation
    was released (the household refused its phone at the point), is an error.
    Returns how many were newly marked (a repeat is harmless).
    """
    # The ledger's lock first, as the point desk takes it: a refusal recorded there at
    # the same moment cannot be overwritten by a handover here.
    ledger.lock(session)
    # Holding the round's row (status unchanged) keeps it approved until we commit.
    held = session.execute(update(Round).where(Round.id == round_id,
                                               Round.status.in_([s.value for s in PICKING_UP]))
                           .values(status=Round.status)
                           .execution_options(synchronize_session=False))
    if held.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        require(session, round_id, PICKING_UP, "given handovers")
    wanted = list(dict.fromkeys(household_ids))
    found: dict[str, AllocationRow] = {}
    for start in range(0, len(wanted), 10_000):  # PostgreSQL takes 65,535 parameters at most
        found.update({a.household_id: a for a in session.scalars(select(AllocationRow).where(
            AllocationRow.round_id == round_id,
            AllocationRow.household_id.in_(wanted[start:start + 10_000]))
            .execution_options(populate_existing=True))})
    missing = [h for h in wanted if h not in found]
    if missing:
        session.rollback()
        raise NotAllocated(f"not allocated in round {round_id}: {', '.join(missing[:5])}")
    released = [h for h in wanted if found[h].released_at is not None]
    if released:
        session.rollback()
        raise NotAllocated(f"released in round {round_id} (refused at the point): "
                           f"{', '.join(released[:5])}")
    now = dt.datetime.now(dt.UTC)
    newly = 0
    for household in wanted:
        if found[household].handed_over_at is None:
            found[household].handed_over_at = now
            newly += 1
    session.flush()
    try:
        ledger.check(session, round_id)
    except ledger.LedgerConflict:
        session.rollback()
        raise
    record(session, actor, "record handovers", f"round {round_id}",
           {"households": len(wanted), "new": newly})
    session.commit()
    return newly
