"""Pickup windows: when each distribution point hands phones over, and how many per window.

A point either lists its windows in `windows.csv` (point_id, date, start, end,
capacity) or gets the default: every weekday of the pickup period, 08:00–11:00
and 14:00–17:00, its capacity spread evenly over those windows.

Windows are frames with columns point_id (text), date (datetime.date), start
and end (datetime.time) and capacity (int), one row per window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.contract import Column
from allocator.issues import InputIssue, InvalidInput, IssueLog
from allocator.validate import add_located, check_table, read_table

WINDOWS = "windows.csv"
WINDOW_COLUMNS = (
    Column("point_id", "text"),
    Column("date", "text"),
    Column("start", "text"),
    Column("end", "text"),
    Column("capacity", "int0"),
)
FRAME_COLUMNS = ("point_id", "date", "start", "end", "capacity")
DEFAULT_TIMES = ((dt.time(8, 0), dt.time(11, 0)), (dt.time(14, 0), dt.time(17, 0)))
NOON = dt.time(12, 0)  # a window starting before it is a morning window

_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TIME = r"(?P<h>[01]?[0-9]|2[0-3]):(?P<m>[0-5][0-9])(?::00)?"  # Excel may add ':00' seconds


def empty_windows() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=np.int64 if c == "capacity" else object)
                         for c in FRAME_COLUMNS})


def default_windows(capacity: Mapping[str, int], first_day: dt.date, deadline: dt.date,
                    closed: Collection[dt.date] = ()) -> pd.DataFrame:
    """The default windows of each point in `capacity` (point_id -> handovers).

    Every weekday from `first_day` to `deadline` (both included) not in `closed`
    gets both default windows; each window of a point takes ceil(capacity / windows),
    so that the point's capacity always fits.
    """
    days = [first_day + dt.timedelta(days=i) for i in range((deadline - first_day).days + 1)]
    days = [d for d in days if d.weekday() < 5 and d not in closed]
    slots = [(d, start, end) for d in days for start, end in DEFAULT_TIMES]
    points = sorted(capacity)
    if not slots or not points:
        return empty_windows()
    per_window = np.array([-(-int(capacity[p]) // len(slots)) for p in points], np.int64)
    if (per_window < 0).any():
        raise ValueError("a point's capacity must be >= 0")
    n = len(slots)
    dates, starts, ends = (np.array([s[i] for s in slots], object) for i in range(3))
    return pd.DataFrame({
        "point_id": np.repeat(np.array(points, object), n),
        "date": np.tile(dates, len(points)),
        "start": np.tile(starts, len(points)),
        "end": np.tile(ends, len(points)),
        "capacity": np.repeat(per_window, n),
    })


def point_windows(capacity: Mapping[str, int], first_day: dt.date, deadline: dt.date,
                  given: pd.DataFrame | None = None,
                  closed: Collection[dt.date] = ()) -> pd.DataFrame:
    """Each point's windows: its own rows of `given` if it has any, else the default ones."""
    given = empty_windows() if given is None else given
    own = set(given["point_id"])
    rest = {p: c for p, c in capacity.items() if p not in own}
    parts = [given[list(FRAME_COLUMNS)], default_windows(rest, first_day, deadline, closed)]
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_windows()
    return pd.concat(parts, ignore_index=True)


def read_windows(path: Path | str, points: Collection[str] | None = None,
                 first_day: dt.date | None = None, deadline: dt.date | None = None,
                 name: str = WINDOWS) -> pd.DataFrame:
    """Read and check a windows file (UTF-8, with or without a BOM).

    A missing file gives no windows (every point then gets the default ones).
    Raise InvalidInput locating every problem: a bad date or time, an end not
    after its start, a negative capacity, a point not in `points` (when given),
    a day outside the pickup period (when given), and a window given twice or
    overlapping another of the same point and day. The frame is indexed by
    spreadsheet row (header = row 1).
    """
    issues: list[InputIssue] = IssueLog()
    path = Path(path)
    if not path.exists():
        return empty_windows()
    table = read_table(path, WINDOW_COLUMNS, issues, optional=True)
    return _checked(table, issues, name, points, first_day, deadline)


def check_windows(raw: pd.DataFrame, points: Collection[str] | None = None,
                  first_day: dt.date | None = None, deadline: dt.date | None = None,
                  name: str = WINDOWS) -> pd.DataFrame:
    """As `read_windows`, for a table of text cells already read (e.g. from a workbook)."""
    issues: list[InputIssue] = IssueLog()
    table = check_table(raw, WINDOW_COLUMNS, name, issues)
    return _checked(table, issues, name, points, first_day, deadline)


def checked_windows(table: pd.DataFrame | None, issues: list[InputIssue],
                    points: Collection[str] | None = None, name: str = WINDOWS) -> pd.DataFrame:
    """As `read_windows`, for a table already checked cell by cell (`validate.check_all`,
    indexed by spreadsheet row, as a CSV or a workbook is read); None if it could not be."""
    return _checked(table, issues, name, points, None, None)


