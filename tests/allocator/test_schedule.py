"""The pickup schedule: capacity, priority mornings, commune grouping, re-plans, windows.csv."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocator.issues import InvalidInput
from allocator.schedule import (
    NO_WINDOW,
    WINDOWS_FULL,
    Schedule,
    Window,
    assign,
    priority_flags,
    schedule,
)
from allocator.windows import NOON, check_windows, default_windows, point_windows, read_windows

MONDAY = dt.date(2025, 9, 8)
T = dt.time


def allocations(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    """(household_id, point_id, commune_code, flags) rows."""
    return pd.DataFrame(list(rows), columns=["household_id", "point_id", "commune_code", "flags"])


def windows(*rows: tuple[str, dt.date, dt.time, dt.time, int]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["point_id", "date", "start", "end", "capacity"])


def priority(flags: str) -> bool:
    return bool(priority_flags(pd.Series([flags]))[0])


def check(allocs: pd.DataFrame, offered: pd.DataFrame, result: Schedule,
          previous: pd.DataFrame | None = None) -> None:
    """What every schedule must satisfy; `previous` is the schedule it re-plans."""
    placed, left = result.assigned, result.unplaced
    # Each allocation is placed or returned with a reason, once.
    assert sorted(placed["household_id"].tolist() + left["household_id"].tolist()) == \
        sorted(allocs["household_id"].astype(str))
    assert set(left["reason"]) <= {NO_WINDOW, WINDOWS_FULL}
    assert placed["household_id"].is_monotonic_increasing
    # Each household's window is one of its point's windows, and none is over capacity.
    key = ["point_id", "date", "start", "end"]
    used = placed.groupby(key).size().rename("n").reset_index()
    joined = used.merge(offered, on=key, how="left")
    assert joined["capacity"].notna().all(), "a window that was not offered"
    assert (joined["n"] <= joined["capacity"]).all(), "a window over capacity"
    point_of = dict(zip(allocs["household_id"].astype(str), allocs["point_id"]))
    assert all(point_of[h] == p for h, p in zip(placed["household_id"], placed["point_id"]))
    counted = result.windows.merge(used, on=key, how="left").fillna({"n": 0})
    assert (counted["used"] == counted["n"]).all()
    # A point places as many households as its windows hold, or all of them.
    room = offered.groupby("point_id")["capacity"].sum()
    wanted = allocs.groupby("point_id").size()
    got = placed.groupby("point_id").size()
    for point, n in wanted.items():
        assert got.get(point, 0) == min(n, room.get(point, 0)), point
    # Priority: a priority household outside the mornings means every morning window
    # of its point is full.
    flags = dict(zip(allocs["household_id"].astype(str), allocs["flags"]))
    placed = placed.assign(first=[priority(flags[h]) for h in placed["household_id"]],
                           morning=placed["start"] < NOON)
    full = result.windows.assign(full=result.windows["used"] == result.windows["capacity"],
                                 morning=result.windows["start"] < NOON)
    # (Households keeping their window on a re-plan are exempt: they were told.)
    kept = set() if previous is None else set(map(tuple, placed[key + ["household_id"]].merge(
        previous, on=key + ["household_id"])[key + ["household_id"]].values))
    placed["kept"] = [tuple(r) in kept for r in placed[key + ["household_id"]].values]
    assert placed["kept"].sum() >= result.kept
    late = placed["first"] & ~placed["morning"] & ~placed["kept"]
    for point in placed.loc[late, "point_id"].unique():
        mornings = full[(full["point_id"] == point) & full["morning"]]
        assert mornings["full"].all(), f"morning room left at {point}"
    if previous is not None:
        return
    # ... and no other household holds an earlier window than a priority household,
    # unless that earlier window is an afternoon one and the priority one a morning one.
    at = placed.assign(when=[(d, s, e) for d, s, e in
                             zip(placed["date"], placed["start"], placed["end"])])
    for _, group in at.groupby("point_id"):
        firsts = group[group["first"]]
        others = group[~group["first"]]
        if firsts.empty or others.empty:
            continue
        latest = firsts.sort_values("when").iloc[-1]
        earlier = others[others["when"] < latest["when"]]
        assert not earlier["morning"].any()
        if len(earlier):
            assert firsts.loc[firsts["when"] > earlier["when"].max(), "morning"].all()
    # Earliest first: nobody holds a window later than one of its point with room left,
    # except a priority household in a morning window, which only no morning window beats.
    spare = full[~full["full"]]
    for point, group in at.groupby("point_id"):
        for mornings_only in (False, True):
            rooms = spare[(spare["point_id"] == point) & (spare["morning"] | (not mornings_only))]
            who = group[group["first"] & group["morning"]] if mornings_only else \
                group[~(group["first"] & group["morning"])]
            if len(rooms) and len(who):
                assert who["when"].max() <= min(zip(rooms["date"], rooms["start"], rooms["end"]))
    # Priority households are left out only where every other household is too.
    for point in left.loc[[priority(flags[h]) for h in left["household_id"]], "point_id"]:
        assert not (placed["point_id"] == point).any() or \
            placed.loc[placed["point_id"] == point, "first"].all()


# --- hand-made cases ---------------------------------------------------------------------

def test_priority_households_get_the_first_mornings() -> None:
    offered = windows(("P1", MONDAY, T(8), T(11), 1), ("P1", MONDAY, T(14), T(17), 2),
                      ("P1", MONDAY + dt.timedelta(1), T(8), T(11), 1))
    allocs = allocations(("a", "P1", "1", ""), ("b", "P1", "1", ""),
                         ("y", "P1", "1", "student;elderly_alone"), ("z", "P1", "1", "disability"))
    result = assign(allocs, offered)
    got = {h: (d, s) for h, d, s in result.assigned[["household_id", "date", "start"]].values}
    assert got["y"] == (MONDAY, T(8)) and got["z"] == (MONDAY + dt.timedelta(1), T(8))
    assert got["a"] == got["b"] == (MONDAY, T(14))
    check(allocs, offered, result)


def test_priority_households_overflow_ahead_of_the_others_and_are_placed_first() -> None:
    offered = windows(("P1", MONDAY, T(8), T(11), 1), ("P1", MONDAY, T(14), T(17), 1),
                      ("P1", MONDAY, T(17), T(18), 1))
    allocs = allocations(("a", "P1", "1", ""), ("x", "P1", "1", "disability"),
                         ("y", "P1", "1", "elderly_alone"), ("z", "P1", "1", "Elderly-Alone"))
    result = assign(allocs, offered)
    got = dict(zip(result.assigned["household_id"], result.assigned["start"]))
    assert got == {"x": T(8), "y": T(14), "z": T(17)}
    assert result.unplaced[["household_id", "reason"]].values.tolist() == [["a", WINDOWS_FULL]]
    assert "hold 3 households; 4 were allocated there" in result.unplaced["detail"][0]
    check(allocs, offered, result)


def test_a_point_without_windows_returns_its_households() -> None:
    offered = windows(("P1", MONDAY, T(8), T(11), 5))
    allocs = allocations(("a", "P1", "1", ""), ("b", "P9", "1", ""))
    result = assign(allocs, offered)
    assert result.unplaced[["household_id", "point_id", "reason"]].values.tolist() == \
        [["b", "P9", NO_WINDOW]]
    check(allocs, offered, result)


def test_households_of_one_commune_come_together() -> None:
    offered = windows(*[("P1", MONDAY + dt.timedelta(d), T(h), T(h + 3), 2)
                        for d in range(2) for h in (8, 14)])
    allocs = allocations(*[(f"h{i}", "P1", "AB"[i % 2], "") for i in range(8)])
    result = assign(allocs, offered)
    by_window = result.assigned.groupby(["date", "start"])["household_id"].apply(
        lambda ids: {allocs.set_index("household_id").at[h, "commune_code"] for h in ids})
    assert all(len(communes) == 1 for communes in by_window)
    blind = assign(allocs.assign(commune_code=""), offered)
    assert len(blind.assigned) == len(result.assigned)


def test_flags_are_read_as_the_contract_writes_them() -> None:
    cells = pd.Series(["elderly_alone", "student;disability", "student disability", "",
                       None, "elderly", "single_parent; merit_family", " DISABILITY "])
    assert priority_flags(cells).tolist() == [True, True, True, False, False, False, False, True]


def test_a_replan_keeps_windows_and_places_newcomers_after() -> None:
    offered = windows(("P1", MONDAY, T(8), T(11), 2), ("P1", MONDAY, T(14), T(17), 2),
                      ("P2", MONDAY, T(8), T(11), 2))
    before = assign(allocations(("a", "P1", "1", ""), ("b", "P1", "1", ""),
                                ("c", "P2", "1", "")), offered)
    assert before.assigned["start"].tolist() == [T(8), T(8), T(8)]
    # c moves to P1; a newcomer flagged elderly_alone finds the morning taken by a and b.
    allocs = allocations(("a", "P1", "1", ""), ("b", "P1", "1", ""), ("c", "P1", "1", ""),
                         ("d", "P1", "1", "elderly_alone"))
    after = assign(allocs, offered, previous=before.assigned)
    assert after.kept == 2
    got = dict(zip(after.assigned["household_id"], after.assigned["start"]))
    assert got == {"a": T(8), "b": T(8), "c": T(14), "d": T(14)}
    check(allocs, offered, after, before.assigned)
    as_mapping = {h: (p, Window(d, s, e)) for h, p, d, s, e in before.assigned.values}
    again = assign(allocs, offered, previous=as_mapping)
    pd.testing.assert_frame_equal(again.assigned, after.assigned)


def test_a_replan_keeps_what_a_shrunken_window_still_holds_priority_first() -> None:
    offered = windows(("P1", MONDAY, T(8), T(11), 3), ("P1", MONDAY, T(14), T(17), 3))
    allocs = allocations(("a", "P1", "1", ""), ("b", "P1", "1", ""), ("c", "P1", "1", "disability"))
    before = assign(allocs, offered)
    smaller = windows(("P1", MONDAY, T(8), T(11), 2), ("P1", MONDAY, T(14), T(17), 3))
    after = assign(allocs, smaller, previous=before.assigned)
    got = dict(zip(after.assigned["household_id"], after.assigned["start"]))
    assert got == {"a": T(8), "b": T(14), "c": T(8)} and after.kept == 2
    # The previous schedule as a store might return it: text dates and times.
    text = before.assigned.astype(str)
    assert assign(allocs, smaller, previous=text).assigned.equals(after.assigned)


def test_default_windows_are_weekdays_with_the_capacity_spread_evenly() -> None:
    friday, tuesday = dt.date(2025, 9, 5), dt.date(2025, 9, 9)
    offered = default_windows({"P1": 13, "P2": 0}, friday, tuesday)
    p1 = offered[offered["point_id"] == "P1"]
    assert sorted(set(p1["date"])) == [friday, MONDAY, tuesday]
    assert set(zip(p1["start"], p1["end"])) == {(T(8), T(11)), (T(14), T(17))}
    assert p1["capacity"].tolist() == [3] * 6  # ceil(13 / 6): the 13 always fit
    assert offered.loc[offered["point_id"] == "P2", "capacity"].sum() == 0
    closed = default_windows({"P1": 4}, friday, tuesday, closed={MONDAY})
    assert sorted(set(closed["date"])) == [friday, tuesday]
    assert default_windows({"P1": 4}, dt.date(2025, 9, 6), dt.date(2025, 9, 7)).empty


@given(st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31)), st.integers(0, 40),
       st.integers(0, 500))
def test_default_windows_never_open_on_a_weekend(first: dt.date, days: int, capacity: int
                                                 ) -> None:
    offered = default_windows({"P1": capacity}, first, first + dt.timedelta(days))
    assert all(d.weekday() < 5 for d in offered["date"])
    weekdays = sum((first + dt.timedelta(i)).weekday() < 5 for i in range(days + 1))
    assert len(offered) == 2 * weekdays
    if weekdays:
        assert capacity <= offered["capacity"].sum() < capacity + len(offered)


def test_schedule_mixes_given_and_default_windows() -> None:
    given_rows = windows(("P1", MONDAY, T(9), T(10), 1))
    allocs = allocations(("a", "P1", "1", ""), ("b", "P1", "1", ""), ("c", "P2", "1", ""))
    result = schedule(allocs, MONDAY, MONDAY, windows=given_rows, capacity={"P2": 4})
    assert result.unplaced["household_id"].tolist() == ["b"]
    assert result.windows.loc[result.windows["point_id"] == "P2", "capacity"].tolist() == [2, 2]
    check(allocs, point_windows({"P2": 4}, MONDAY, MONDAY, given_rows), result)


def test_malformed_input_is_refused() -> None:
    offered = windows(("P1", MONDAY, T(8), T(11), 1))
    with pytest.raises(ValueError, match="allocated twice"):
        assign(allocations(("a", "P1", "1", ""), ("a", "P1", "1", "")), offered)
    with pytest.raises(ValueError, match="given twice"):
        assign(allocations(("a", "P1", "1", "")), pd.concat([offered, offered]))


# --- properties --------------------------------------------------------------------------

TIMES = [(T(7), T(8)), (T(8), T(11)), (T(11, 30), T(12, 30)), (T(12), T(13)), (T(14), T(17))]
FLAGS = ["", "", "student", "elderly_alone", "disability;student", "merit_family disability"]


@st.composite
def rounds(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    points = [f"P{i}" for i in range(draw(st.integers(1, 3)))]
    rows = []
    for point in points:
        slots = draw(st.sets(st.tuples(st.integers(0, 3), st.integers(0, len(TIMES) - 1)),
                             max_size=6))
        for day, slot in sorted(slots):
            rows.append((point, MONDAY + dt.timedelta(day), *TIMES[slot],
                         draw(st.integers(0, 3))))
    n = draw(st.integers(0, 25))
    allocs = allocations(*[(f"h{i:02d}", draw(st.sampled_from(points + ["P9"])),
                            draw(st.sampled_from("ABC")), draw(st.sampled_from(FLAGS)))
                           for i in draw(st.permutations(range(n)))])
    return allocs, windows(*rows)


@given(rounds())
def test_schedules_keep_capacity_priority_and_grouping_rules(case: tuple[pd.DataFrame,
                                                                         pd.DataFrame]) -> None:
    allocs, offered = case
    result = assign(allocs, offered)
    check(allocs, offered, result)
    blind = assign(allocs.assign(commune_code=""), offered)
    assert len(blind.assigned) == len(result.assigned)
    assert sorted(blind.unplaced["household_id"]) == sorted(result.unplaced["household_id"])


@given(rounds(), st.integers(0, 2**32 - 1))
def test_schedules_do_not_depend_on_row_order(case: tuple[pd.DataFrame, pd.DataFrame],
                                              seed: int) -> None:
    allocs, offered = case
    result = assign(allocs, offered)
    shuffled = assign(allocs.sample(frac=1, random_state=seed).reset_index(drop=True),
                      offered.sample(frac=1, random_state=seed))
    pd.testing.assert_frame_equal(result.assigned, shuffled.assigned)
    pd.testing.assert_frame_equal(result.unplaced, shuffled.unplaced)
    pd.testing.assert_frame_equal(result.windows, shuffled.windows)


@given(rounds(), rounds())
def test_replans_keep_every_window_that_still_has_room(old: tuple[pd.DataFrame, pd.DataFrame],
                                                       new: tuple[pd.DataFrame, pd.DataFrame]
                                                       ) -> None:
    before = assign(*old)
    allocs, offered = new
    after = assign(allocs, offered, previous=before.assigned)
    check(allocs, offered, after, before.assigned)
    # Each window keeps as many of the households it held (at an unchanged point) as it can.
    key = ["point_id", "date", "start", "end"]
    held = before.assigned.merge(allocs[["household_id", "point_id"]],
                                 on=["household_id", "point_id"]).merge(offered, on=key)
    now = after.assigned.set_index("household_id")
    kept = 0
    for (point, date, start, end), group in held.groupby(key):
        stayed = sum(tuple(now.loc[h, key]) == (point, date, start, end)
                     for h in group["household_id"] if h in now.index)
        assert stayed == min(len(group), group["capacity"].iloc[0])
        kept += stayed
    assert after.kept == kept
    # Re-planning an unchanged round changes nothing.
    same = assign(*old, previous=before.assigned)
    pd.testing.assert_frame_equal(same.assigned, before.assigned)
    assert same.kept == len(before.assigned)


# --- windows.csv -------------------------------------------------------------------------

HEADER = "point_id,date,start,end,capacity\n"


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "windows.csv"
    path.write_text(text, encoding=encoding)
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_windows_csv_is_read_with_or_without_a_bom(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path, HEADER + "P1,2025-09-08,8:00,11:00:00,30\n"
                                    " P1 ,2025-09-08,14:00,17:00,0\n", encoding)
    frame = read_windows(path, points=["P1"], first_day=MONDAY, deadline=MONDAY)
    assert frame.values.tolist() == [["P1", MONDAY, T(8), T(11), 30],
                                     ["P1", MONDAY, T(14), T(17), 0]]
    assert frame.index.tolist() == [2, 3]
    assert read_windows(tmp_path / "absent.csv").empty


def test_windows_csv_problems_are_located(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "\n".join([
        "P1,2025-09-01,08:00,11:00,10",  # 2: fine
        "P1,2025-02-30,08:00,11:00,10",  # 3: no such day
        "P1,2025-09-01,14:00,13:00,5",  # 4: ends before it starts
        "P1,2025-09-02,08:00,11:00,-3",  # 5: negative capacity
        "PX,2025-09-02,08:00,11:00,3",  # 6: unknown point
        "P1,2025-09-01,08:00,11:00,4",  # 7: the window of row 2 again
        "P1,2025-09-01,10:00,12:00,4",  # 8: overlaps row 2
        "P2,01/09/2025,8h,11:00,2",  # 9: date and start not as written in the contract
        "P2,2025-09-03,08:00,25:00,x",  # 10: no such hour, capacity not a number
        "P2,2025-09-03,08:00,08:00,1",  # 11: ends as it starts
        ",2025-09-04,,11:00,1",  # 12: point and start missing
    ]) + "\n")
    with pytest.raises(InvalidInput) as caught:
        read_windows(path, points=["P1", "P2"])
    found = {(i.row, i.column) for i in caught.value.issues}
    assert found == {(3, "date"), (4, "end"), (5, "capacity"), (6, "point_id"), (7, "start"),
                     (8, "start"), (9, "date"), (9, "start"), (10, "end"), (10, "capacity"),
                     (11, "end"), (12, "point_id"), (12, "start")}
    assert all(i.file == "windows.csv" for i in caught.value.issues)
    lines = "\n".join(caught.value.lines())
    assert "row 7, column start: is the same window as row 2" in lines
    assert "row 8, column start: overlaps the window at row 2" in lines
    assert "row 6, column point_id: unknown point 'PX'" in lines
    assert "row 4, column end: must be after start (14:00)" in lines


def test_windows_csv_days_outside_the_pickup_period_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "P1,2025-09-07,08:00,11:00,1\n"
                                    "P1,2025-09-08,08:00,11:00,1\n"
                                    "P1,2025-09-20,08:00,11:00,1\n")
    with pytest.raises(InvalidInput) as caught:
        read_windows(path, first_day=MONDAY, deadline=dt.date(2025, 9, 19))
    assert [str(i) for i in caught.value.issues] == [
        "windows.csv, row 2, column date: is before the first pickup day 2025-09-08 "
        "(got '2025-09-07')",
        "windows.csv, row 4, column date: is after the pickup deadline 2025-09-19 "
        "(got '2025-09-20')"]


def test_windows_csv_that_cannot_be_read_is_located(tmp_path: Path) -> None:
    path = tmp_path / "windows.csv"
    path.write_bytes(HEADER.encode() + "P1,2025-09-08,08:00,11:00,1\nP\xe9,".encode("latin-1"))
    with pytest.raises(InvalidInput) as caught:
        read_windows(path)
    assert [(i.row, i.column) for i in caught.value.issues] == [(3, "")]
    write(tmp_path, "point_id,date,start,capacity\n")
    with pytest.raises(InvalidInput) as caught:
        read_windows(path)
    assert [(i.row, i.column) for i in caught.value.issues] == [(1, "end")]


def test_windows_from_a_workbook_are_checked_alike() -> None:
    raw = pd.DataFrame({"point_id": ["P1", "P1"], "date": ["2025-09-08", "2025-09-08"],
                        "start": ["08:00", "09:00"], "end": ["11:00", "10:00"],
                        "capacity": ["3", "1"]})
    assert check_windows(raw.iloc[:1]).values.tolist() == [["P1", MONDAY, T(8), T(11), 3]]
    with pytest.raises(InvalidInput) as caught:
        check_windows(raw, name="windows.xlsx")
    assert caught.value.lines() == ["windows.xlsx, row 3, column start: overlaps the window at "
                                    "row 2 (point 'P1', 2025-09-08)"]
