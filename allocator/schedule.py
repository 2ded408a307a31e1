"""The pickup schedule: which window at its point each allocated household is told to come in.

Rules, each applied only as far as the ones before allow:
1. no window takes more households than its capacity;
2. on a re-plan, a household keeps its window when its point is unchanged and
   the window still exists with room (households were told; a new time is a
   missed pickup);
3. households flagged `elderly_alone` or `disability` get the earliest morning
   windows (starting before 12:00) left; only when every morning window of their
   point is full do they go to other windows, still ahead of the rest;
4. when a point's windows cannot hold all its households, the ones left over
   are returned with a reason, never dropped: priority households are placed
   before the others, then by household_id;
5. the rest fill the earliest windows with room, households of one commune
   (in code order) one after another, so they share a window or have
   consecutive ones; this only reorders households already chosen, so it never
   changes how many are placed.

The same allocations, windows and previous schedule give the same schedule,
whatever their row order (ties are broken by household_id).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from allocator.windows import FRAME_COLUMNS, NOON, empty_windows, point_windows

PRIORITY_FLAGS = ("elderly_alone", "disability")
ASSIGNED_COLUMNS = ("household_id", "point_id", "date", "start", "end")
UNPLACED_COLUMNS = ("household_id", "point_id", "reason", "detail")
NO_WINDOW = "no_window"  # the point has no pickup window at all
WINDOWS_FULL = "windows_full"  # the point's windows hold fewer households than it was given
_KEY = ["point_id", "date", "start", "end"]


class Window(NamedTuple):
    date: dt.date
    start: dt.time
    end: dt.time


@dataclass
class Schedule:
    """A schedule: each placed household's window, and the ones that did not fit.

    `windows` is every window offered with `used`, the households it was given.
    """

    assigned: pd.DataFrame  # ASSIGNED_COLUMNS, sorted by household_id
    unplaced: pd.DataFrame  # UNPLACED_COLUMNS, sorted by household_id
    windows: pd.DataFrame  # FRAME_COLUMNS + used, by point and time
    kept: int  # households that kept their previous window


def schedule(allocations: pd.DataFrame, first_day: dt.date, deadline: dt.date,
             windows: pd.DataFrame | None = None, capacity: Mapping[str, int] | None = None,
             previous: pd.DataFrame | Mapping[str, tuple[str, Window]] | None = None,
             closed: Collection[dt.date] = ()) -> Schedule:
    """Schedule an approved round's allocations over the pickup period.

    Points with rows in `windows` (as `read_windows` gives them) use those; the
    others get the default windows, holding `capacity[point]` households in all,
    or the number of households allocated there when `capacity` does not name it.
    """
    counts = allocations["point_id"].value_counts()
    capacity = capacity or {}
    wanted = {str(p): int(capacity.get(str(p), n)) for p, n in counts.items()}
    offered = point_windows(wanted, first_day, deadline, windows, closed)
    return assign(allocations, offered, previous)


def assign(allocations: pd.DataFrame, windows: pd.DataFrame,
           previous: pd.DataFrame | Mapping[str, tuple[str, Window]] | None = None
           ) -> Schedule:
    """Give each allocation (household_id, point_id; commune_code and flags optional)
    one of `windows` (point_id, date, start, end, capacity) at its point.

    `previous` is the schedule being re-planned: its `assigned` frame, or
    household_id -> (point_id, Window).
    """
    hh = _households(allocations)
    win = _windows(windows)
    codes, names = pd.factorize(pd.concat([win["point_id"], hh["point_id"]], ignore_index=True),
                                sort=True)
    points = pd.Index(names)
    win_point, hh_point = codes[:len(win)], codes[len(win):]
    order = np.lexsort((win["end_min"], win["start_min"], win["day"], win_point))
    win, win_point = win.iloc[order].reset_index(drop=True), win_point[order]
    keys = _window_keys(win_point, win)
    if len(keys) > 1 and (keys[1:] == keys[:-1]).any():
        twice = win.iloc[int(np.flatnonzero(keys[1:] == keys[:-1])[0])]
        raise ValueError(f"window {tuple(twice[_KEY])} is given twice")

    room = win["capacity"].to_numpy(np.int64).copy()
    at = np.full(len(hh), -1, np.int64)  # each household's window (row of `win`), -1 = none yet
    priority = hh["priority"].to_numpy(bool)

    kept_rows, kept_at = _keep(hh, hh_point, points, keys, _previous(previous), room, priority)
    at[kept_rows] = kept_at
    np.subtract.at(room, kept_at, 1)

    # Who gets a place when a point is short: priority households, then by household_id.
    free = np.flatnonzero(at < 0)
    ranked = free[np.lexsort((free, ~priority[free], hh_point[free]))]
    total = np.bincount(win_point, weights=room, minlength=len(points)).astype(np.int64)
    placed = np.sort(ranked[_rank_in_group(hh_point[ranked]) < total[hh_point[ranked]]])

    commune = hh["commune"].to_numpy(np.int64)
    first = placed[priority[placed]]
    first = first[np.lexsort((first, commune[first], hh_point[first]))]
    morning = win["morning"].to_numpy(bool)
    got = _fill(hh_point[first], win_point, np.where(morning, room, 0))
    at[first[got >= 0]] = got[got >= 0]
    np.subtract.at(room, got[got >= 0], 1)

    rest = placed[at[placed] < 0]  # priority households mornings could not hold, then the others
    rest = rest[np.lexsort((rest, commune[rest], ~priority[rest], hh_point[rest]))]
    got = _fill(hh_point[rest], win_point, room)
    if (got < 0).any():
        raise AssertionError("a household chosen to be placed found no room")  # a bug
    at[rest] = got
    np.subtract.at(room, got, 1)

    return _result(hh, hh_point, win, win_point, points, at, len(kept_rows), room)


def priority_flags(flags: pd.Series) -> np.ndarray:
    """True where a flags cell (items split by ';', ',' or spaces) names a priority flag."""
    codes, cells = pd.factorize(flags.fillna("").astype(str))
    wanted = set(PRIORITY_FLAGS)
    found = [bool(wanted & {w.lower().replace("-", "_")
                            for w in cell.replace(";", " ").replace(",", " ").split()})
             for cell in cells]
    return np.array(found + [False], bool)[codes]  # code -1 (none) reads the last


def _households(allocations: pd.DataFrame) -> pd.DataFrame:
    """The allocations sorted by household_id, with a priority mark and a commune rank."""
    for column in ("household_id", "point_id"):
        if column not in allocations.columns:
            raise ValueError(f"allocations need a {column} column")
    ids = allocations["household_id"].astype(str).to_numpy(object)
    order = np.argsort(ids.astype(str), kind="stable")  # fixed-width text sorts fast
    ids = ids[order]
    if len(ids) > 1 and (ids[1:] == ids[:-1]).any():
        twice = ids[1:][ids[1:] == ids[:-1]][0]
        raise ValueError(f"household {twice!r} is allocated twice")
    communes = (allocations["commune_code"].fillna("").astype(str)
                if "commune_code" in allocations.columns
                else pd.Series("", index=allocations.index, dtype=object))
    flags = (allocations["flags"] if "flags" in allocations.columns
             else pd.Series("", index=allocations.index, dtype=object))
    return pd.DataFrame({
        "household_id": ids,
        "point_id": allocations["point_id"].astype(str).to_numpy(object)[order],
        "priority": priority_flags(flags)[order],
        "commune": pd.factorize(communes, sort=True)[0][order],
    })


def _windows(windows: pd.DataFrame) -> pd.DataFrame:
    """The windows with dates and times as objects and as whole numbers, and a morning mark."""
    win = windows[list(FRAME_COLUMNS)].copy() if len(windows) else empty_windows()
    win["point_id"] = win["point_id"].astype(str)
    _as_window_times(win)
    win["capacity"] = win["capacity"].astype(np.int64)
    if (win["capacity"] < 0).any():
        raise ValueError("a window's capacity must be >= 0")
    _add_numbers(win)
    if (win["end_min"] <= win["start_min"]).any():
        raise ValueError("a window must end after it starts")
    win["morning"] = (win["start"] < NOON).astype(bool)
    return win


def _add_numbers(frame: pd.DataFrame) -> None:
    """Day (ordinal), start and end (minutes after midnight) as whole numbers."""
    frame["day"] = _mapped(frame["date"], lambda d: d.toordinal())
    for column in ("start", "end"):
        frame[f"{column}_min"] = _mapped(frame[column], lambda t: t.hour * 60 + t.minute)


def _mapped(values: pd.Series, convert: Callable[[Any], int]) -> np.ndarray:
    codes, uniques = pd.factorize(values)
    return np.array([convert(u) for u in uniques] + [0], np.int64)[codes]


def _window_keys(point: np.ndarray, win: pd.DataFrame) -> np.ndarray:
    """One whole number per window: point, day, start and end packed into 63 bits."""
    return ((point.astype(np.int64) << 42) | (win["day"].to_numpy(np.int64) << 22)
            | (win["start_min"].to_numpy(np.int64) << 11) | win["end_min"].to_numpy(np.int64))


def _previous(previous: pd.DataFrame | Mapping[str, tuple[str, Window]] | None
              ) -> pd.DataFrame:
    if previous is None:
        previous = pd.DataFrame(columns=list(ASSIGNED_COLUMNS))
    elif isinstance(previous, Mapping):
        previous = pd.DataFrame([(h, p, *w) for h, (p, w) in previous.items()],
                                columns=list(ASSIGNED_COLUMNS))
    frame = previous[list(ASSIGNED_COLUMNS)].copy()
    frame["household_id"] = frame["household_id"].astype(str)
    frame["point_id"] = frame["point_id"].astype(str)
    if frame["household_id"].duplicated().any():
        raise ValueError("a household appears twice in the previous schedule")
    _as_window_times(frame)
    _add_numbers(frame)
    return frame


def _as_window_times(frame: pd.DataFrame) -> None:
    """Dates and times as datetime.date and datetime.time, also when given as text or
    timestamps (as a store may return them), so that equal windows compare equal."""
    for column, convert in (("date", _as_day), ("start", _as_clock), ("end", _as_clock)):
        codes, uniques = pd.factorize(frame[column])
        frame[column] = np.array([convert(u) for u in uniques] + [None], object)[codes]


def _as_day(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _as_clock(value: object) -> dt.time:
    if isinstance(value, dt.time):
        return value
    return dt.time.fromisoformat(str(value))


def _keep(hh: pd.DataFrame, hh_point: np.ndarray, points: pd.Index, keys: np.ndarray,
          previous: pd.DataFrame, room: np.ndarray, priority: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """Households (rows of `hh`) keeping their previous window, and those windows.

    Where a window shrank below the households it held, priority households keep
    theirs first, then by household_id.
    """
    none = np.zeros(0, np.int64)
    if previous.empty or not len(keys):
        return none, none
    row = pd.Index(hh["household_id"]).get_indexer(pd.Index(previous["household_id"]))
    point = points.get_indexer(pd.Index(previous["point_id"]))
    window = pd.Index(keys).get_indexer(_window_keys(np.maximum(point, 0), previous))
    same = (row >= 0) & (point >= 0) & (window >= 0)
    same[same] = hh_point[row[same]] == point[same]
    row, window = row[same].astype(np.int64), window[same].astype(np.int64)
    order = np.lexsort((row, ~priority[row], window))
    row, window = row[order], window[order]
    fits = _rank_in_group(window) < room[window]
    return row[fits], window[fits]


def _rank_in_group(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2 ... within each run of equal values of a sorted array."""
    if not len(groups):
        return np.zeros(0, np.int64)
    starts = np.r_[0, np.flatnonzero(groups[1:] != groups[:-1]) + 1]
    sizes = np.diff(np.r_[starts, len(groups)])
    return np.arange(len(groups)) - np.repeat(starts, sizes)


