"""Pickup codes and windows given at approval, on a real store (SQLite and PostgreSQL):
codes unique in the campaign and kept by a re-plan, windows within capacity, priority
households first in the mornings, and households that do not fit counted, not dropped."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from allocator.pickup_codes import display_code
from allocator.schedule import priority_flags
from allocator.store.campaign import (
    VIETNAM,
    approve_round,
    create_round,
    deadline_day,
    replan_round,
)
from allocator.store.handover import COLUMNS, NO_WINDOW, WIDTHS, handover_list
from allocator.store.models import AllocationRow, AuditEntry, PickupWindow, Round
from allocator.store.pickup import ACTION, _capacity, without_window
from allocator.store.rounds import solve_round
from allocator.windows import NOON, default_windows

CROCKFORD = re.compile(r"[0-9A-HJKMNP-TV-Z]{8}")


def _solved(session: Session, name: str = "r", **policy: int) -> Round:
    row = create_round(session, dict(policy), name, "planner")
    return solve_round(session, row.id, "planner")


def _rows(session: Session, round_id: int) -> pd.DataFrame:
    result = session.execute(select(
        AllocationRow.household_id, AllocationRow.point_id, AllocationRow.flags,
        AllocationRow.pickup_code, AllocationRow.window_day, AllocationRow.window_start,
        AllocationRow.window_end).where(AllocationRow.round_id == round_id)
        .order_by(AllocationRow.household_id))
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def _period(row: Round) -> tuple[dt.date, dt.date]:
    assert row.pickup_deadline is not None
    return dt.datetime.now(VIETNAM).date() + dt.timedelta(days=1), \
        deadline_day(row.pickup_deadline)


def _report(session: Session, round_id: int) -> dict:
    entry = session.scalars(select(AuditEntry).where(
        AuditEntry.action == ACTION, AuditEntry.target == f"round {round_id}")).one()
    return entry.detail


def _offered(session: Session, row: Round, rows: pd.DataFrame) -> dict[tuple, int]:
    """The capacity of each window the round could use: listed ones, else the defaults."""
    first, last = _period(row)
    listed = {(w.point_id, w.day, w.opens): w.capacity
              for w in session.scalars(select(PickupWindow))}
    own = {p for p, _, _ in listed}
    capacity = _capacity(session.scalar(select(Round.inputs).where(Round.id == row.id)))
    counts = rows["point_id"].value_counts()
    wanted = {p: max(capacity.get(p, 0), int(n)) for p, n in counts.items() if p not in own}
    defaults = default_windows(wanted, first, last)
    return {**{(p, d, s): int(c) for p, d, s, c in zip(
        defaults["point_id"], defaults["date"], defaults["start"], defaults["capacity"],
        strict=True)}, **listed}


def _within_capacity(rows: pd.DataFrame, offered: dict[tuple, int]) -> None:
    placed = rows.dropna(subset=["window_day"])
    used = placed.groupby(["point_id", "window_day", "window_start"]).size()
    for key, n in used.items():
        assert key in offered, f"window {key} was never offered"
        assert n <= offered[key], f"window {key} holds {n} > {offered[key]}"


def test_approval_gives_every_allocation_a_code_and_a_window(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        row = approve_round(session, _solved(session, budget_vnd=300_000_000).id, "planner")
        rows = _rows(session, row.id)
        first, last = _period(row)
        report = _report(session, row.id)
    assert len(rows) > 100
    assert rows["pickup_code"].map(lambda c: bool(CROCKFORD.fullmatch(c))).all()
    assert rows["pickup_code"].is_unique
    assert rows["window_day"].notna().all()  # the default windows hold each point's capacity
    assert rows["window_day"].between(first, last).all()
    assert (rows["window_day"].map(dt.date.weekday) < 5).all()
    assert set(zip(rows["window_start"], rows["window_end"], strict=True)) <= {
        (dt.time(8), dt.time(11)), (dt.time(14), dt.time(17))}
    with sessions() as session:
        _within_capacity(rows, _offered(session, row, rows))
    assert report["households"] == report["codes_drawn"] == report["windows"] == len(rows)
    assert report["without_window"] == 0 and report["codes_kept"] == 0
    assert report["first_day"] == first.isoformat() and report["last_day"] == last.isoformat()


def test_codes_are_unique_across_two_approved_rounds(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        one = approve_round(session, _solved(session, "one", budget_vnd=150_000_000).id,
                            "planner")
        two = approve_round(session, _solved(session, "two").id, "planner")
        codes = pd.concat([_rows(session, one.id), _rows(session, two.id)])["pickup_code"]
    assert len(codes) > 200 and codes.notna().all() and codes.is_unique


def test_priority_households_come_first_in_the_mornings_and_no_window_is_over_capacity(
        sessions: sessionmaker[Session]) -> None:
    """The schedule of a real approval, with windows listed for the busiest points and too
    few places at them: no window over capacity; at a point where morning room was left,
    every elderly_alone or disability household has a morning window, none later than a
    morning window given to another household; those that do not fit have no window and
    are counted."""
    with sessions() as session:
        solved = _solved(session, budget_vnd=300_000_000)
        counts = _rows(session, solved.id)["point_id"].value_counts()
        tomorrow = dt.datetime.now(VIETNAM).date() + dt.timedelta(days=1)
        tight, roomy = list(counts.index[:3]), list(counts.index[3:6])
        for point in tight + roomy:
            wide = point in roomy  # mornings with room left over
            for day in range(3):
                for opens, closes, places in ((8, 10, 6 if wide else 1), (10, 11, 3 if wide else 1),
                                              (14, 17, 2)):
                    session.add(PickupWindow(point_id=point, day=tomorrow + dt.timedelta(days=day),
                                             opens=dt.time(opens), closes=dt.time(closes),
                                             capacity=places))
        session.commit()
        row = approve_round(session, solved.id, "planner")
        rows = _rows(session, row.id)
        offered = _offered(session, row, rows)
        report = _report(session, row.id)
        assert without_window(session, row.id) == report["without_window"]

    _within_capacity(rows, offered)
    left = rows[rows["window_day"].isna()]
    assert len(left) == report["without_window"] > 0
    assert set(left["point_id"]) <= set(tight)
    assert report["without_window_by_point"] == left["point_id"].value_counts().to_dict()
    assert report["reasons"] == {"windows_full": len(left)}
    assert rows["pickup_code"].notna().all()  # every household has its code, window or not

    rows["priority"] = priority_flags(rows["flags"])
    placed = rows.dropna(subset=["window_day"])
    used = placed.groupby(["point_id", "window_day", "window_start"]).size()
    checked = 0
    for point, at in placed.groupby("point_id"):
        mornings = {k: c for k, c in offered.items() if k[0] == point and k[2] < NOON}
        room = any(used.get(k, 0) < c for k, c in mornings.items())
        first = at[at["priority"]]
        others = at[~at["priority"] & (at["window_start"] < NOON)]
        if room:
            assert (first["window_start"] < NOON).all(), point
            waiting = rows[(rows["point_id"] == point) & rows["priority"]]
            assert waiting["window_day"].notna().all(), point
        if len(first) and len(others):
            checked += 1
            latest = max(zip(first["window_day"], first["window_start"], strict=True))
            if room:
                earliest = min(zip(others["window_day"], others["window_start"], strict=True))
                assert latest <= earliest, point
    assert checked > 0
    # Priority households are placed before the others at the points that are short.
    for point in tight:
        here = rows[rows["point_id"] == point]
        if here["window_day"].isna().any() and here["priority"].any():
            assert not here[here["priority"]]["window_day"].isna().any() or \
                here[~here["priority"]]["window_day"].isna().all()


def test_a_replan_keeps_codes_and_the_window_when_the_point_is_unchanged(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        one = approve_round(session, _solved(session, budget_vnd=300_000_000).id, "planner")
        before = _rows(session, one.id).set_index("household_id")
        closed = before["point_id"].value_counts().index[0]
        version = replan_round(session, one.id, "planner", close_points=[closed],
                               withdraw=[before.index[0]])
        solve_round(session, version.id, "planner")
        approve_round(session, version.id, "planner")
        after = _rows(session, version.id).set_index("household_id")
        old_after = _rows(session, one.id).set_index("household_id")
        report = _report(session, version.id)
        every = session.scalars(select(AllocationRow.pickup_code).where(
            AllocationRow.pickup_code.is_not(None))).all()

    both = after.index.intersection(before.index)
    assert len(both) > 100
    assert (after.loc[both, "pickup_code"] == before.loc[both, "pickup_code"]).all()
    assert old_after.loc[both, "pickup_code"].isna().all()  # moved, not copied
    new = after.index.difference(before.index)
    assert not set(after.loc[new, "pickup_code"]) & set(before["pickup_code"])
    assert after["pickup_code"].notna().all() and len(every) == len(set(every))
    same_point = [h for h in both if after.at[h, "point_id"] == before.at[h, "point_id"]]
    assert same_point
    window = ["window_day", "window_start", "window_end"]
    assert (after.loc[same_point, window] == before.loc[same_point, window]).all().all()
    moved = [h for h in both if after.at[h, "point_id"] != before.at[h, "point_id"]]
    assert moved and all(after.at[h, "point_id"] != closed for h in moved)
    assert report["codes_kept"] == len(both)
    assert report["windows_kept"] == len(same_point)


def test_the_handover_list_shows_each_household_its_code_and_window(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        solved = _solved(session, budget_vnd=150_000_000)
        busiest = _rows(session, solved.id)["point_id"].value_counts().index[0]
        tomorrow = dt.datetime.now(VIETNAM).date() + dt.timedelta(days=1)
        session.add(PickupWindow(point_id=busiest, day=tomorrow, opens=dt.time(8),
                                 closes=dt.time(11), capacity=2))  # too few: others wait
        session.commit()
        approve_round(session, solved.id, "planner")
        rows = _rows(session, solved.id).set_index("household_id")
        table = handover_list(session, solved.id)
        here = handover_list(session, solved.id, busiest)
    assert len(WIDTHS) == len(COLUMNS) == len(table.columns)
    assert list(table.columns[:3]) == ["STT", "Mã hộ", "Mã nhận"]
    assert list(table.columns[-5:]) == ["Ngày giờ nhận", "Đã nhận", "IMEI", "Ghi chú", "Ký nhận"]
    shown = table.set_index("Mã hộ")
    assert (shown["Mã nhận"] == rows["pickup_code"].map(display_code).reindex(shown.index)).all()
    assert shown["Mã nhận"].str.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}").all()
    placed = rows.dropna(subset=["window_day"])
    expected = {h: f"{r.window_day:%d/%m} {r.window_start:%H:%M}–{r.window_end:%H:%M}"
                for h, r in placed.iterrows()}
    assert all(shown.at[h, "Ngày giờ nhận"] == text for h, text in expected.items())
    # At the busiest point two households have the one window; the rest are listed after.
    assert list(here["Ngày giờ nhận"][:2]) == [f"{tomorrow:%d/%m} 08:00–11:00"] * 2
    assert (here["Ngày giờ nhận"][2:] == NO_WINDOW).all() and len(here) > 2
