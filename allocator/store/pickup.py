"""Pickup codes and windows, given to a round's allocations when it is approved.

Every allocation gets a code (allocator.pickup_codes: random, unique in the
campaign) and, where its point has room, a window (allocator.schedule) between
the day after approval and the pickup deadline, both Vietnam days.

Windows: a point with rows in `pickup_windows` (windows.csv) uses its rows in
the pickup period; their capacity is physical, so what other approved rounds
already hold in a window is taken off it. Every other point gets the default
windows, holding the point's capacity from the round's frozen inputs (or the
households allocated there, if more), spread over the period.

A re-plan version keeps what households were told: a household allocated in
both keeps its code, and keeps its window when its point is unchanged and the
window still exists with room. Households that do not fit keep no window; they
are counted and reported, never dropped.

Everything here reads and writes explicit columns through SQLAlchemy Core on a
connection, so the migration that gives codes to rounds approved before codes
existed runs the same code on the schema of its time.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from allocator.contract import POINTS
from allocator.pickup_codes import draw_codes
from allocator.schedule import Schedule, assign
from allocator.store.audit import record
from allocator.windows import FRAME_COLUMNS, default_windows, empty_windows

ACTION = "give pickup codes and windows"
_LIVE = ("approved", "pickup_over")  # rounds whose households are still being served

# The columns this module touches, as of migration 0007 (later columns are not read).
allocations = sa.table(
    "allocations",
    sa.column("round_id", sa.Integer), sa.column("household_id", sa.String),
    sa.column("point_id", sa.String), sa.column("commune_code", sa.String),
    sa.column("flags", sa.String), sa.column("handed_over_at", sa.DateTime),
    sa.column("released_at", sa.DateTime), sa.column("pickup_code", sa.String),
    sa.column("window_day", sa.Date), sa.column("window_start", sa.Time),
    sa.column("window_end", sa.Time))
rounds = sa.table("rounds", sa.column("id", sa.Integer), sa.column("status", sa.String),
                  sa.column("replaces", sa.Integer), sa.column("inputs", sa.LargeBinary))
pickup_windows = sa.table(
    "pickup_windows", sa.column("point_id", sa.String), sa.column("day", sa.Date),
    sa.column("opens", sa.Time), sa.column("closes", sa.Time), sa.column("capacity", sa.Integer))


@dataclass(frozen=True)
class PickupReport:
    """What approval gave a round's households: codes, windows, and who found no window."""

    round_id: int
    first_day: dt.date
    last_day: dt.date
    households: int
    codes_drawn: int  # new codes
    codes_kept: int  # codes carried over from the round a re-plan replaces
    windows: int  # households given a window
    windows_kept: int  # of them, the window they had in the replaced round
    without_window: int
    without_window_by_point: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)  # schedule.NO_WINDOW, WINDOWS_FULL

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["first_day"], data["last_day"] = self.first_day.isoformat(), \
            self.last_day.isoformat()
        return data


def give(session: Session, round_id: int, first_day: dt.date, last_day: dt.date,
         actor: str = "system") -> PickupReport:
    """Give the round's allocations codes and windows, in the caller's transaction, audited.

    `first_day` and `last_day` are the pickup period (Vietnam days, both included).
    """
    report = give_on(session.connection(), round_id, first_day, last_day)
    record(session, actor, ACTION, f"round {round_id}", report.to_json())
    return report


def give_on(connection: sa.Connection, round_id: int, first_day: dt.date,
            last_day: dt.date) -> PickupReport:
    """`give` without the audit entry, on a bare connection (also used by a migration)."""
    row = connection.execute(sa.select(rounds.c.replaces, rounds.c.inputs)
                             .where(rounds.c.id == round_id)).one()
    replaces, inputs = row[0], row[1]
    mine = _frame(connection, sa.select(
        allocations.c.household_id, allocations.c.point_id, allocations.c.commune_code,
        allocations.c.flags).where(allocations.c.round_id == round_id))
    before = _frame(connection, sa.select(
        allocations.c.household_id, allocations.c.point_id, allocations.c.pickup_code,
        allocations.c.window_day, allocations.c.window_start, allocations.c.window_end)
        .where(allocations.c.round_id == replaces)) if replaces is not None else None

    codes, carried = _codes(connection, mine, before)
    offered = _offered(connection, mine, round_id, replaces, _capacity(inputs),
                       first_day, last_day)
    previous = None
    if before is not None:
        told = before.dropna(subset=["window_day", "window_start", "window_end"])
        previous = pd.DataFrame({"household_id": told["household_id"],
                                 "point_id": told["point_id"], "date": told["window_day"],
                                 "start": told["window_start"], "end": told["window_end"]})
    plan = assign(mine, offered, previous)

    if carried and replaces is not None:
        # Free the codes first: the unique index is checked row by row on PostgreSQL.
        connection.execute(sa.update(allocations).where(
            allocations.c.round_id == replaces, allocations.c.household_id.in_(
                sa.select(allocations.c.household_id)
                .where(allocations.c.round_id == round_id).scalar_subquery()))
            .values(pickup_code=None))
    _write(connection, round_id, mine, codes, plan)
    return _report(round_id, first_day, last_day, len(mine), len(carried), plan)