def _checked(table: pd.DataFrame | None, issues: list[InputIssue], name: str,
             points: Collection[str] | None, first_day: dt.date | None,
             deadline: dt.date | None) -> pd.DataFrame:
    if table is None:
        raise InvalidInput(issues)
    days = _dates(table["date"], name, issues)
    starts = _times(table["start"], name, "start", issues)
    ends = _times(table["end"], name, "end", issues)
    good = days.notna() & starts.notna() & ends.notna()
    backwards = good & (ends <= starts)
    add_located(issues, table.index[backwards.to_numpy(bool)], lambda row: InputIssue(
        name, int(row), "end", f"must be after start ({str(table.at[row, 'start'])}) "
                               f"(got {table.at[row, 'end']!r})"))
    if points is not None:
        known = set(points)
        unknown = (table["point_id"] != "") & ~table["point_id"].isin(known)
        add_located(issues, table.index[unknown.to_numpy(bool)], lambda row: InputIssue(
            name, int(row), "point_id",
            f"unknown point {table.at[row, 'point_id']!r} (not in the point list)"))
    ordinal = days.map(lambda d: d.toordinal(), na_action="ignore")
    if first_day is not None:
        early = good & (ordinal < first_day.toordinal())
        add_located(issues, table.index[early.to_numpy(bool)], lambda row: InputIssue(
            name, int(row), "date", f"is before the first pickup day {first_day.isoformat()} "
                                    f"(got {table.at[row, 'date']!r})"))
    if deadline is not None:
        late = good & (ordinal > deadline.toordinal())
        add_located(issues, table.index[late.to_numpy(bool)], lambda row: InputIssue(
            name, int(row), "date", f"is after the pickup deadline {deadline.isoformat()} "
                                    f"(got {table.at[row, 'date']!r})"))
    _check_overlaps(table, days, starts, ends, good & ~backwards & (table["point_id"] != ""),
                    name, issues)
    if issues:
        raise InvalidInput(issues)
    return pd.DataFrame({
        "point_id": table["point_id"].astype(object),
        "date": days.astype(object),
        "start": starts.map(_as_time).astype(object),
        "end": ends.map(_as_time).astype(object),
        "capacity": table["capacity"].astype(np.int64),
    }, index=table.index)


def _dates(values: pd.Series, name: str, issues: list[InputIssue]) -> pd.Series:
    """Each cell as a datetime.date, or None (with an issue) if it is not a real YYYY-MM-DD."""
    shaped = values.str.fullmatch(_DATE).astype(bool)
    parsed = pd.to_datetime(values.where(shaped), format="%Y-%m-%d", errors="coerce")
    bad = (values != "") & parsed.isna()
    add_located(issues, values.index[bad.to_numpy(bool)], lambda row: InputIssue(
        name, int(row), "date", f"must be a date written YYYY-MM-DD (got {values[row]!r})"))
    out = pd.Series(None, index=values.index, dtype=object)
    ok = parsed.notna()
    out[ok] = [d.date() for d in parsed[ok]]
    return out


def _times(values: pd.Series, name: str, column: str, issues: list[InputIssue]) -> pd.Series:
    """Each cell as minutes after midnight, or NaN (with an issue) if it is not HH:MM."""
    parts = values.str.extract(f"^{_TIME}$")
    minutes = pd.to_numeric(parts["h"]) * 60 + pd.to_numeric(parts["m"])
    bad = (values != "") & minutes.isna()
    add_located(issues, values.index[bad.to_numpy(bool)], lambda row: InputIssue(
        name, int(row), column,
        f"must be a time written HH:MM, 00:00 to 23:59 (got {values[row]!r})"))
    return minutes.astype(float)


def _as_time(minutes: float) -> dt.time:
    return dt.time(int(minutes) // 60, int(minutes) % 60)


def _check_overlaps(table: pd.DataFrame, days: pd.Series, starts: pd.Series, ends: pd.Series,
                    good: pd.Series, name: str, issues: list[InputIssue]) -> None:
    """Refuse a window given twice, or overlapping another of its point on the same day.

    A household must be told one unambiguous time, and two windows covering the
    same hour are nearly always a typing mistake.
    """
    keep = good.to_numpy(bool)
    order = sorted(zip(table["point_id"].to_numpy(object)[keep], days.to_numpy(object)[keep],
                       starts.to_numpy(float)[keep], ends.to_numpy(float)[keep],
                       table.index.to_numpy()[keep].astype(np.int64)))
    last: tuple[object, object, float, float, int] | None = None  # the window reaching furthest
    for window in order:
        point, day, start, end, row = window
        if last is None or (last[0], last[1]) != (point, day):
            last = window
            continue
        if start < last[3]:
            what = ("is the same window as" if (start, end) == (last[2], last[3])
                    else "overlaps the window at")
            issues.append(InputIssue(name, int(row), "start",
                                     f"{what} row {last[4]} (point {point!r}, "
                                     f"{day})"))
        if end > last[3]:
            last = window
