"""Real OS processes racing at the point desk (SQLite and PostgreSQL): the same household,
the same IMEI or the same form key sent at once, a refusal against the planner's handover
route, and faulty devices against the last spare of a lot. Exactly one record wins and the
ledger holds afterwards, checked in plain SQL."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from allocator.store import ledger, point_desk, rounds
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.models import Handover, Lot, User
from tests.store.point_store import PointStore, at_point, build, imei, national_id

PROCESSES = 4
TIMEOUT = 120


@pytest.fixture()
def made(db_url: str, tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session], PointStore]]:
    engine = make_engine(db_url)
    prepare(engine)
    sessions = make_sessions(engine)
    with sessions() as session:
        store = build(session, tmp_path / "registry")
    yield db_url, sessions, store
    engine.dispose()


def _work(url: str, barrier: Any, results: Any, at: int, job: dict[str, Any]) -> None:
    """One process: wait for the others, then make its move; report what came of it."""
    engine = make_engine(url)
    try:
        with make_sessions(engine)() as session:
            user = session.scalar(select(User).where(User.name == job["user"]))
            barrier.wait(TIMEOUT)
            try:
                if job["move"] == "planner":
                    got: Any = ("planner", rounds.record_handovers(
                        session, job["round_id"], [job["household_id"]], "planner"))
                else:
                    got = ("record", point_desk.record(session, user, **job["fields"]).id)
            except Exception as error:  # noqa: BLE001 - the parent judges what came back
                got = ("error", type(error).__name__, str(error)[:200])
            results.put((at, got))
    finally:
        engine.dispose()


def race(url: str, jobs: list[dict[str, Any]]) -> list[Any]:
    context = mp.get_context("spawn")  # no engine or connection is shared with the parent
    barrier, results = context.Barrier(len(jobs)), context.Queue()
    workers = [context.Process(target=_work, args=(url, barrier, results, at, job))
               for at, job in enumerate(jobs)]
    for worker in workers:
        worker.start()
    got = dict(results.get(timeout=TIMEOUT * 2) for _ in workers)
    for worker in workers:
        worker.join(TIMEOUT)
        assert worker.exitcode == 0
    return [got[at] for at in range(len(jobs))]


def fields(store: PointStore, household: str, **given: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "round_id": store.round_id, "household_id": household,
        "id_last4": national_id(int(household[1:]))[-4:], "authorised_note": "",
        "outcome": "handed", "imei": imei(int(household[1:])), "iccid": "", "note": "",
        "idempotency_key": f"form-key-{household}"}
    out.update(given)
    return out


def desk(store: PointStore, household: str, **given: Any) -> dict[str, Any]:
    return {"move": "record", "user": f"officer-{store.points[household]}",
            "fields": fields(store, household, **given)}


def ledger_holds(session: Session) -> None:
    """The ledger's invariants from the tables, and the records agreeing with them."""
    session.rollback()
    ledger.check(session)
    rows = lambda sql: list(session.execute(text(sql)))  # noqa: E731
    assert not rows("SELECT household_id FROM allocations a JOIN rounds r ON r.id = a.round_id "
                    "WHERE a.handed_over_at IS NOT NULL OR (r.status IN ('approved', "
                    "'pickup_over') AND a.released_at IS NULL) GROUP BY household_id "
                    "HAVING count(*) > 1")
    assert not rows("SELECT round_id, household_id FROM allocations "
                    "WHERE handed_over_at IS NOT NULL AND released_at IS NOT NULL")
    assert not rows("SELECT id FROM lots WHERE faulty < 0 OR faulty > quantity")
    assert all(f["available"] >= 0 for f in ledger.lot_figures(session))
    assert not rows("SELECT round_id, household_id FROM handovers WHERE undone_at IS NULL "
                    "AND outcome = 'handed' GROUP BY round_id, household_id "
                    "HAVING count(*) > 1")
    assert not rows("SELECT imei FROM handovers WHERE undone_at IS NULL AND imei IS NOT NULL "
                    "GROUP BY imei HAVING count(*) > 1")
    # a live 'handed' record stands for a handed allocation; a live refusal for a released one
    assert not rows("SELECT h.id FROM handovers h JOIN allocations a ON a.round_id = "
                    "h.round_id AND a.household_id = h.household_id WHERE h.undone_at IS NULL "
                    "AND ((h.outcome = 'handed' AND a.handed_over_at IS NULL) OR "
                    "(h.outcome = 'refused' AND a.released_at IS NULL))")


def records(session: Session) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).select_from(Handover)) or 0)


def test_one_household_from_four_processes_is_handed_over_once(made: Any) -> None:
    url, sessions, store = made
    household = at_point(store, "P-SG")[0]
    got = race(url, [desk(store, household, imei=imei(100 + n), idempotency_key=f"house-{n}x")
                     for n in range(PROCESSES)])
    won = [g for g in got if g[0] == "record"]
    assert len(won) == 1, got
    assert all(g[0] == "error" and g[1] == "DeskConflict" and "already" in g[2]
               for g in got if g[0] != "record"), got
    with sessions() as session:
        assert records(session) == 1
        ledger_holds(session)


def test_one_imei_for_four_households_at_once_is_recorded_once(made: Any) -> None:
    url, sessions, store = made
    households = at_point(store, "P-SG")[:2] + at_point(store, "P-BT")[:2]
    got = race(url, [desk(store, h, imei=imei(555)) for h in households])
    assert sum(g[0] == "record" for g in got) == 1, got
    assert all("IMEI" in g[2] for g in got if g[0] == "error"), got
    with sessions() as session:
        assert records(session) == 1
        ledger_holds(session)


def test_one_form_key_sent_four_times_at_once_records_once(made: Any) -> None:
    url, sessions, store = made
    household = at_point(store, "P-SG")[0]
    got = race(url, [desk(store, household, idempotency_key="the-same-key-1")] * PROCESSES)
    assert all(g[0] == "record" for g in got) and len({g[1] for g in got}) == 1, got
    with sessions() as session:
        assert records(session) == 1
        ledger_holds(session)


def test_a_refusal_at_the_desk_and_the_planners_route_at_once(made: Any) -> None:
    url, sessions, store = made
    households = at_point(store, "P-SG")[:2]
    planner = lambda h: {"move": "planner", "user": "planner",  # noqa: E731
                         "round_id": store.round_id, "household_id": h}
    got = race(url, [desk(store, households[0], outcome="refused", imei=""),
                     planner(households[0]),
                     desk(store, households[1], outcome="refused", imei=""),
                     planner(households[1])])
    assert all(g[0] != "error" or g[1] in ("DeskConflict", "NotAllocated") for g in got), got
    with sessions() as session:
        ledger_holds(session)


def test_faulty_devices_never_take_more_than_the_lot_has(made: Any) -> None:
    url, sessions, store = made
    with sessions() as session:  # one spare device left in the lot
        session.execute(update(Lot).where(Lot.id == "LOT-A").values(
            quantity=len(store.codes) + 1))
        session.commit()
    households = at_point(store, "P-SG")[:2] + at_point(store, "P-BT")[:2]
    got = race(url, [desk(store, h, outcome="faulty", imei=imei(700 + n))
                     for n, h in enumerate(households)])
    assert sum(g[0] == "record" for g in got) == 1, got
    with sessions() as session:
        assert session.get(Lot, "LOT-A", populate_existing=True).faulty == 1  # type: ignore
        ledger_holds(session)
