"""The campaign ledger and its moves on a real store (SQLite and PostgreSQL): rounds from
the ledger, approval guarded by the ledger, pickup deadlines, closing with release,
re-plans as versions, and two approvals racing for the same households."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from allocator.issues import InvalidInput
from allocator.store import ledger
from allocator.store.campaign import (
    EarlyClose,
    approve_round,
    close_round,
    create_round,
    expire_due,
    replan_diff,
    replan_round,
    set_pickup_deadline,
)
from allocator.store.imports import import_file
from allocator.store.ledger import LedgerConflict
from allocator.store.lifecycle import BadValue, RoundError, WrongState
from allocator.store.models import AllocationRow, AuditEntry, Lot, Round
from allocator.store.rounds import derive_round, record_handovers, solve_round, unpack_inputs


def _approved(session: Session, name: str = "r", **policy: int) -> Round:
    row = create_round(session, dict(policy), name, "planner")
    solve_round(session, row.id, "planner")
    return approve_round(session, row.id, "planner")


def _served(session: Session, round_id: int) -> list[str]:
    return list(session.scalars(select(AllocationRow.household_id)
                                .where(AllocationRow.round_id == round_id)
                                .order_by(AllocationRow.household_id)))


def _past_deadline(session: Session, round_id: int) -> None:
    session.execute(update(Round).where(Round.id == round_id).values(
        pickup_deadline=dt.datetime(2026, 1, 1)))
    session.commit()


def test_a_round_from_the_ledger_takes_what_remains(sessions: sessionmaker[Session],
                                                    tmp_path: Path) -> None:
    with sessions() as session:
        with pytest.raises(InvalidInput) as refused:
            create_round(session, {"budget_vnd": 400_000_001}, "too much", "planner")
        assert "ask for at most that" in " ".join(refused.value.lines())
        one = _approved(session, budget_vnd=250_000_000)
        assert one.policy["budget_vnd"] == 250_000_000
        handed = _served(session, one.id)[:40]
        record_handovers(session, one.id, handed, "officer")
        money = ledger.budget(session)
        assert money.spent + money.committed == one.summary["stage2"]  # type: ignore[index]
        two = create_round(session, {}, "next", "planner")
        assert two.policy["budget_vnd"] == 400_000_000 - money.spent - money.committed
        assert two.ledger is not None and two.ledger["reserved_elsewhere"] == \
            len(_served(session, one.id)) - len(handed)
        folder = unpack_inputs(two, tmp_path / "two")
    households = pd.read_csv(folder / "households.csv", dtype=str, keep_default_na=False)
    received = households.set_index("household_id")["received_device"]
    # "round N, YYYY-MM-DD": the round and the (UTC) day of the handover
    assert received.loc[handed].str.fullmatch(rf"round {one.id}, \d{{4}}-\d{{2}}-\d{{2}}").all()
    assert (received.drop(index=handed) == "").all()
    assert not set(households["household_id"]) & (set(_ids(sessions, one.id)) - set(handed))
    lots = pd.read_csv(folder / "lots.csv").set_index("lot_id")["quantity"]
    with sessions() as session:
        figures = {f["lot_id"]: f["available"] for f in ledger.lot_figures(session)}
    assert lots.to_dict() == figures


def _ids(sessions: sessionmaker[Session], round_id: int) -> list[str]:
    with sessions() as session:
        return _served(session, round_id)


def test_approval_is_refused_when_households_already_hold_a_phone(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        one = _approved(session, budget_vnd=200_000_000)
        variant = derive_round(session, one.id, {"budget_vnd": 220_000_000}, "+10%", "planner")
        solve_round(session, variant.id, "planner")
        # Approving the variant would supersede round one, but its first households have
        # their phones already: the variant would give them a second one.
        record_handovers(session, one.id, _served(session, one.id)[:2], "officer")
        before = session.scalar(select(func.count()).select_from(AuditEntry))
        with pytest.raises(LedgerConflict, match="two phones or reservations"):
            approve_round(session, variant.id, "planner")
        assert session.get_one(Round, variant.id, populate_existing=True).status == "solved"
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == before
        ledger.check(session)


def test_the_budget_and_lots_never_fall_below_what_is_used(sessions: sessionmaker[Session],
                                                           sample: Path,
                                                           tmp_path: Path) -> None:
    with sessions() as session:
        one = _approved(session, budget_vnd=300_000_000)
        money = ledger.budget(session)
        with pytest.raises(LedgerConflict, match="cannot be less than"):
            ledger.set_budget(session, money.committed - 1, "planner")
        assert ledger.budget(session).total == 400_000_000
        with pytest.raises(BadValue):
            ledger.set_budget(session, -5, "planner")
        busiest = session.execute(select(AllocationRow.lot_id, func.count())
                                  .where(AllocationRow.round_id == one.id)
                                  .group_by(AllocationRow.lot_id)
                                  .order_by(func.count().desc())).first()
        assert busiest is not None
        lots = pd.read_csv(sample / "lots.csv", dtype=str, keep_default_na=False)
        lots.loc[lots["lot_id"] == busiest[0], "quantity"] = str(busiest[1] - 1)
        lots.to_csv(tmp_path / "lots.csv", index=False)
        report = import_file(session, "lots", tmp_path / "lots.csv", "planner")
        assert not report.ok
        assert any(i.column == "quantity" and busiest[0] in i.message for i in report.issues)
        pledged = session.get_one(Lot, busiest[0], populate_existing=True).quantity
        assert pledged > busiest[1] - 1  # nothing was written
        after = ledger.pledge(session, busiest[0], 5, "sponsor desk")
        assert after["pledged"] == pledged + 5
        with pytest.raises(LedgerConflict):
            ledger.mark_faulty(session, busiest[0], after["available"] + 1, "planner")
        assert ledger.mark_faulty(session, busiest[0], 2, "planner")["faulty"] == 2


def test_deadline_close_release_and_no_shows(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        one = _approved(session, budget_vnd=200_000_000)
        served = _served(session, one.id)
        record_handovers(session, one.id, served[:10], "officer")
        with pytest.raises(EarlyClose, match="Confirm"):
            close_round(session, one.id, "planner")
        assert expire_due(session) == []
        _past_deadline(session, one.id)
        assert expire_due(session) == [one.id]
        assert session.get_one(Round, one.id, populate_existing=True).status == "pickup_over"
        record_handovers(session, one.id, served[10:12], "officer")  # late, but before closing
        with pytest.raises(BadValue, match="were told to come after"):  # windows run to day 14
            set_pickup_deadline(session, one.id, dt.date.today() + dt.timedelta(days=3),
                                "planner")
        reopened = set_pickup_deadline(session, one.id, dt.date.today() + dt.timedelta(days=20),
                                       "planner")
        assert reopened.status == "approved"
        with pytest.raises(BadValue, match="already passed"):
            set_pickup_deadline(session, one.id, dt.date(2026, 1, 1), "planner")
        _past_deadline(session, one.id)
        closed = close_round(session, one.id, "planner")
        assert closed.status == "closed"
        with pytest.raises(WrongState):
            record_handovers(session, one.id, served[12:13], "officer")
        released = set(session.scalars(select(AllocationRow.household_id).where(
            AllocationRow.round_id == one.id, AllocationRow.released_at.is_not(None))))
        assert released == set(served[12:])
        states = ledger.household_states(session)
        assert set(states.no_shows) == released and not states.reserved
        # Offered again by default; left out once the campaign says one no-show is enough.
        again = create_round(session, {}, "again", "planner")
        assert again.ledger is not None and again.ledger["left_out_no_shows"] == 0
        ledger.set_settings(session, "planner", no_show_limit=1)
        strict = create_round(session, {}, "strict", "planner")
        assert strict.ledger is not None
        assert strict.ledger["left_out_no_shows"] == len(released)


def test_a_replan_keeps_the_handed_over_and_supersedes_on_approval(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        one = _approved(session, budget_vnd=300_000_000)
        served = _served(session, one.id)
        record_handovers(session, one.id, served[:25], "officer")
        rows = {a.household_id: a for a in session.scalars(
            select(AllocationRow).where(AllocationRow.round_id == one.id))}
        points = pd.Series([a.point_id for a in rows.values()]).value_counts()
        closed = points.index[0]
        with pytest.raises(InvalidInput) as refused:
            replan_round(session, one.id, "planner", close_points=["NOPE"])
        assert "no point NOPE in round" in " ".join(refused.value.lines())
        version = replan_round(session, one.id, "planner", close_points=[closed],
                               withdraw=[served[30]])
        assert version.replaces == one.id and version.status == "draft"
        assert session.get_one(Round, one.id, populate_existing=True).status == "approved"
        with pytest.raises(WrongState):
            replan_diff(session, version.id)
        solve_round(session, version.id, "planner")
        diff = replan_diff(session, version.id)
        assert diff["handed_over_fixed"] == 25
        changes = {h["household_id"]: h for h in diff["households"]}
        assert changes[served[30]]["change"] == "loses"
        assert changes[served[30]]["reason"] == "withdrawn"
        at_closed = {h for h, a in rows.items() if a.point_id == closed and h not in served[:25]}
        assert all(changes[h]["change"] != "keeps" for h in at_closed)
        assert not set(_served(session, version.id)) & set(served[:25])
        approved = approve_round(session, version.id, "planner")
        assert approved.status == "approved"
        old = session.get_one(Round, one.id, populate_existing=True)
        assert old.status == "superseded" and old.superseded_by == version.id
        with pytest.raises(WrongState):
            approve_round(session, one.id, "planner")
        with pytest.raises(WrongState):
            replan_round(session, one.id, "planner")
        ledger.check(session)
        money = ledger.budget(session)
        assert money.remaining is not None and money.remaining >= 0


def test_a_collection_after_the_replan_was_made_stops_its_approval(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        one = _approved(session, budget_vnd=200_000_000)
        version = replan_round(session, one.id, "planner", lot_quantities={})
        solve_round(session, version.id, "planner")
        kept = _served(session, version.id)
        record_handovers(session, one.id, [kept[0]], "officer")  # meanwhile, at the point
        with pytest.raises(LedgerConflict, match=kept[0]):
            approve_round(session, version.id, "planner")
        assert session.get_one(Round, one.id, populate_existing=True).status == "approved"
        assert session.get_one(Round, version.id, populate_existing=True).status == "solved"


def test_two_approvals_racing_for_the_same_households_one_wins(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        # Two rounds from the same registry (not a variant of the other, whose approval
        # would supersede it): the same households, and no link between them.
        first = create_round(session, {"budget_vnd": 200_000_000}, "a", "planner")
        second = create_round(session, {"budget_vnd": 210_000_000}, "b", "planner")
        solve_round(session, first.id, "planner")
        solve_round(session, second.id, "planner")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(round_id: int) -> None:
        with sessions() as mine:
            barrier.wait()
            try:
                approve_round(mine, round_id, "planner")
                outcomes.append("approved")
            except RoundError as error:
                outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=approve, args=(r,)) for r in (first.id, second.id)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["LedgerConflict", "approved"]
    with sessions() as session:
        statuses = sorted(session.scalars(select(Round.status).where(
            Round.id.in_([first.id, second.id]))))
        assert statuses == ["approved", "solved"]
        ledger.check(session)


def test_a_round_imported_without_communes_can_be_re_planned(sessions: sessionmaker[Session],
                                                             sample: Path,
                                                             tmp_path: Path) -> None:
    import shutil

    from allocator.store.rounds import import_folder_as_round

    folder = tmp_path / "given"
    shutil.copytree(sample, folder)
    (folder / "communes.csv").unlink(missing_ok=True)  # optional in a contract folder
    with sessions() as session:
        ledger.set_budget(session, None, "planner")  # the folder brings its own budget
        row = import_folder_as_round(session, folder, "as given", "planner")
        solve_round(session, row.id, "planner")
        approve_round(session, row.id, "planner")
        version = replan_round(session, row.id, "planner")
        solve_round(session, version.id, "planner")
        assert replan_diff(session, version.id)["counts"]["loses"] == 0