def _frame(connection: sa.Connection, query: Any) -> pd.DataFrame:
    result = connection.execute(query)
    rows = [tuple(row) for row in result.all()]  # pandas reads plain tuples faster than rows
    return pd.DataFrame(rows, columns=list(result.keys()))


def _codes(connection: sa.Connection, mine: pd.DataFrame,
           before: pd.DataFrame | None) -> tuple[dict[str, str], list[str]]:
    """Each household's code, and the households carrying theirs over from `before`."""
    codes: dict[str, str] = {}
    if before is not None and len(before):
        told = before.dropna(subset=["pickup_code"])
        old = dict(zip(told["household_id"], told["pickup_code"], strict=True))
        codes = {h: old[h] for h in mine["household_id"] if h in old}
    carried = sorted(codes)
    fresh = [h for h in mine["household_id"] if h not in codes]
    existing = set(connection.execute(sa.select(allocations.c.pickup_code).where(
        allocations.c.pickup_code.is_not(None))).scalars())
    codes.update(zip(fresh, draw_codes(len(fresh), existing), strict=True))
    return codes, carried


def _capacity(inputs: bytes | None) -> dict[str, int]:
    """Each point's capacity in the round's frozen inputs."""
    if not inputs:
        return {}
    with zipfile.ZipFile(io.BytesIO(inputs)) as archive:
        if POINTS not in archive.namelist():
            return {}
        points = pd.read_csv(io.BytesIO(archive.read(POINTS)), dtype=str,
                             keep_default_na=False)
    capacity = pd.to_numeric(points.get("capacity", pd.Series(dtype=str)), errors="coerce")
    return {str(p): int(c) for p, c in zip(points.get("point_id", []), capacity, strict=True)
            if pd.notna(c)}


