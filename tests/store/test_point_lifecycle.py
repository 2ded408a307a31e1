"""The desk's records against the round's lifecycle and the campaign ledger (SQLite and
PostgreSQL): a planner's handover route beside the desk, re-plans approved after records
on the round they replace, rounds closed or past their deadline, paper lists and the desk
on one household."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from allocator.store import campaign, ledger, point_desk, rounds
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.models import AllocationRow, Handover, Lot
from allocator.store.point_desk import DeskError, NotFound
from tests.store.point_store import PointStore, at_point, build, imei, national_id


@pytest.fixture()
def made(db_url: str, tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], PointStore]]:
    engine = make_engine(db_url)
    prepare(engine)
    sessions = make_sessions(engine)
    with sessions() as session:
        store = build(session, tmp_path / "registry")
    yield sessions, store
    engine.dispose()


def submit(session: Session, store: PointStore, household: str, round_id: int | None = None,
           **given: Any) -> Handover:
    point = store.points[household]
    fields: dict[str, Any] = {
        "round_id": round_id or store.round_id, "household_id": household,
        "id_last4": national_id(int(household[1:]))[-4:], "authorised_note": "",
        "outcome": "handed", "imei": imei(int(household[1:])), "iccid": "", "note": "",
        "idempotency_key": f"key-{household}-{given.get('outcome', 'handed')}-{round_id}"}
    fields.update(given)
    return point_desk.record(session, store.officers[point], **fields)


def allocation(session: Session, round_id: int, household: str) -> AllocationRow:
    found = session.get(AllocationRow, (round_id, household), populate_existing=True)
    assert found is not None
    return found


def codes_unique(session: Session) -> None:
    codes = [c for c in session.scalars(select(AllocationRow.pickup_code)) if c]
    assert len(codes) == len(set(codes))


def test_a_household_that_refused_at_the_desk_is_not_handed_over_by_the_planner(
        made: Any) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    with sessions() as session:
        submit(session, store, household, outcome="refused", imei="")
        with pytest.raises(rounds.NotAllocated):
            rounds.record_handovers(session, store.round_id, [household], "planner")
        row = allocation(session, store.round_id, household)
        assert row.handed_over_at is None and row.released_at is not None
        ledger.check(session)


def test_the_planner_route_then_the_desk(made: Any) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    with sessions() as session:
        assert rounds.record_handovers(session, store.round_id, [household], "planner") == 1
        with pytest.raises(DeskError) as error:
            submit(session, store, household)
        assert "already" in error.value.english
        # the desk shows it handed over by the planner's list, with no record to undo
        row = point_desk.get(session, store.officers["P-SG"], store.round_id, household)
        assert (row.outcome, row.handover_id, row.recorded_by) == (
            "handed", None, point_desk.PLANNER_LIST)
        assert row.recorded_at == allocation(session, store.round_id, household).handed_over_at
        assert session.scalar(select(func.count()).select_from(Handover)) == 0


def test_the_desk_then_the_planner_route(made: Any) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    with sessions() as session:
        done = submit(session, store, household)
        at = allocation(session, store.round_id, household).handed_over_at
        assert rounds.record_handovers(session, store.round_id, [household], "planner") == 0
        assert allocation(session, store.round_id, household).handed_over_at == at
        point_desk.undo(session, store.officers["P-SG"], done.id, "wrong household")
        assert allocation(session, store.round_id, household).handed_over_at is None


def replan_and_approve(session: Session, store: PointStore, **change: Any) -> int:
    version = campaign.replan_round(session, store.round_id, "planner", **change)
    rounds.solve_round(session, version.id, "planner")
    campaign.approve_round(session, version.id, "planner")
    return version.id


def test_a_re_plan_keeps_what_the_desk_recorded(made: Any) -> None:
    sessions, store = made
    handed, faulty, refused = at_point(store, "P-SG")[:3]
    waiting = at_point(store, "P-BT")[0]
    with sessions() as session:
        done = submit(session, store, handed)
        broken = submit(session, store, faulty, outcome="faulty", imei=imei(70))
        submit(session, store, refused, outcome="refused", imei="")
        faulty_before = session.get(Lot, "LOT-A", populate_existing=True).faulty  # type: ignore
        version = replan_and_approve(session, store)
        old = {a.household_id: a for a in session.scalars(select(AllocationRow).where(
            AllocationRow.round_id == store.round_id).execution_options(
            populate_existing=True))}
        new = {a.household_id: a for a in session.scalars(select(AllocationRow).where(
            AllocationRow.round_id == version).execution_options(populate_existing=True))}
        # the handed household stays handed, in the superseded round, with its record
        assert old[handed].handed_over_at is not None and handed not in new
        assert old[handed].pickup_code == store.codes[handed]
        assert session.get(Handover, done.id, populate_existing=True).undone_at is None  # type: ignore
        # every allocation of the version has a code; waiting households keep theirs
        assert all(a.pickup_code for a in new.values())
        assert new[waiting].pickup_code == store.codes[waiting]
        assert new[faulty].pickup_code == store.codes[faulty]
        codes_unique(session)
        assert session.get(Lot, "LOT-A", populate_existing=True).faulty == faulty_before  # type: ignore
        # the household that refused its phone is not given one again by the version
        assert refused not in new, "the version reserved a phone for a household that refused"
        ledger.check(session)
        # records of the superseded round can no longer be undone at the desk
        with pytest.raises(NotFound):
            point_desk.undo(session, store.officers["P-SG"], done.id, "wrong household")
        with pytest.raises(NotFound):
            point_desk.undo(session, store.officers["P-SG"], broken.id, "was not broken")
        # the faulty household collects in the version, found by its code
        found = point_desk.find(session, store.officers["P-SG"], store.codes[faulty])
        assert [(r.round_id, r.household_id) for r in found] == [(version, faulty)]
        assert found[0].outcome is None  # its faulty record stays with the superseded round
        submit(session, store, faulty, round_id=version, imei=imei(71))
        ledger.check(session)


def test_a_handover_while_a_re_plan_is_drafted(made: Any) -> None:
    sessions, store = made
    household = at_point(store, "P-SG")[0]
    with sessions() as session:
        version = campaign.replan_round(session, store.round_id, "planner")
        rounds.solve_round(session, version.id, "planner")
        submit(session, store, household)
        # the version still reserves a phone for the household now handed one: refused
        with pytest.raises(ledger.LedgerConflict, match=household):
            campaign.approve_round(session, version.id, "planner")
        assert campaign.fresh(session, store.round_id).status == "approved"
        ledger.check(session)


def test_after_the_deadline_and_after_close(made: Any) -> None:
    sessions, store = made
    first, second, third = at_point(store, "P-SG")[:3]
    with sessions() as session:
        done = submit(session, store, first)
        session.execute(text("UPDATE rounds SET pickup_deadline = :at WHERE id = :id"),
                        {"at": "2000-01-01 00:00:00", "id": store.round_id})
        session.commit()
        assert campaign.expire_due(session) == [store.round_id]
        late = submit(session, store, second)  # a late collection is still a collection
        point_desk.undo(session, store.officers["P-SG"], done.id, "wrong household")
        refused = submit(session, store, third, outcome="refused", imei="")
        campaign.close_round(session, store.round_id, "planner")
        for record in (late, refused):
            with pytest.raises(NotFound):
                point_desk.undo(session, store.officers["P-SG"], record.id, "a mistake")
        assert allocation(session, store.round_id, second).handed_over_at is not None
        assert allocation(session, store.round_id, first).released_at is not None
        ledger.check(session)
