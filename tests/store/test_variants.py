"""Variants and the decisions' safeguards on a real store (SQLite and PostgreSQL).

A variant repeats its base's data with another budget. Approving it supersedes
the round it varies, as a re-plan's approval does, so two decisions never claim
the same phones; the ledger stays the one check. Refusals say why in English and
Vietnamese, and what approving or closing commits is said before it is done.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from allocator.store import commitments, ledger
from allocator.store.campaign import approve_round, close_round, create_round
from allocator.store.ledger import LedgerConflict
from allocator.store.lifecycle import BadValue, RoundError, WrongState
from allocator.store.models import AllocationRow, AuditEntry, Round
from allocator.store.rounds import record_handovers, solve_round
from allocator.store.variants import DuplicateRound, differences, vary_round


def _solved(session: Session, budget: int = 200_000_000) -> Round:
    row = create_round(session, {"budget_vnd": budget}, "r", "planner")
    solve_round(session, row.id, "planner")
    return session.get_one(Round, row.id, populate_existing=True)


def _variant(session: Session, base: int, percent: float) -> Round:
    row = vary_round(session, base, percent, None, "planner")
    solve_round(session, row.id, "planner")
    return session.get_one(Round, row.id, populate_existing=True)


def _status(session: Session, round_id: int) -> str:
    return session.get_one(Round, round_id, populate_existing=True).status


def _reserved(session: Session) -> dict[int, int]:
    return {f["lot_id"]: f["reserved"] for f in ledger.lot_figures(session)
            if f["reserved"]}  # type: ignore[misc]


def test_approving_a_variant_of_an_approved_round_supersedes_it(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        base = _solved(session)
        approve_round(session, base.id, "planner")
        variant = _variant(session, base.id, 10)
        assert variant.policy["budget_vnd"] == 220_000_000 and variant.based_on == base.id
        said = commitments.approval(session, variant.id)
        phones = session.scalar(select(func.count()).where(
            AllocationRow.round_id == variant.id))
        assert said["phones"] == phones and said["held_elsewhere"] == 0
        gone = said["supersedes"]
        assert gone["id"] == base.id and gone["kind"] == "variant"
        assert gone["reserved"] == session.scalar(select(func.count()).where(
            AllocationRow.round_id == base.id))
        assert gone["keeps"] + gone["changes"] + gone["loses"] == gone["reserved"]
        assert said["to_notify"] == phones - gone["keeps"]

        approve_round(session, variant.id, "planner")
        old = session.get_one(Round, base.id, populate_existing=True)
        assert (old.status, old.superseded_by) == ("superseded", variant.id)
        new = session.get_one(Round, variant.id, populate_existing=True)
        assert (new.status, new.replaces, new.based_on) == ("approved", base.id, base.id)
        ledger.check(session)
        # The ledger holds the variant's phones only: the base's were freed.
        assert sum(_reserved(session).values()) == phones
        assert ledger.household_states(session).reserved.keys() == set(session.scalars(
            select(AllocationRow.household_id).where(AllocationRow.round_id == variant.id)))


def test_a_variant_is_refused_when_the_base_s_households_already_hold_phones(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        base = _solved(session)
        approve_round(session, base.id, "planner")
        variant = _variant(session, base.id, 10)
        handed = list(session.scalars(select(AllocationRow.household_id).where(
            AllocationRow.round_id == base.id).order_by(AllocationRow.household_id).limit(3)))
        record_handovers(session, base.id, handed, "officer")
        assert commitments.approval(session, variant.id)["held_elsewhere"] >= 1
        before = session.scalar(select(func.count()).select_from(AuditEntry))
        with pytest.raises(LedgerConflict, match="two phones or reservations") as refused:
            approve_round(session, variant.id, "planner")
        assert "hai máy" in refused.value.vi and handed[0] in refused.value.vi
        assert _status(session, base.id) == "approved"
        assert _status(session, variant.id) == "solved"
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_choosing_a_variant_over_a_solved_round_supersedes_the_round(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        base = _solved(session)
        variant = _variant(session, base.id, -20)
        approve_round(session, variant.id, "planner")
        assert _status(session, base.id) == "superseded"
        with pytest.raises(WrongState) as stale:  # a tab still showing the base as solved
            approve_round(session, base.id, "planner")
        assert str(stale.value) == (f"round {base.id} is superseded; it can be approved only "
                                    "when solved")
        assert stale.value.vi == (f"Đợt {base.id} đang ở trạng thái “Đã được thay bằng phương "
                                  "án mới”; chỉ có thể phê duyệt đợt ở trạng thái “Đã tính, chờ "
                                  "duyệt”.")
        with pytest.raises(WrongState) as again:
            approve_round(session, variant.id, "planner")
        assert "Đã phê duyệt" in again.value.vi
        ledger.check(session)


def test_a_variant_that_repeats_a_round_or_spends_nothing_is_refused(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        base = _solved(session)
        first = vary_round(session, base.id, 10, None, "planner")
        rounds = session.scalar(select(func.count()).select_from(Round))
        with pytest.raises(DuplicateRound) as twice:
            vary_round(session, base.id, 10, "again", "planner")
        assert twice.value.existing == first.id and f"Đợt {first.id}" in twice.value.vi
        with pytest.raises(DuplicateRound) as same:  # +0% repeats the base itself
            vary_round(session, base.id, 0, None, "planner")
        assert same.value.existing == base.id
        for percent in (-100, -150, float("nan"), -99.99999999999):
            with pytest.raises(BadValue) as nothing:
                vary_round(session, base.id, percent, None, "planner")
            assert "ngân sách" in nothing.value.vi.lower()
        assert session.scalar(select(func.count()).select_from(Round)) == rounds
        other = vary_round(session, base.id, -50, None, "planner")
        assert other.policy["budget_vnd"] == 100_000_000


def test_a_variant_says_truly_whether_its_data_is_its_base_s(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        base = _solved(session)
        variant = vary_round(session, base.id, 10, None, "planner")
        found = differences(session, variant)
        assert found is not None and found["same_data"] and not found["files"]
        assert found["policy"] == [("budget_vnd", 200_000_000, 220_000_000)]
        assert variant.inputs_hash != base.inputs_hash  # the hash covers the policy too
        assert differences(session, base) is None


def test_closing_says_what_it_releases(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        base = _solved(session)
        with pytest.raises(WrongState):
            commitments.closing(session, base.id)
        approve_round(session, base.id, "planner")
        served = list(session.scalars(select(AllocationRow.household_id).where(
            AllocationRow.round_id == base.id)))
        record_handovers(session, base.id, served[:4], "officer")
        said = commitments.closing(session, base.id)
        assert said == {"round_id": base.id, "status": "approved",
                        "released": len(served) - 4, "no_shows": len(served) - 4,
                        "handed_over": 4, "pickup_deadline": said["pickup_deadline"],
                        "early": True}
        with pytest.raises(Exception) as early:
            close_round(session, base.id, "planner")
        assert "Hãy xác nhận" in early.value.vi  # type: ignore[attr-defined]
        close_round(session, base.id, "planner", force=True)
        assert _status(session, base.id) == "closed"


def test_a_round_and_its_variant_approved_at_once_leave_one_decision(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        base = _solved(session)
        variant = _variant(session, base.id, 10)
    gate = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(round_id: int) -> None:
        with sessions() as mine:
            gate.wait()
            try:
                approve_round(mine, round_id, "planner")
                outcomes.append("approved")
            except RoundError as error:
                outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=approve, args=(r,)) for r in (base.id, variant.id)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Either order: the variant last supersedes the approved base, or first leaves the base
    # superseded, so the base's approval finds it no longer solved.
    assert sorted(outcomes) in (["WrongState", "approved"], ["approved", "approved"])
    with sessions() as session:
        assert _status(session, variant.id) == "approved"
        assert _status(session, base.id) == "superseded"
        ledger.check(session)