def _offered(connection: sa.Connection, mine: pd.DataFrame, round_id: int,
             replaces: int | None, capacity: dict[str, int], first_day: dt.date,
             last_day: dt.date) -> pd.DataFrame:
    """The windows the round's households may be given, with the room they have left."""
    counts = mine["point_id"].value_counts()
    points = sorted(str(p) for p in counts.index)
    listed = _frame(connection, sa.select(
        pickup_windows.c.point_id, pickup_windows.c.day.label("date"),
        pickup_windows.c.opens.label("start"), pickup_windows.c.closes.label("end"),
        pickup_windows.c.capacity))
    own = set(listed["point_id"]) if len(listed) else set()
    if len(listed):
        listed = listed[listed["point_id"].isin(points)
                        & (listed["date"].map(_day) >= first_day)
                        & (listed["date"].map(_day) <= last_day)]
        listed = _less_held_elsewhere(connection, listed, round_id, replaces)
    wanted = {p: max(capacity.get(p, 0), int(counts[p])) for p in points if p not in own}
    parts = [p for p in (listed[list(FRAME_COLUMNS)] if len(listed) else empty_windows(),
                         default_windows(wanted, first_day, last_day)) if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else empty_windows()


def _less_held_elsewhere(connection: sa.Connection, listed: pd.DataFrame, round_id: int,
                         replaces: int | None) -> pd.DataFrame:
    """Listed windows with what other approved rounds' waiting households hold taken off.

    The replaced round is left out: its households are the ones being re-planned.
    """
    if not len(listed):
        return listed
    others = [round_id] + ([replaces] if replaces is not None else [])
    held = _frame(connection, sa.select(
        allocations.c.point_id, allocations.c.window_day, allocations.c.window_start,
        sa.func.count().label("held"))
        .join(rounds, rounds.c.id == allocations.c.round_id)
        .where(rounds.c.status.in_(_LIVE), allocations.c.round_id.not_in(others),
               allocations.c.handed_over_at.is_(None), allocations.c.released_at.is_(None),
               allocations.c.window_day.is_not(None),
               allocations.c.point_id.in_(sorted(set(listed["point_id"]))))
        .group_by(allocations.c.point_id, allocations.c.window_day, allocations.c.window_start))
    if not len(held):
        return listed
    key = pd.MultiIndex.from_arrays([held["point_id"], held["window_day"].map(_day),
                                     held["window_start"].map(_clock)])
    taken = pd.Series(held["held"].to_numpy(np.int64), index=key)
    at = pd.MultiIndex.from_arrays([listed["point_id"], listed["date"].map(_day),
                                    listed["start"].map(_clock)])
    used = taken.reindex(at).fillna(0).to_numpy(np.int64)
    return listed.assign(capacity=np.maximum(listed["capacity"].to_numpy(np.int64) - used, 0))


def _day(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _clock(value: Any) -> dt.time:
    return value if isinstance(value, dt.time) else dt.time.fromisoformat(str(value))


def _write(connection: sa.Connection, round_id: int, mine: pd.DataFrame,
           codes: dict[str, str], plan: Schedule) -> None:
    at = plan.assigned.set_index("household_id").reindex(mine["household_id"])
    rows = [(h, codes[h], d if isinstance(d, dt.date) else None,
             s if isinstance(s, dt.time) else None, e if isinstance(e, dt.time) else None)
            for h, d, s, e in zip(mine["household_id"], at["date"], at["start"], at["end"],
                                  strict=True)]
    _update(connection, round_id, rows)


WRITTEN = ("household_id", "pickup_code", "window_day", "window_start", "window_end")


def _update(connection: sa.Connection, round_id: int, rows: list[tuple[Any, ...]]) -> None:
    """Set code and window of the round's allocations, one row (WRITTEN) per household.

    Through the driver, as allocator.store.bulk writes: a city's round is 250,000
    rows, and building SQLAlchemy parameters for each costs more than the update.
    """
    if not rows:
        return
    dialect = connection.dialect
    raw = connection.connection.dbapi_connection
    assert raw is not None
    if dialect.name == "postgresql":
        # COPY into a scratch table, then one UPDATE ... FROM.
        connection.exec_driver_sql(
            "CREATE TEMP TABLE IF NOT EXISTS pickup_given (household_id varchar(64), "
            "pickup_code varchar(8), window_day date, window_start time, window_end time) "
            "ON COMMIT DROP")
        connection.exec_driver_sql("TRUNCATE pickup_given")
        with raw.cursor() as cursor, cursor.copy(  # type: ignore[attr-defined]
                f"COPY pickup_given ({', '.join(WRITTEN)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        connection.execute(sa.text(
            "UPDATE allocations AS a SET pickup_code = g.pickup_code, window_day = g.window_day, "
            "window_start = g.window_start, window_end = g.window_end FROM pickup_given AS g "
            "WHERE a.round_id = :round AND a.household_id = g.household_id"),
            {"round": round_id})
        # A table just filled by a solve may have no statistics yet; rewritten here, it
        # would lead the ledger's check, in this transaction, to plans taking minutes.
        connection.exec_driver_sql("ANALYZE allocations")
        return
    if dialect.name != "sqlite":
        named = [dict(zip(("_code", "_day", "_start", "_end", "_household"),
                          (*row[1:], row[0]), strict=True)) for row in rows]
        connection.execute(sa.update(allocations).where(
            allocations.c.round_id == round_id,
            allocations.c.household_id == sa.bindparam("_household")).values(
            pickup_code=sa.bindparam("_code"), window_day=sa.bindparam("_day"),
            window_start=sa.bindparam("_start"), window_end=sa.bindparam("_end")), named)
        return
    processors = [allocations.c[c].type.dialect_impl(dialect).bind_processor(dialect)
                  for c in WRITTEN]
    seen: dict[tuple[int, Any], Any] = {}  # few distinct days and times: convert each once

    def value(at: int, given: Any) -> Any:
        process = processors[at]
        if process is None or given is None:
            return given
        if (at, given) not in seen:
            seen[at, given] = process(given)
        return seen[at, given]

    params = [(*(value(i, v) for i, v in enumerate(row[1:], 1)), round_id, row[0])
              for row in rows]
    sql = ("UPDATE allocations SET pickup_code = ?, window_day = ?, window_start = ?, "
           "window_end = ? WHERE round_id = ? AND household_id = ?")
    cursor = raw.cursor()
    try:
        cursor.executemany(sql, params)
    finally:
        cursor.close()


def _report(round_id: int, first_day: dt.date, last_day: dt.date, households: int,
            carried: int, plan: Schedule) -> PickupReport:
    left = plan.unplaced
    return PickupReport(
        round_id=round_id, first_day=first_day, last_day=last_day, households=households,
        codes_drawn=households - carried, codes_kept=carried, windows=len(plan.assigned),
        windows_kept=plan.kept, without_window=len(left),
        without_window_by_point={str(p): int(n) for p, n in
                                 left["point_id"].value_counts().sort_index().items()},
        reasons={str(r): int(n) for r, n in left["reason"].value_counts().sort_index().items()})


def without_window(session: Session, round_id: int) -> int:
    """Households of the round told no window yet (their point's windows were full)."""
    return int(session.execute(sa.select(sa.func.count()).select_from(allocations).where(
        allocations.c.round_id == round_id, allocations.c.pickup_code.is_not(None),
        allocations.c.window_day.is_(None))).scalar() or 0)
