"""Random days at the points on a real store: the desk's records and undos (handed, faulty,
refused), paper lists, the planner's handover route, deadlines, closing and re-plans, in
any order, on SQLite and on PostgreSQL, with a fresh copy of a small approved round for
every sequence.

Each move's answer is predicted from the tables first (a record, or the typed refusal
the desk gives), and after every step the ledger and the records are worked out again
in plain SQL: no household holds two phones, no lot gives more than was pledged, a
phone is never both handed over and released, pickup codes are unique and every
allocation of a round picking up has one, a live record agrees with its allocation, and
a household handed its phone at the desk or by paper list has exactly one live
'handed' record.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from allocator.store import campaign, ledger, paper_list, point_desk, rounds
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.lifecycle import BadValue, RoundError
from allocator.store.models import User
from allocator.store.point_desk import DeskError, NotFound, NotHere
from tests.store.point_store import POINTS, build, imei, national_id
from tests.store.test_campaign_machine import copy_store

PICKING_UP = ("approved", "pickup_over")
MAX_VERSIONS = 3  # re-plans per sequence: each solve takes a moment
SEEN: Counter[str] = Counter()  # what the sequences did, printed at the end (pytest -s)


def note(what: str) -> None:
    event(what)
    SEEN[what] += 1


def prepare_template(url: str, folder: Path) -> dict[str, Any]:
    engine = make_engine(url)
    prepare(engine)
    with make_sessions(engine)() as session:
        store = build(session, folder / "registry")
    engine.dispose()  # nobody may be connected to a PostgreSQL template
    return {"round_id": store.round_id}


class PointMachine(RuleBasedStateMachine):
    template = ""
    cleanup: ThreadPoolExecutor

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="points-"))
        url, self.drop = copy_store(self.template, self.folder)
        self.engine = make_engine(url)
        self.sessions = make_sessions(self.engine)
        self.reader = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        # key -> (round, household, record, who sent it)
        self.keys: dict[str, tuple[int, str, int, str]] = {}
        self.imeis = 0
        self.by_planner: set[tuple[int, str]] = set()  # handed by the planner's route
        self.versions = 0
        self.files = 0

    def teardown(self) -> None:
        self.reader.close()
        self.engine.dispose()
        self.cleanup.submit(self.drop)
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- the tables -----------------------------------------------------------------------

    def rows(self, query: str, **params: Any) -> list[Any]:
        return list(self.reader.execute(text(query), params))

    def allocations(self) -> list[Any]:
        return self.rows("SELECT a.round_id, a.household_id, a.point_id, a.lot_id, "
                         "a.pickup_code, a.handed_over_at, a.released_at, r.status "
                         "FROM allocations a JOIN rounds r ON r.id = a.round_id "
                         "ORDER BY a.round_id, a.household_id")

    def records(self) -> list[Any]:
        return self.rows("SELECT id, round_id, household_id, point_id, officer, outcome, imei, "
                         "undone_at, via FROM handovers ORDER BY id")

    def available(self, extra: int = 0) -> int:
        """Devices of LOT-A neither handed over, reserved nor faulty (after `extra` more)."""
        quantity, faulty = self.rows("SELECT quantity, faulty FROM lots WHERE id = 'LOT-A'")[0]
        used = self.rows("SELECT count(*) FROM allocations a JOIN rounds r ON r.id = "
                         "a.round_id WHERE a.handed_over_at IS NOT NULL OR (r.status IN "
                         "('approved', 'pickup_over') AND a.released_at IS NULL)")[0][0]
        return int(quantity) - int(faulty or 0) - int(used) - extra

    def snapshot(self) -> tuple[Any, ...]:
        """What a refused move must leave as it was (the audit log aside: a refused
        identity check is audited on purpose)."""
        return (self.allocations(), self.records(),
                self.rows("SELECT id, quantity, faulty FROM lots ORDER BY id"),
                self.rows("SELECT id, status, superseded_by FROM rounds ORDER BY id"))

    def user(self, session: Any, name: str) -> User:
        found = session.query(User).filter(User.name == name).one()
        assert isinstance(found, User)
        return found

    def refused(self, call: Any, expected: type[Exception], field: str | None = "any") -> None:
        before = self.snapshot()
        with pytest.raises(expected) as caught:
            call()
        if field != "any":
            assert getattr(caught.value, "field", None) == field, caught.value
        assert self.snapshot() == before, f"refused ({caught.value}) yet the store changed"
        note(f"refused: {type(caught.value).__name__} {getattr(caught.value, 'field', '')}")

    def fresh_imei(self) -> str:
        self.imeis += 1
        return imei(1000 + self.imeis)

    def pick(self, data: st.DataObject) -> Any:
        """Mostly an allocation of a round picking up; now and then any (to be refused)."""
        allocations = self.allocations()
        open_ones = [a for a in allocations if a.status in PICKING_UP]
        if open_ones and data.draw(st.integers(0, 5), label="any") < 5:
            return data.draw(st.sampled_from(open_ones), label="allocation")
        return data.draw(st.sampled_from(allocations), label="allocation")

    # --- the desk -------------------------------------------------------------------------

    @rule(data=st.data(), outcome=st.sampled_from(["handed", "handed", "faulty", "refused"]),
          who=st.sampled_from(["own", "own", "own", "planner", "other"]),
          identity=st.sampled_from(["cccd"] * 6 + ["authorised", "wrong"]),
          device=st.sampled_from(["new"] * 5 + ["live", "undone"]),
          key=st.sampled_from(["new"] * 5 + ["again"]))
    def desk_record(self, data: st.DataObject, outcome: str, who: str, identity: str,
                    device: str, key: str) -> None:
        allocation = self.pick(data)
        if key == "again" and self.keys and data.draw(st.booleans(), label="resend"):
            target = self.keys[data.draw(st.sampled_from(sorted(self.keys)), label="sent")]
            allocation = next(a for a in self.allocations()
                              if (a.round_id, a.household_id) == target[:2])
        round_id, household, point = allocation.round_id, allocation.household_id, \
            allocation.point_id
        name = {"own": f"officer-{point}", "planner": "planner",
                "other": f"officer-{next(p for p in POINTS if p != point)}"}[who]
        records = self.records()
        live = [r.imei for r in records if r.imei and r.undone_at is None]
        undone = [r.imei for r in records if r.imei and r.undone_at is not None]
        given = {"live": live, "undone": undone}.get(device) or [self.fresh_imei()]
        chosen_imei = data.draw(st.sampled_from(sorted(given)), label="imei")
        sent = sorted(k for k, v in self.keys.items() if v[:2] == (round_id, household))
        if key == "again" and sent and data.draw(st.booleans(), label="same"):
            form_key = sent[0]  # the form sent again, after a dropped connection
        elif key == "again" and self.keys:
            form_key = data.draw(st.sampled_from(sorted(self.keys)), label="key")
        else:
            form_key = f"form-{len(self.keys)}-{self.imeis}-{outcome}"
        fields = {"round_id": round_id, "household_id": household, "outcome": outcome,
                  "id_last4": ("0000" if identity == "wrong" and
                               national_id(int(household[1:]))[-4:] != "0000"
                               else national_id(int(household[1:]))[-4:]),
                  "authorised_note": ("con gái nhận thay, có giấy ủy quyền"
                                      if identity == "authorised" else ""),
                  "imei": "" if outcome == "refused" else chosen_imei, "iccid": "",
                  "note": "", "idempotency_key": form_key}
        wrong_identity = identity == "wrong"
        with self.sessions() as session:
            user = self.user(session, name)
            call = lambda: point_desk.record(session, user, **fields)  # noqa: E731
            if form_key in self.keys:
                first = self.keys[form_key]
                if first[:2] != (round_id, household) or first[3] != name:
                    self.refused(call, DeskError, "idempotency_key")
                else:
                    assert call().id == first[2]
                    note("desk_record: same key, first record")
                return
            if allocation.status not in PICKING_UP:
                return self.refused(call, NotFound)
            if who == "other":  # another point's household: as if it were not there
                return self.refused(call, NotHere)
            if allocation.handed_over_at is not None or allocation.released_at is not None:
                return self.refused(call, DeskError, None)
            if wrong_identity:
                return self.refused(call, DeskError, "id_last4")
            if outcome != "refused" and chosen_imei in live:
                return self.refused(call, DeskError, "imei")
            if outcome == "faulty" and self.available() <= 0:
                return self.refused(call, DeskError, "outcome")
            faulty_before = self.rows("SELECT faulty FROM lots WHERE id = 'LOT-A'")[0][0] or 0
            row = call()
        self.keys[form_key] = (round_id, household, row.id, name)
        note(f"desk_record: {outcome}")
        after = next(a for a in self.allocations()
                     if (a.round_id, a.household_id) == (round_id, household))
        assert (after.handed_over_at is not None) == (outcome == "handed")
        assert (after.released_at is not None) == (outcome == "refused")
        faulty = self.rows("SELECT faulty FROM lots WHERE id = 'LOT-A'")[0][0] or 0
        assert faulty == faulty_before + (outcome == "faulty")

    @precondition(lambda self: bool(self.rows("SELECT 1 FROM handovers")))
    @rule(data=st.data(), who=st.sampled_from(["recorder", "recorder", "planner", "other"]))
    def desk_undo(self, data: st.DataObject, who: str) -> None:
        record = data.draw(st.sampled_from(self.records()), label="record")
        status = self.rows("SELECT status FROM rounds WHERE id = :id", id=record.round_id)[0][0]
        name = {"recorder": record.officer, "planner": "planner",
                "other": f"officer-{next(p for p in POINTS if p != record.point_id)}"}[who]
        with self.sessions() as session:
            user = self.user(session, name)
            call = lambda: point_desk.undo(session, user, record.id, "ghi nhầm hộ")  # noqa: E731
            if who == "other":  # another point's record: as if it were not there
                return self.refused(call, NotHere)
            if record.undone_at is not None:
                before = self.snapshot()
                assert call().undone_at is not None
                assert self.snapshot() == before
                return
            if status not in PICKING_UP:
                return self.refused(call, NotFound)
            if record.outcome == "refused":
                household = record.household_id
                holding = self.rows(
                    "SELECT 1 FROM allocations a JOIN rounds r ON r.id = a.round_id "
                    "WHERE a.household_id = :h AND (a.handed_over_at IS NOT NULL OR "
                    "(r.status IN ('approved', 'pickup_over') AND a.released_at IS NULL))",
                    h=household)
                if holding or self.available() <= 0:
                    return self.refused(call, DeskError, None)
            faulty_before = self.rows("SELECT faulty FROM lots WHERE id = 'LOT-A'")[0][0]
            call()
        note(f"desk_undo: {record.outcome}")
        after = next(a for a in self.allocations()
                     if (a.round_id, a.household_id) == (record.round_id, record.household_id))
        if record.outcome == "handed":
            assert after.handed_over_at is None
        elif record.outcome == "refused":
            assert after.released_at is None
        else:
            faulty = self.rows("SELECT faulty FROM lots WHERE id = 'LOT-A'")[0][0]
            assert faulty == faulty_before - 1

    @rule(data=st.data(), who=st.sampled_from(["own", "own", "planner", "other"]),
          trouble=st.sampled_from(["none"] * 4 + ["live imei", "twice", "other round"]))
    def paper(self, data: st.DataObject, who: str, trouble: str) -> None:
        allocations = self.allocations()
        round_id = self.pick(data).round_id
        status = next(a.status for a in allocations if a.round_id == round_id)
        point = data.draw(st.sampled_from(POINTS), label="point")
        mine = [a for a in allocations if a.round_id == round_id and a.point_id == point
                and a.pickup_code]
        if trouble == "other round":
            mine = [a for a in allocations if a.round_id != round_id and a.pickup_code]
        if not mine:
            return
        chosen = data.draw(st.lists(st.sampled_from(mine), min_size=1, max_size=3,
                                    unique_by=lambda a: a.household_id), label="rows")
        live = sorted(r.imei for r in self.records() if r.imei and r.undone_at is None)
        imeis = [self.fresh_imei() for _ in chosen]
        if trouble == "live imei" and live:
            imeis[0] = live[0]
        if trouble == "twice" and len(chosen) > 1:
            imeis[1] = imeis[0]
        self.files += 1
        path = self.folder / f"paper-{self.files}.csv"
        pd.DataFrame({"code": [a.pickup_code for a in chosen], "handed_over": "có",
                      "imei": imeis, "note": ""}).to_csv(path, index=False)
        name = {"own": f"officer-{point}", "planner": "planner",
                "other": f"officer-{next(p for p in POINTS if p != point)}"}[who]
        ok = (status in PICKING_UP and trouble == "none"
              or trouble == "live imei" and not live
              or trouble == "twice" and len(chosen) == 1) and who != "other" and all(
            a.handed_over_at is None and a.released_at is None for a in chosen)
        before = self.snapshot()
        with self.sessions() as session:
            user = self.user(session, name)
            if status not in PICKING_UP:
                with pytest.raises(NotFound):
                    paper_list.upload(session, user, round_id, path)
                assert self.snapshot() == before
                return
            report = paper_list.upload(session, user, round_id, path)
        assert report.ok == ok, (report.issues, ok)
        note(f"paper: {'recorded' if ok else 'refused'}")
        if not ok:
            assert self.snapshot() == before
            return
        done = {(a.round_id, a.household_id): a for a in self.allocations()}
        assert all(done[round_id, a.household_id].handed_over_at is not None for a in chosen)

    @rule(data=st.data(), again=st.integers(0, 2))
    def planner_route(self, data: st.DataObject, again: int) -> None:
        """The planner's older route: rarer than the desk, as at a real point."""
        if again:
            return
        allocations = self.allocations()
        round_id = self.pick(data).round_id
        mine = [a for a in allocations if a.round_id == round_id]
        chosen = data.draw(st.lists(st.sampled_from(mine), min_size=1, max_size=3,
                                    unique_by=lambda a: a.household_id), label="households")
        ids = [a.household_id for a in chosen]
        with self.sessions() as session:
            call = lambda: rounds.record_handovers(session, round_id, ids, "planner")  # noqa: E731
            if chosen[0].status not in PICKING_UP:
                return self.refused(call, RoundError)
            if any(a.released_at is not None for a in chosen):
                return self.refused(call, rounds.NotAllocated)
            newly = call()
        assert newly == sum(a.handed_over_at is None for a in chosen)
        self.by_planner |= {(round_id, a.household_id) for a in chosen
                            if a.handed_over_at is None}
        note("planner_route: recorded")

    # --- the round's lifecycle --------------------------------------------------------------

    def live_round(self) -> int | None:
        found = self.rows("SELECT id FROM rounds WHERE status IN ('approved', 'pickup_over')")
        return int(found[0][0]) if found else None

    @precondition(lambda self: self.live_round() is not None)
    @rule(data=st.data())
    def deadline_passes(self, data: st.DataObject) -> None:
        if data.draw(st.integers(0, 2), label="passes?") != 0:  # a rule without data is
            return  # chosen far more often than the others
        round_id = self.live_round()
        past = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=1)
        with self.engine.begin() as connection:
            connection.execute(text("UPDATE rounds SET pickup_deadline = :at WHERE id = :id"),
                               {"at": past, "id": round_id})
        with self.sessions() as session:
            campaign.expire_due(session)
        assert self.rows("SELECT status FROM rounds WHERE id = :id",
                         id=round_id)[0][0] == "pickup_over"
        note("deadline_passes")

    @precondition(lambda self: self.live_round() is not None)
    @rule(data=st.data(), days=st.sampled_from([0, 3, 20]))
    def move_deadline(self, data: st.DataObject, days: int) -> None:
        if data.draw(st.integers(0, 2), label="moves?") != 0:
            return
        round_id = self.live_round()
        assert round_id is not None
        day = dt.datetime.now(campaign.VIETNAM).date() + dt.timedelta(days=days)
        later = self.rows("SELECT max(window_day) FROM allocations WHERE round_id = :id AND "
                          "handed_over_at IS NULL AND released_at IS NULL", id=round_id)[0][0]
        with self.sessions() as session:
            if later is not None and str(later)[:10] > day.isoformat():
                return self.refused(lambda: campaign.set_pickup_deadline(
                    session, round_id, day, "planner"), BadValue)
            campaign.set_pickup_deadline(session, round_id, day, "planner")
        note("move_deadline")

    @precondition(lambda self: self.live_round() is not None)
    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        if data.draw(st.integers(0, 7), label="close?") != 0:  # seldom: it ends the sequence
            return
        round_id = self.live_round()
        assert round_id is not None
        with self.sessions() as session:
            campaign.close_round(session, round_id, "planner", force=True)
        note("close")
        for a in self.allocations():
            if a.round_id == round_id:
                assert (a.handed_over_at is None) != (a.released_at is None)

    @precondition(lambda self: self.live_round() is not None and self.versions < MAX_VERSIONS)
    @rule(data=st.data(), meanwhile=st.sampled_from(["nothing", "nothing", "hand over"]))
    def replan(self, data: st.DataObject, meanwhile: str) -> None:
        round_id = self.live_round()
        assert round_id is not None
        self.versions += 1
        with self.sessions() as session:
            version = campaign.replan_round(session, round_id, "planner")
            rounds.solve_round(session, version.id, "planner")
        new = self.rows("SELECT household_id FROM allocations WHERE round_id = :id",
                        id=version.id)
        refused = {h for (h,) in self.rows(
            "SELECT household_id FROM allocations WHERE round_id = :id AND released_at "
            "IS NOT NULL", id=round_id)}
        assert not refused & {h for (h,) in new}, "a refusal was offered the phone again"
        if meanwhile == "hand over":
            waiting = [a for a in self.allocations() if a.round_id == round_id
                       and a.handed_over_at is None and a.released_at is None]
            if waiting:
                a = data.draw(st.sampled_from(waiting), label="meanwhile")
                with self.sessions() as session:
                    rounds.record_handovers(session, round_id, [a.household_id], "planner")
                self.by_planner.add((round_id, a.household_id))
        old_codes = {a.household_id: a.pickup_code for a in self.allocations()
                     if a.round_id == round_id}
        handed = {a.household_id for a in self.allocations()
                  if a.handed_over_at is not None}
        twice = handed & {h for (h,) in new}
        with self.sessions() as session:
            if twice:
                return self.refused(lambda: campaign.approve_round(session, version.id,
                                                                   "planner"),
                                    ledger.LedgerConflict)
            campaign.approve_round(session, version.id, "planner")
        note("replan: approved")
        after = {a.household_id: a for a in self.allocations() if a.round_id == version.id}
        for household, a in after.items():  # a household told a code keeps it
            if old_codes.get(household):
                assert a.pickup_code == old_codes[household]

    # --- after every step -------------------------------------------------------------------

    @invariant()
    def ledger_and_records_agree(self) -> None:
        allocations = self.allocations()
        holding = Counter(a.household_id for a in allocations if a.handed_over_at is not None
                          or (a.status in PICKING_UP and a.released_at is None))
        assert not [h for h, n in holding.items() if n > 1], holding
        assert self.available() >= 0
        assert not [a for a in allocations if a.handed_over_at and a.released_at]
        codes = [a.pickup_code for a in allocations if a.pickup_code]
        assert len(codes) == len(set(codes))
        assert all(a.pickup_code for a in allocations if a.status in PICKING_UP)
        records = self.records()
        live = [r for r in records if r.undone_at is None]
        imeis = [r.imei for r in live if r.imei]
        assert len(imeis) == len(set(imeis))
        handed = Counter((r.round_id, r.household_id) for r in live if r.outcome == "handed")
        by_key = {(a.round_id, a.household_id): a for a in allocations}
        for (round_id, household), n in handed.items():
            assert n == 1 and by_key[round_id, household].handed_over_at is not None
        for r in live:
            if r.outcome == "refused":
                assert by_key[r.round_id, r.household_id].released_at is not None
        for key, a in by_key.items():
            if a.handed_over_at is not None and key not in self.by_planner:
                assert handed[key] == 1, (key, records)
        faulty = self.rows("SELECT faulty FROM lots WHERE id = 'LOT-A'")[0][0] or 0
        assert faulty == sum(r.outcome == "faulty" for r in live)
        with self.sessions() as session:
            ledger.check(session)


def test_random_days_at_the_points_keep_the_ledger(db_url: str, tmp_path: Path) -> None:
    prepare_template(db_url, tmp_path)
    chosen: dict[str, Any] = {
        "max_examples": max(30, settings().max_examples // 4), "stateful_step_count": 30,
        "deadline": None, "derandomize": True,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much]}
    with ThreadPoolExecutor(1) as cleanup:
        machine = type("Points", (PointMachine,), {"template": db_url, "cleanup": cleanup})
        run_state_machine_as_test(machine, settings=settings(**chosen))
    print(dict(sorted(SEEN.items())))
