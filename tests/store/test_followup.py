"""The follow-up call on a real store (SQLite and PostgreSQL): the seeded draw 30 days after
a round's handovers, answers and their checks, "never received" cases, the share of phones
in use, and what sponsors see of it."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from allocator.disclosure import HIDDEN
from allocator.store import followup
from allocator.store.campaign import approve_round, close_round, create_round, deadline_day
from allocator.store.lifecycle import RoundNotFound, WrongState
from allocator.store.models import AllocationRow, AuditEntry, Case, FollowUp, Round, User
from allocator.store.rounds import record_handovers, solve_round
from allocator.store.sponsor_followup import sponsor_followup
from allocator.store.users import add_user

LATER = dt.timedelta(days=90)


def _handed_round(session: Session, handed: int | None = None) -> tuple[Round, list[str]]:
    """An approved round with its first `handed` households (all if None) handed a phone."""
    row = create_round(session, {}, "r", "planner")
    solve_round(session, row.id, "planner")
    row = approve_round(session, row.id, "planner")
    ids = list(session.scalars(select(AllocationRow.household_id)
                               .where(AllocationRow.round_id == row.id)
                               .order_by(AllocationRow.household_id)))
    chosen = ids if handed is None else ids[:handed]
    record_handovers(session, row.id, chosen, "officer")
    return row, chosen


def _later() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None) + LATER


def test_the_sample_is_seeded_and_sized() -> None:
    ids = [f"H{i:05d}" for i in range(1000)]
    first = followup.sample(ids, 50, 7)
    assert first == followup.sample(list(reversed(ids)), 50, 7) and len(first) == 50
    assert first != followup.sample(ids, 50, 8)
    # The rule anyone can redo: lowest SHA-256 of "<seed>:<id>".
    by_hand = sorted(ids, key=lambda h: hashlib.sha256(f"7:{h}".encode()).hexdigest())[:50]
    assert first == sorted(by_hand)
    assert followup.sample_size(600, 0.05, 30) == 30  # not 31 from 30.000000000000004
    assert followup.sample_size(601, 0.05, 30) == 31
    assert followup.sample_size(100, 0.05, 30) == 30
    assert followup.sample_size(20, 0.05, 30) == 20
    assert followup.sample_size(0, 0.05, 30) == 0
    assert followup.sample_size(1000, 1, 0) == 1000
    for share, minimum, seed in ((0, 30, None), (1.5, 30, None), (float("nan"), 30, None),
                                 (True, 30, None), (0.05, -1, None), (0.05, 2.0, None),
                                 (0.05, 30, -1), (0.05, 30, 2**63), (0.05, 30, "3")):
        with pytest.raises(followup.BadDraw):
            followup.check_draw_values(share, minimum, seed)


def test_the_draw_waits_30_days_then_takes_a_seeded_share_of_the_served(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        row, handed = _handed_round(session)
        assert len(handed) > 700  # so that 5% is more than the minimum of 30
        session.execute(update(AllocationRow).where(
            AllocationRow.round_id == row.id, AllocationRow.household_id == handed[0])
            .values(handed_over_at=None))  # one household never came
        session.commit()
        served = handed[1:]
        assert row.pickup_deadline is not None
        due = deadline_day(row.pickup_deadline) + dt.timedelta(days=30)
        before = session.scalar(select(func.count()).select_from(AuditEntry))
        with pytest.raises(followup.NotDue, match=f"due on {due:%d/%m/%Y}"):
            followup.draw(session, row.id, "planner")
        day_before = dt.datetime.combine(due, dt.time(16, 59))  # 23:59 in Vietnam
        with pytest.raises(followup.NotDue):
            followup.draw(session, row.id, "planner", now=day_before - dt.timedelta(days=1))
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == before
        done = followup.draw(session, row.id, "planner", seed=12345,
                             now=day_before + dt.timedelta(hours=1))
        assert done.served == len(served) and done.seed == 12345
        assert done.size == len(done.households) == -(-len(served) * 5 // 100)
        assert set(done.households) <= set(served)
        assert done.households == followup.sample(served, done.size, 12345)
        rows = session.scalars(select(FollowUp).where(FollowUp.round_id == row.id)).all()
        assert sorted(r.household_id for r in rows) == done.households
        assert {r.seed for r in rows} == {12345}
        allocation = {a.household_id: a for a in session.scalars(
            select(AllocationRow).where(AllocationRow.round_id == row.id))}
        assert all((r.point_id, r.lot_id, r.sponsor_id) == (
            allocation[r.household_id].point_id, allocation[r.household_id].lot_id,
            allocation[r.household_id].sponsor_id) for r in rows)
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "draw follow-up")
                                ).one()
        assert entry.detail["seed"] == 12345 and entry.detail["served"] == len(served)
        assert entry.detail["served_sha256"] == hashlib.sha256(
            "\n".join(served).encode()).hexdigest()
        with pytest.raises(followup.AlreadyDrawn, match="seed 12345"):
            followup.draw(session, row.id, "planner", now=_later())


def test_a_draw_without_a_seed_records_the_one_it_drew_and_honours_the_minimum(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        row, handed = _handed_round(session, 100)
        done = followup.draw(session, row.id, "planner", now=_later())
        assert done.size == 30 and 0 <= done.seed <= followup.MAX_SEED < 2**53
        assert done.households == followup.sample(handed, 30, done.seed)
        assert followup.drawn(session, row.id) is not None


def test_a_draw_is_capped_at_the_served_and_refused_without_handovers(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        row, handed = _handed_round(session, 0)
        with pytest.raises(followup.NotDue, match="no one to call"):
            followup.draw(session, row.id, "planner", now=_later())
        record_handovers(session, row.id, list(session.scalars(
            select(AllocationRow.household_id).where(AllocationRow.round_id == row.id)
            .order_by(AllocationRow.household_id).limit(12))), "officer")
        done = followup.draw(session, row.id, "planner", share=0.5, minimum=30, now=_later())
        assert done.size == 12 == done.served
        with pytest.raises(RoundNotFound):
            followup.draw(session, 10**6, "planner")
        draft = create_round(session, {}, "draft", "planner")
        with pytest.raises(WrongState, match="draft"):
            followup.draw(session, draft.id, "planner", now=_later())


def test_a_closed_round_is_due_30_days_after_its_last_handover(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        row, _ = _handed_round(session, 40)
        close_round(session, row.id, "planner", force=True)
        today = followup.vietnam_day(dt.datetime.now(dt.UTC))
        with pytest.raises(followup.NotDue,
                           match=f"due on {today + dt.timedelta(days=30):%d/%m/%Y}"):
            followup.draw(session, row.id, "planner")
        assert followup.draw(session, row.id, "planner",
                             now=_later() - dt.timedelta(days=59)).size == 30


def _officer(session: Session, name: str, point: str) -> User:
    user, _ = add_user(session, name, "point", None, "setup", points=[point])
    return user


def test_answers_are_checked_scoped_to_the_officer_and_the_last_one_counts(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        row, _ = _handed_round(session)
        done = followup.draw(session, row.id, "planner", seed=1, now=_later())
        listed = {r.household_id: r for r in session.scalars(
            select(FollowUp).where(FollowUp.round_id == row.id))}
        household = done.households[0]
        point = listed[household].point_id
        other = next(r.point_id for r in listed.values() if r.point_id != point)
        mine, theirs = _officer(session, "cb-a", point), _officer(session, "cb-b", other)
        planner = User(name="kh", role="planner")
        sponsor = User(name="nt", role="sponsor", sponsor_id="S1")
        for args, problem in ((("broken", ""), followup.BadAnswer),
                              (("not_in_use", ""), followup.BadAnswer),
                              (("not_in_use", "lost"), followup.BadAnswer),
                              (("in_use", "sold"), followup.BadAnswer)):
            with pytest.raises(problem):
                followup.answer(session, mine, row.id, household, *args)
        with pytest.raises(followup.BadAnswer):
            followup.answer(session, mine, row.id, household, "in_use", "", "x" * 1001)
        # another point's drawn household reads as not on the list: no hint it was drawn
        with pytest.raises(followup.NotOnList) as refused:
            followup.answer(session, theirs, row.id, household, "in_use")
        assert refused.value.status == 404
        with pytest.raises(followup.NotYours):
            followup.answer(session, sponsor, row.id, household, "in_use")
        with pytest.raises(followup.NotOnList):
            followup.answer(session, planner, row.id, "nobody", "in_use")
        assert session.get_one(FollowUp, (row.id, household)).answer is None
        followup.answer(session, mine, row.id, household, " not_in_use ", "no_data_plan",
                        "  cannot pay for data  ")
        kept = followup.answer(session, planner, row.id, household, "in_use")
        assert (kept.answer, kept.reason, kept.note, kept.answered_by) == ("in_use", "", "",
                                                                          "kh")
        entries = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "answer follow-up").order_by(AuditEntry.id)).all()
        assert [(e.actor, e.detail["answer"], e.detail["previous"]) for e in entries] == [
            ("cb-a", "not_in_use", None), ("kh", "in_use", "not_in_use")]
        assert entries[0].detail["reason"] == "no_data_plan"
        # An officer's call list holds their point only, with the head's name and phone.
        calls = followup.call_list(session, mine, row.id)
        assert calls and {c.point_id for c in calls} == {point}
        assert all(c.head_name and c.phone for c in calls)
        assert len(followup.call_list(session, planner, row.id)) == len(done.households)


def test_never_received_opens_one_case(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        row, _ = _handed_round(session, 50)
        done = followup.draw(session, row.id, "planner", seed=3, now=_later())
        household = done.households[0]
        followup.answer(session, "cli", row.id, household, "never_received", "", "not home")
        followup.answer(session, "cli", row.id, household, "never_received")  # pressed twice
        cases = session.scalars(select(Case)).all()
        assert len(cases) == 1
        case = cases[0]
        assert (case.kind, case.household_id, case.round_id, case.status) == (
            "never_received", household, row.id, "open")
        assert "not home" in case.note
        entries = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "answer follow-up")).all()
        assert [e.detail["case"] for e in entries] == [case.id, case.id]


def test_the_share_in_use_overall_and_by_sponsor(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        row, _ = _handed_round(session)
        done = followup.draw(session, row.id, "planner", share=0.2, seed=5, now=_later())
        rows = {r.household_id: r for r in session.scalars(
            select(FollowUp).where(FollowUp.round_id == row.id))}
        answers = ["in_use", "in_use", "in_use", "not_in_use", "never_received"]
        expected: dict[str, list[int]] = {}
        for i, household in enumerate(done.households[:60]):
            given = answers[i % 5]
            followup.answer(session, "cli", row.id, household, given,
                            "sold" if given == "not_in_use" else "")
            counts = expected.setdefault(rows[household].sponsor_id, [0, 0])
            counts[0] += 1
            counts[1] += given == "in_use"
        figures = followup.share_in_use(session)
        assert (figures["listed"], figures["answered"], figures["in_use"]) == (
            done.size, 60, 36)
        assert figures["share_in_use"] == pytest.approx(0.6)
        assert figures["reasons"]["sold"] == 12 and figures["never_received"] == 12
        assert {s["sponsor_id"]: [s["answered"], s["in_use"]] for s in figures["by_sponsor"]
                if s["answered"]} == expected
        for line in figures["by_sponsor"]:
            assert line["share_in_use"] == (line["in_use"] / line["answered"]
                                            if line["answered"] else None)


def test_sponsors_see_the_share_with_small_counts_hidden(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        row, _ = _handed_round(session)
        followup.draw(session, row.id, "planner", share=1.0, seed=9, now=_later())
        by_lot: dict[tuple[str, str], list[str]] = {}
        for r in session.scalars(select(FollowUp).where(FollowUp.round_id == row.id)
                                 .order_by(FollowUp.household_id)):
            by_lot.setdefault((r.sponsor_id, r.lot_id), []).append(r.household_id)
        (sponsor, lot), households = max(by_lot.items(), key=lambda kv: len(kv[1]))
        assert len(households) >= 30
        assert sponsor_followup(session, sponsor) == []
        # 3 answers: too few to show anything but "<5".
        for household in households[:3]:
            followup.answer(session, "cli", row.id, household, "in_use")
        lines = sponsor_followup(session, sponsor)
        assert [x.lot_id for x in lines] == [lot, ""]
        assert all(x.answered in HIDDEN and x.share_in_use in HIDDEN for x in lines)
        # 20 in use and 2 not: the 2 and what would give it away are hidden, and so is
        # the share.
        for household in households[3:20]:
            followup.answer(session, "cli", row.id, household, "in_use")
        for household in households[20:22]:
            followup.answer(session, "cli", row.id, household, "not_in_use", "broken")
        line = sponsor_followup(session, sponsor)[0]
        assert line.not_in_use == "<5" and line.in_use in HIDDEN
        assert line.share_in_use in HIDDEN
        # 20 in use and 6 not: all shown.
        for household in households[22:26]:
            followup.answer(session, "cli", row.id, household, "never_received")
        line = sponsor_followup(session, sponsor)[0]
        assert (line.answered, line.in_use, line.not_in_use, line.share_in_use) == (
            "26", "20", "6", "77%")
        text = repr(sponsor_followup(session, sponsor))
        calls = followup.call_list(session, "cli", row.id)
        assert not any(c.head_name in text or c.phone in text for c in calls if c.head_name)
        assert not any(h in text for h in households)