def _fill(points: np.ndarray, win_point: np.ndarray, room: np.ndarray) -> np.ndarray:
    """Place households (given by their point, in the order to place them) in turn into
    the earliest window of their point with room; -1 for those left without one.

    Windows come sorted by point then time, so a point's places are one run of
    the windows' cumulative room and the k-th household of a point takes place k.
    """
    got = np.full(len(points), -1, np.int64)
    if not len(points) or not len(room):
        return got
    order = np.argsort(points, kind="stable")
    rank = np.empty(len(points), np.int64)
    rank[order] = _rank_in_group(points[order])
    reach = np.cumsum(room)
    n_points = max(int(points.max()), int(win_point.max())) + 1
    total = np.bincount(win_point, weights=room, minlength=n_points).astype(np.int64)
    before = np.zeros(n_points, np.int64)
    first = np.r_[0, np.flatnonzero(win_point[1:] != win_point[:-1]) + 1]
    before[win_point[first]] = reach[first] - room[first]
    fits = rank < total[points]
    got[fits] = np.searchsorted(reach, before[points[fits]] + rank[fits], side="right")
    return got


def _result(hh: pd.DataFrame, hh_point: np.ndarray, win: pd.DataFrame, win_point: np.ndarray,
            points: pd.Index, at: np.ndarray, kept: int, room: np.ndarray) -> Schedule:
    done = at >= 0
    where = at[done]
    assigned = pd.DataFrame({
        "household_id": hh["household_id"].to_numpy(object)[done],
        "point_id": hh["point_id"].to_numpy(object)[done],
        "date": win["date"].to_numpy(object)[where],
        "start": win["start"].to_numpy(object)[where],
        "end": win["end"].to_numpy(object)[where],
    })
    left = np.flatnonzero(~done)
    n = len(points)
    windows_at = np.bincount(win_point, minlength=n)
    places_at = np.bincount(win_point, weights=win["capacity"], minlength=n).astype(np.int64)
    given_at = np.bincount(hh_point, minlength=n)
    details = {}
    for code in np.unique(hh_point[left]):
        name = points[code]
        if windows_at[code]:
            details[code] = (WINDOWS_FULL, f"the {windows_at[code]} windows of point {name} "
                                           f"hold {places_at[code]} households; "
                                           f"{given_at[code]} were allocated there")
        else:
            details[code] = (NO_WINDOW, f"point {name} has no pickup window")
    unplaced = pd.DataFrame({
        "household_id": hh["household_id"].to_numpy(object)[left],
        "point_id": hh["point_id"].to_numpy(object)[left],
        "reason": [details[c][0] for c in hh_point[left]],
        "detail": [details[c][1] for c in hh_point[left]],
    }, columns=list(UNPLACED_COLUMNS))
    windows = win[list(FRAME_COLUMNS)].copy()
    windows["used"] = win["capacity"].to_numpy(np.int64) - room
    return Schedule(assigned, unplaced, windows, kept)
