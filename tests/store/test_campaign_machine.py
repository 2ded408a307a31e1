"""Random campaigns on a real store: every step keeps the ledger, checked in plain SQL.

A state machine imports households, pledges devices, marks some faulty, moves the
budget, creates rounds from the ledger, solves, approves, records handovers, lets
pickup deadlines pass, closes, re-plans and varies a round's budget (a variant's
approval supersedes the round it varies), in any order, on SQLite and on
PostgreSQL, with a fresh store for every sequence. After each step the ledger's
invariants are worked out again from the tables themselves (not through
allocator.store.ledger), and each move the ledger should refuse is predicted
from those tables first: a refusal must be the predicted typed error and must
leave the store exactly as it was; a move predicted to be allowed must happen.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import sys
import tempfile
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from allocator.issues import InvalidInput
from allocator.store import campaign, ledger, rounds, variants
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import import_file
from allocator.store.lifecycle import BadValue, RoundError, WrongState
from allocator.store.models import AllocationRow
from scenarios.named import scenario

ACTOR = "planner"
PICKING_UP = ("approved", "pickup_over")
SOLVABLE = ("draft", "solved", "failed")
SUPERSEDABLE = ("solved", *PICKING_UP)  # what approving a variant of it supersedes
DATA_FILES = ("households.csv", "lots.csv", "points.csv", "communes.csv", "keep.csv")
MILLION = 1_000_000
MAX_ROUNDS = 6  # per sequence: each solve takes half a second


@lru_cache(maxsize=1)
def registry() -> dict[str, pd.DataFrame]:
    """A small city: the households of four communes, one point in each, five lots of a
    few devices, so a solve takes well under a second and devices and money run short."""
    tables = scenario("sample", 3)
    households, points = tables.households, tables.points
    with_points = set(points["commune_code"])
    communes = [c for c in households["commune_code"].value_counts().index
                if c in with_points][:4]
    lots = tables.lots[(tables.lots["allowed_communes"].fillna("") == "")
                       & (tables.lots["allowed_statuses"].fillna("") == "")].head(5).copy()
    lots["quantity"] = [24, 20, 16, 20, 12][:len(lots)]
    mine = households[households["commune_code"].isin(communes)].reset_index(drop=True)
    return {"lots": lots, "points": points[points["commune_code"].isin(communes)]
            .groupby("commune_code").head(1),
            "households": mine.iloc[::2], "pool": mine.iloc[1::2]}


def prepare_template(url: str, folder: Path) -> None:
    """Migrate the test's fresh store and import the registry: each example starts from a
    copy of it (copying is much faster than migrating, above all on PostgreSQL)."""
    engine = make_engine(url)
    prepare(engine)
    with make_sessions(engine)() as session:
        for kind in ("lots", "points", "households"):
            registry()[kind].to_csv(folder / f"{kind}.csv", index=False, lineterminator="\n")
            report = import_file(session, kind, folder / f"{kind}.csv", ACTOR)
            assert report.ok, report.issues
    engine.dispose()  # nobody may be connected to a PostgreSQL template


def copy_store(template: str, folder: Path) -> tuple[str, Callable[[], None]]:
    """A new store copied from the template, and how to remove it."""
    source = make_url(template)
    if source.get_backend_name() == "sqlite":
        shutil.copyfile(str(source.database), folder / "store.db")
        return f"sqlite:///{folder / 'store.db'}", lambda: None
    name = f"{source.database}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(source, isolation_level="AUTOCOMMIT")
    for wait in (0.5, 1, 2, 0):  # the server's autovacuum may be on the template a moment
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql(
                    f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"')
            break
        except DBAPIError:
            if not wait:
                raise
            time.sleep(wait)

    def drop() -> None:
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            admin.dispose()

    return source.set(database=name).render_as_string(hide_password=False), drop


class CampaignMachine(RuleBasedStateMachine):
    template = ""  # the URL of a prepared store (see `prepare_template`)
    cleanup: ThreadPoolExecutor  # drops the examples' databases

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="campaign-"))
        url, self.drop = copy_store(self.template, self.folder)
        self.engine = make_engine(url)
        self.sessions = make_sessions(self.engine)
        # The test's own reads: each its own transaction, so each sees the latest commit.
        self.reader = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self.known: dict[int, str] = {}  # round statuses after the last step
        self.rounds: list[int] = []
        self.imported = list(registry()["households"]["household_id"])
        self.pool = registry()["pool"]
        self.files = 0

    def teardown(self) -> None:
        self.reader.close()
        self.engine.dispose()
        self.cleanup.submit(self.drop)  # a PostgreSQL drop takes a second: not waited for
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- the tables, read with plain SQL ----------------------------------------------

    def _rows(self, query: str, **params: Any) -> list[Any]:
        return list(self.reader.execute(text(query), params))

    def holdings(self) -> list[tuple[str, int, str, int, str]]:
        """(household, round, lot, public cost, handed|reserved) of what households hold."""
        return [tuple(r) for r in self._rows(
            "SELECT a.household_id, a.round_id, a.lot_id, a.public_cost_vnd, "
            "CASE WHEN a.handed_over_at IS NOT NULL THEN 'handed' ELSE 'reserved' END "
            "FROM allocations a JOIN rounds r ON r.id = a.round_id "
            "WHERE a.handed_over_at IS NOT NULL OR "
            "(r.status IN ('approved', 'pickup_over') AND a.released_at IS NULL)")]

    def lots(self) -> dict[str, tuple[int, int]]:
        return {lot: (int(q), int(f or 0)) for lot, q, f in
                self._rows("SELECT id, quantity, faulty FROM lots")}

    def budget_total(self) -> int | None:
        rows = self._rows("SELECT budget_vnd FROM campaign WHERE id = 1")
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    def some(self, wanted: tuple[str, ...]) -> bool:
        """A round in one of these statuses exists (the rules for them are worth a step)."""
        return any(s in wanted for s in self.known.values())

    def statuses(self) -> dict[int, str]:
        return {int(i): s for i, s in self._rows("SELECT id, status FROM rounds")}

    def round_row(self, round_id: int) -> Any:
        row = self._rows("SELECT id, status, replaces, based_on, superseded_by, "
                         "pickup_deadline, policy FROM rounds WHERE id = :id",
                         id=round_id)[0]._asdict()
        if isinstance(row["policy"], str):  # JSON and times are text on SQLite
            row["policy"] = json.loads(row["policy"])
        if isinstance(row["pickup_deadline"], str):
            row["pickup_deadline"] = dt.datetime.fromisoformat(row["pickup_deadline"])
        return SimpleNamespace(**row)

    def allocations(self, round_id: int) -> list[Any]:
        return self._rows("SELECT household_id, lot_id, point_id, public_cost_vnd, "
                          "handed_over_at, released_at FROM allocations "
                          "WHERE round_id = :id ORDER BY household_id", id=round_id)

    def available(self, holdings: list[tuple[str, int, str, int, str]]) -> dict[str, int]:
        used = Counter(lot for _, _, lot, _, _ in holdings)
        return {lot: q - used[lot] - f for lot, (q, f) in self.lots().items()}

    def snapshot(self) -> tuple[Any, ...]:
        """Everything a refused move must leave as it was."""
        return (
            self._rows("SELECT id, status, replaces, superseded_by, pickup_deadline, "
                       "approved_at, solve_attempt FROM rounds ORDER BY id"),
            self._rows("SELECT round_id, household_id, lot_id, point_id, handed_over_at, "
                       "released_at FROM allocations ORDER BY round_id, household_id"),
            self._rows("SELECT id, quantity, faulty FROM lots ORDER BY id"),
            self._rows("SELECT budget_vnd, no_show_limit, pickup_days, version FROM campaign"),
            self._rows("SELECT (SELECT count(*) FROM audit_log), (SELECT count(*) FROM "
                       "households), (SELECT count(*) FROM solve_jobs), (SELECT count(*) "
                       "FROM unserved)"),
        )

    def refused(self, call: Callable[[], Any], expected: type[Exception],
                what: str = "") -> Exception:
        """`call` raises `expected` (a typed refusal) and changes nothing."""
        before = self.snapshot()
        with pytest.raises(expected) as caught:
            call()
        assert isinstance(caught.value, RoundError | InvalidInput), repr(caught.value)
        assert self.snapshot() == before, f"refused ({caught.value}) yet the store changed"
        event(f"{what or sys._getframe(1).f_code.co_name}: {type(caught.value).__name__}")
        return caught.value

    def pick(self, data: st.DataObject, wanted: tuple[str, ...]) -> int:
        """Mostly a round in a wanted status; now and then any round (to be refused)."""
        statuses = self.statuses()
        fitting = sorted(r for r, s in statuses.items() if s in wanted)
        if fitting and data.draw(st.integers(0, 4), label="any") < 4:
            return data.draw(st.sampled_from(fitting), label="round")
        return data.draw(st.sampled_from(sorted(statuses)), label="round")

    def write(self, kind: str, table: pd.DataFrame) -> Path:
        self.files += 1
        path = self.folder / f"{kind}-{self.files}.csv"
        table.to_csv(path, index=False, lineterminator="\n")
        return path

    def frozen(self, round_id: int) -> dict[str, pd.DataFrame]:
        blob = self._rows("SELECT inputs FROM rounds WHERE id = :id", id=round_id)[0][0]
        with zipfile.ZipFile(io.BytesIO(bytes(blob))) as archive:
            return {n.removesuffix(".csv"): pd.read_csv(io.BytesIO(archive.read(n)), dtype=str,
                                                        keep_default_na=False)
                    for n in archive.namelist() if n.endswith(".csv")}

    # --- set-up ----------------------------------------------------------------------

    @initialize(data=st.data(), budget=st.sampled_from([None, 60 * MILLION, 150 * MILLION]),
                no_show_limit=st.sampled_from([None, 1, 2]),
                then=st.sampled_from(["solve", "approve", "approve, hand over"]))
    def start(self, data: st.DataObject, budget: int | None, no_show_limit: int | None,
              then: str) -> None:
        """The campaign's settings, and a first round (every sequence has one to work on)."""
        with self.sessions() as session:
            ledger.set_budget(session, budget, ACTOR)
            ledger.set_settings(session, ACTOR, no_show_limit=no_show_limit)
        self.create_round(data, "some", 0, then)

    # --- the registry and the campaign's settings --------------------------------------

    @rule(data=st.data(), what=st.sampled_from(["households", "pledge", "faulty", "budget"]))
    def change_campaign(self, data: st.DataObject, what: str) -> None:
        """One rule for the four, so they take a fair share of the steps, not most."""
        {"households": self.import_households, "pledge": self.pledge,
         "faulty": self.mark_faulty, "budget": self.set_budget}[what](data)

    def import_households(self, data: st.DataObject) -> None:
        new = data.draw(st.integers(0, min(15, len(self.pool))), label="new")
        again = data.draw(st.lists(st.sampled_from(self.imported), max_size=8, unique=True),
                          label="again")
        members = data.draw(st.integers(1, 8), label="members")
        known = registry()["households"]
        old = pd.concat([known, registry()["pool"]])
        old = old[old["household_id"].isin(again)].assign(members=members)
        table = pd.concat([self.pool.iloc[:new], old])
        if table.empty:
            return
        with self.sessions() as session:
            report = import_file(session, "households", self.write("households", table), ACTOR)
        assert report.ok, report.issues
        assert (report.inserted, report.updated) == (new, len(again))
        event("import_households: imported")
        self.imported += list(self.pool["household_id"].iloc[:new])
        self.pool = self.pool.iloc[new:]

    def pledge(self, data: st.DataObject) -> None:
        devices = data.draw(st.integers(0, 10), label="devices")
        lot = data.draw(st.sampled_from([*sorted(self.lots()), "NO-SUCH-LOT"]), label="lot")
        with self.sessions() as session:
            if devices == 0 or lot == "NO-SUCH-LOT":
                self.refused(lambda: ledger.pledge(session, lot, devices, ACTOR),
                             BadValue if devices == 0 else ledger.LotNotFound)
                return
            before = self.lots()[lot]
            ledger.pledge(session, lot, devices, ACTOR)
        assert self.lots()[lot] == (before[0] + devices, before[1])
        event("pledge: pledged")

    def mark_faulty(self, data: st.DataObject) -> None:
        devices = data.draw(st.integers(0, 8), label="devices")
        lot = data.draw(st.sampled_from(sorted(self.lots())), label="lot")
        before = self.lots()[lot]
        free = self.available(self.holdings())[lot]
        with self.sessions() as session:
            if devices == 0:
                self.refused(lambda: ledger.mark_faulty(session, lot, devices, ACTOR), BadValue)
                return
            if devices > free:
                self.refused(lambda: ledger.mark_faulty(session, lot, devices, ACTOR),
                             ledger.LedgerConflict)
                return
            ledger.mark_faulty(session, lot, devices, ACTOR)
        assert self.lots()[lot] == (before[0], before[1] + devices)
        event("mark_faulty: marked")

    def set_budget(self, data: st.DataObject) -> None:
        choice = data.draw(st.sampled_from(["none", "negative", "below", "exact", "above",
                                            "above"]), label="budget")
        step = data.draw(st.integers(1, 20 * MILLION), label="step")
        used = sum(cost for _, _, _, cost, _ in self.holdings())
        wanted = {"none": None, "negative": -step, "below": max(0, used - step) if used else step,
                  "exact": used, "above": used + step}[choice]
        with self.sessions() as session:
            if wanted is not None and wanted < used:
                self.refused(lambda: ledger.set_budget(session, wanted, ACTOR),
                             BadValue if wanted < 0 else ledger.LedgerConflict)
                return
            ledger.set_budget(session, wanted, ACTOR)
        assert self.budget_total() == wanted
        event("set_budget: set")

    # --- rounds ----------------------------------------------------------------------

    @precondition(lambda self: len(self.rounds) < MAX_ROUNDS)
    @rule(data=st.data(), ask=st.sampled_from(["some", "some", "default", "all", "over"]),
          seed=st.integers(0, 9),
          then=st.sampled_from(["leave", "solve", "approve", "approve, hand over"]))
    def create_round(self, data: st.DataObject, ask: str, seed: int, then: str) -> None:
        holdings = self.holdings()
        total = self.budget_total()
        policy: dict[str, Any] = {"seed": seed, "max_distance_km": 2.0}
        remaining = None if total is None else max(
            0, total - sum(cost for _, _, _, cost, _ in holdings))
        if remaining is None:  # each round brings its own budget
            policy["budget_vnd"] = {"some": 12, "default": 20, "all": 40, "over": 60}[ask] \
                * MILLION
        elif ask != "default":  # default: what the campaign has left
            policy["budget_vnd"] = {"some": min(remaining, 12 * MILLION), "all": remaining,
                                    "over": remaining + 1}[ask]
        with self.sessions() as session:
            if remaining is not None and ask == "over":
                self.refused(lambda: campaign.create_round(session, policy, "r", ACTOR),
                             InvalidInput)
                return
            row = campaign.create_round(session, policy, "r", ACTOR)
        event("create_round: created")
        self.rounds.append(row.id)
        self.check_frozen_from_ledger(row.id, holdings)
        if then != "leave":
            self.solve_round(row.id)
        if then.startswith("approve"):
            self.approve_round(row.id)
        if then == "approve, hand over" and self.statuses()[row.id] == "approved":
            self.hand_over(data, row.id)

    def check_frozen_from_ledger(self, round_id: int,
                                 holdings: list[tuple[str, int, str, int, str]]) -> None:
        """The new round offers every registry household not reserved elsewhere (nor over
        the no-show limit), marks those handed a phone, and each lot at what is left."""
        tables = self.frozen(round_id)
        handed = {h for h, _, _, _, kind in holdings if kind == "handed"}
        reserved = {h for h, _, _, _, kind in holdings if kind == "reserved"}
        limit = self._rows("SELECT no_show_limit FROM campaign")[0][0]
        no_shows = Counter(h for (h,) in self._rows(
            "SELECT household_id FROM allocations WHERE released_at IS NOT NULL"))
        registered = {h for (h,) in self._rows("SELECT id FROM households")}
        expected = {h for h in registered - reserved
                    if limit is None or no_shows[h] < limit}
        offered = tables["households"]
        assert set(offered["household_id"]) == expected
        marked = set(offered.loc[offered["received_device"] != "", "household_id"])
        assert marked == handed & expected
        quantities = dict(zip(tables["lots"]["lot_id"], tables["lots"]["quantity"].astype(int),
                              strict=True))
        assert quantities == {lot: max(0, n) for lot, n in self.available(holdings).items()}

    @precondition(lambda self: self.some(("draft", "failed")))
    @rule(data=st.data())
    def solve(self, data: st.DataObject) -> None:
        self.solve_round(self.pick(data, ("draft", "failed")))  # any: maybe solved again

    def solve_round(self, round_id: int) -> None:
        status = self.statuses()[round_id]
        with self.sessions() as session:
            if status not in SOLVABLE:
                self.refused(lambda: rounds.solve_round(session, round_id, ACTOR), WrongState)
                return
            row = rounds.solve_round(session, round_id, ACTOR)
        assert row.status == "solved"
        event(f"solve_round: {'served some' if self.allocations(round_id) else 'served none'}")
        # A round never serves a household its frozen inputs mark as already served.
        frozen = self.frozen(round_id)["households"]
        served_before = set(frozen.loc[frozen["received_device"] != "", "household_id"])
        assert not served_before & {a.household_id for a in self.allocations(round_id)}

    @precondition(lambda self: self.some(("solved",)))
    @rule(data=st.data(), days=st.sampled_from([None, 1, 7, 30]))
    def approve(self, data: st.DataObject, days: int | None) -> None:
        self.approve_round(self.pick(data, ("solved",)), days)

    def approve_round(self, round_id: int, days: int | None = None) -> None:
        row = self.round_row(round_id)
        statuses = self.statuses()
        approve = lambda session: campaign.approve_round(  # noqa: E731
            session, round_id, ACTOR, pickup_days=days)
        # What the approval supersedes: the round a re-plan replaces, or the round a
        # variant varies while that round is solved or open for pickup.
        old = row.replaces
        if old is None and row.based_on is not None \
                and statuses.get(row.based_on) in SUPERSEDABLE:
            old = row.based_on
        what = "approve_version" if old is not None else "approve_round"
        today = dt.datetime.now(campaign.VIETNAM).date()
        with self.sessions() as session:
            if row.status != "solved" or (row.replaces is not None
                                          and statuses[row.replaces] not in PICKING_UP):
                self.refused(lambda: approve(session), WrongState, what)
                return
            problem = self.approval_breaks_ledger(round_id, old)
            if problem:
                self.refused(lambda: approve(session), ledger.LedgerConflict, what)
                return
            approve(session)
        after = self.round_row(round_id)
        # Households may come until the end of the day (in Vietnam, UTC+7) `days` from now.
        ends = [dt.datetime.combine(today + dt.timedelta(days=(days or 14) + late), dt.time(17))
                for late in (0, 1)]  # 1: midnight passed while approving
        assert after.status == "approved" and after.pickup_deadline in ends, after
        event(f"{what}: approved")
        if old is not None:
            gone = self.round_row(old)
            assert (gone.status, gone.superseded_by) == ("superseded", round_id)
            assert after.replaces == old

    def approval_breaks_ledger(self, round_id: int, replaces: int | None) -> str:
        """Why approving the round would break the ledger ('' if it would not): its
        allocations reserved, the reservations of the round it replaces freed."""
        holdings = [h for h in self.holdings()
                    if not (h[1] == replaces and h[4] == "reserved")]
        holdings += [(a.household_id, round_id, a.lot_id, int(a.public_cost_vnd), "reserved")
                     for a in self.allocations(round_id)]
        twice = [h for h, n in Counter(h for h, *_ in holdings).items() if n > 1]
        over = [lot for lot, n in self.available(holdings).items() if n < 0]
        total = self.budget_total()
        spent = sum(cost for _, _, _, cost, _ in holdings)
        return "; ".join(
            ([f"households twice: {sorted(twice)[:5]}"] if twice else [])
            + ([f"lots over: {over}"] if over else [])
            + ([f"budget {total:,} < {spent:,}"] if total is not None and spent > total
               else []))

    @precondition(lambda self: self.some(PICKING_UP))
    @rule(data=st.data())
    def record_handovers(self, data: st.DataObject) -> None:
        self.hand_over(data, self.pick(data, PICKING_UP))

    def hand_over(self, data: st.DataObject, round_id: int) -> None:
        """Some of the round's households collect their phones (or a stranger is named)."""
        status = self.statuses()[round_id]
        mine = {a.household_id: a for a in self.allocations(round_id)}
        chosen = data.draw(st.lists(st.sampled_from(sorted(mine)), unique=True, min_size=1,
                                    max_size=12)
                           if mine else st.just([]), label="households")
        stranger = data.draw(st.integers(0, 9), label="stranger") == 9
        with self.sessions() as session:
            if status not in PICKING_UP:
                self.refused(lambda: rounds.record_handovers(session, round_id, chosen, ACTOR),
                             WrongState)
                return
            if stranger:  # a registry household this round did not allocate
                other = next((h for h in self.imported if h not in mine), "NO-SUCH-HOUSEHOLD")
                self.refused(lambda: rounds.record_handovers(
                    session, round_id, [*chosen, other], ACTOR), rounds.NotAllocated)
                return
            newly = rounds.record_handovers(session, round_id, chosen, ACTOR)
        assert newly == sum(mine[h].handed_over_at is None for h in chosen)
        event(f"record_handovers: {'some' if newly else 'none'} new")
        after = {a.household_id: a for a in self.allocations(round_id)}
        assert all(after[h].handed_over_at is not None for h in chosen)

    @precondition(lambda self: self.some(("approved",)))
    @rule(data=st.data())
    def pickup_deadline_passes(self, data: st.DataObject) -> None:
        round_id = self.pick(data, ("approved",))
        status = self.statuses()[round_id]
        if status != "approved":
            with self.sessions() as session:
                assert campaign.expire_due(session) == []
            return
        past = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=1)
        with self.engine.begin() as connection:  # time passes
            connection.execute(text("UPDATE rounds SET pickup_deadline = :at WHERE id = :id"),
                               {"at": past, "id": round_id})
        with self.sessions() as session:
            assert campaign.expire_due(session) == [round_id]
        assert self.statuses()[round_id] == "pickup_over"
        event("pickup_deadline_passes: expired")

    @precondition(lambda self: self.some(PICKING_UP))
    @rule(data=st.data(), days=st.sampled_from([-1, 0, 5, 400]))
    def move_deadline(self, data: st.DataObject, days: int) -> None:
        """The planner gives households more time: a round past its deadline opens again."""
        round_id = self.pick(data, PICKING_UP)
        status = self.statuses()[round_id]
        day = dt.datetime.now(campaign.VIETNAM).date() + dt.timedelta(days=days)
        with self.sessions() as session:
            if days in (-1, 400):  # already passed, or more than a year away
                self.refused(lambda: campaign.set_pickup_deadline(session, round_id, day,
                                                                  ACTOR), BadValue)
                return
            if status not in PICKING_UP:
                self.refused(lambda: campaign.set_pickup_deadline(session, round_id, day,
                                                                  ACTOR), WrongState)
                return
            last = session.scalar(select(func.max(AllocationRow.window_day)).where(
                AllocationRow.round_id == round_id, AllocationRow.handed_over_at.is_(None),
                AllocationRow.released_at.is_(None)))
            if last is not None and last > day:  # a waiting household was told a later day
                self.refused(lambda: campaign.set_pickup_deadline(session, round_id, day,
                                                                  ACTOR), BadValue)
                event("move_deadline: refused before a told window")
                return
            campaign.set_pickup_deadline(session, round_id, day, ACTOR)
        row = self.round_row(round_id)
        assert row.status == "approved" and row.pickup_deadline > dt.datetime.now(
            dt.UTC).replace(tzinfo=None)
        event(f"move_deadline: {status} moved")

    @precondition(lambda self: self.some(PICKING_UP))
    @rule(data=st.data(), force=st.booleans())
    def close(self, data: st.DataObject, force: bool) -> None:
        round_id = self.pick(data, PICKING_UP)
        status = self.statuses()[round_id]
        before = {a.household_id: a for a in self.allocations(round_id)}
        with self.sessions() as session:
            if status not in PICKING_UP:
                self.refused(lambda: campaign.close_round(session, round_id, ACTOR,
                                                          force=force), WrongState)
                return
            if status == "approved" and not force:
                self.refused(lambda: campaign.close_round(session, round_id, ACTOR),
                             campaign.EarlyClose)
                return
            campaign.close_round(session, round_id, ACTOR, force=force)
        assert self.statuses()[round_id] == "closed"
        event(f"close: closed {status}")
        for a in self.allocations(round_id):  # what was not handed over is released
            assert (a.handed_over_at is None) == (a.released_at is not None)
            assert a.handed_over_at == before[a.household_id].handed_over_at

    @precondition(lambda self: self.some(PICKING_UP) and len(self.rounds) < MAX_ROUNDS)
    @rule(data=st.data(), then=st.sampled_from(["leave", "solve", "approve", "approve"]),
          over_budget=st.integers(0, 4).map(lambda n: n == 4),
          meanwhile=st.sampled_from(["nothing", "hand over"]))
    def replan(self, data: st.DataObject, then: str, over_budget: bool,
               meanwhile: str) -> None:
        round_id = self.pick(data, PICKING_UP)
        row = self.round_row(round_id)
        if row.status not in PICKING_UP:
            with self.sessions() as session:
                self.refused(lambda: campaign.replan_round(session, round_id, ACTOR),
                             WrongState)
            return
        inputs = self.frozen(round_id)
        mine = self.allocations(round_id)
        close_points = data.draw(st.lists(st.sampled_from(list(inputs["points"]["point_id"])),
                                          unique=True, max_size=2), label="close_points")
        quantities = data.draw(st.dictionaries(st.sampled_from(list(inputs["lots"]["lot_id"])),
                                               st.integers(0, 12), max_size=2),
                               label="lot_quantities")
        withdraw = data.draw(st.lists(st.sampled_from([a.household_id for a in mine]),
                                      unique=True, max_size=3) if mine else st.just([]),
                             label="withdraw")
        change = {"close_points": close_points, "lot_quantities": quantities,
                  "withdraw": withdraw}
        if over_budget:
            spent_here = sum(int(a.public_cost_vnd) for a in mine if a.handed_over_at)
            cap = int(row.policy["budget_vnd"]) - spent_here
            total = self.budget_total()
            if total is not None:
                others = sum(cost for _, r, _, cost, kind in self.holdings()
                             if not (r == round_id and kind == "reserved"))
                cap = min(cap, total - others)
            with self.sessions() as session:
                self.refused(lambda: campaign.replan_round(
                    session, round_id, ACTOR, budget_vnd=max(0, cap) + 1, **change),
                    InvalidInput)
            return
        with self.sessions() as session:
            version = campaign.replan_round(session, round_id, ACTOR, **change)
        self.rounds.append(version.id)
        event("replan: drafted")
        assert self.round_row(round_id).status == row.status  # unchanged while drafted
        drafted = self.round_row(version.id)
        assert (drafted.status, drafted.replaces) == ("draft", round_id)
        tables = self.frozen(version.id)
        capacity = dict(zip(tables["points"]["point_id"], tables["points"]["capacity"],
                            strict=True))
        assert all(capacity[p] == "0" for p in close_points)
        given = dict(zip(tables["lots"]["lot_id"], tables["lots"]["quantity"], strict=True))
        assert all(int(given[lot]) == n for lot, n in quantities.items())
        assert not set(withdraw) & set(tables["households"]["household_id"])
        waiting = {(a.household_id, a.lot_id, a.point_id) for a in mine
                   if a.handed_over_at is None and a.household_id not in withdraw}
        kept = set(zip(tables["keep"]["household_id"], tables["keep"]["lot_id"],
                       tables["keep"]["point_id"], strict=True))
        assert kept <= waiting
        if meanwhile == "hand over":  # households kept by the version may collect first
            self.hand_over(data, round_id)
        if then != "leave":
            self.solve_round(version.id)
            self.check_diff(version.id, round_id)
        if then == "approve":
            self.approve_round(version.id)

    @precondition(lambda self: bool(self.rounds) and len(self.rounds) < MAX_ROUNDS)
    @rule(data=st.data(), percent=st.sampled_from([10, 10, -20, 0, -100]),
          then=st.sampled_from(["leave", "solve", "approve", "approve"]))
    def vary(self, data: st.DataObject, percent: int, then: str) -> None:
        """A variant with the budget changed: refused if it leaves no budget or repeats a
        round (the same data files and policy), else a draft of the same data."""
        round_id = self.pick(data, SUPERSEDABLE)
        base = self.round_row(round_id)
        budget = round(int(base.policy["budget_vnd"]) * (1 + percent / 100))
        same = self.same_inputs(round_id, {**base.policy, "budget_vnd": budget})
        with self.sessions() as session:
            make = lambda: variants.vary_round(session, round_id, percent, None,  # noqa: E731
                                               ACTOR)
            if budget <= 0:
                self.refused(make, BadValue, "vary: no budget")
                return
            if same is not None:
                refused = self.refused(make, variants.DuplicateRound, "vary: repeats")
                assert refused.existing == same  # type: ignore[attr-defined]
                return
            made = make()
        self.rounds.append(made.id)
        event("vary: drafted")
        row = self.round_row(made.id)
        assert (row.status, row.based_on, row.replaces) == ("draft", round_id, None)
        assert row.policy["budget_vnd"] == budget
        assert self.data_files(made.id) == self.data_files(round_id)
        if then != "leave":
            self.solve_round(made.id)
        if then == "approve":
            self.approve_round(made.id)

    def data_files(self, round_id: int) -> dict[str, bytes]:
        blob = self._rows("SELECT inputs FROM rounds WHERE id = :id", id=round_id)[0][0]
        with zipfile.ZipFile(io.BytesIO(bytes(blob))) as archive:
            return {n: archive.read(n) for n in archive.namelist() if n in DATA_FILES}

    def same_inputs(self, round_id: int, policy: dict[str, Any]) -> int | None:
        """The first round with this round's data files and this policy, if any."""
        files = self.data_files(round_id)
        for other in sorted(self.statuses()):
            if self.round_row(other).policy == policy and self.data_files(other) == files:
                return other
        return None

    def check_diff(self, version_id: int, round_id: int) -> None:
        """Each household waiting for its phone in the old round is in exactly one kind of
        change; those served only by the version are new; those handed theirs are fixed."""
        with self.sessions() as session:
            diff = campaign.replan_diff(session, version_id)
        old = {a.household_id: a for a in self.allocations(round_id)}
        new = {a.household_id: a for a in self.allocations(version_id)}
        waiting = {h for h, a in old.items() if a.handed_over_at is None
                   and a.released_at is None}
        assert diff["handed_over_fixed"] == sum(a.handed_over_at is not None
                                                for a in old.values())
        changes = {item["household_id"]: item["change"] for item in diff["households"]}
        assert len(changes) == len(diff["households"])
        assert {h for h, c in changes.items() if c != "newly_served"} == waiting
        assert {h for h, c in changes.items() if c == "newly_served"} == set(new) - set(old)
        assert {h for h, c in changes.items() if c == "loses"} == waiting - set(new)
        for h, change in changes.items():
            if change == "keeps":
                assert (old[h].point_id, old[h].lot_id) == (new[h].point_id, new[h].lot_id)
        assert sum(diff["counts"].values()) == len(changes)

    # --- the ledger, worked out from the tables after every step ---------------------------

    @invariant()
    def ledger_holds(self) -> None:
        holdings = self.holdings()
        held = Counter(h for h, *_ in holdings)
        assert not [h for h, n in held.items() if n > 1], "a household holds two phones"
        over = {lot: n for lot, n in self.available(holdings).items() if n < 0}
        assert not over, f"lots give more than was pledged: {over}"
        total = self.budget_total()
        used = sum(cost for _, _, _, cost, _ in holdings)
        assert total is None or used <= total, f"budget {total:,} but {used:,} used"
        # An approved round's households received nothing in any other round.
        served_twice = self._rows(
            "SELECT a.household_id FROM allocations a JOIN rounds r ON r.id = a.round_id "
            "JOIN allocations b ON b.household_id = a.household_id "
            "AND b.round_id <> a.round_id AND b.handed_over_at IS NOT NULL "
            "WHERE r.status IN ('approved', 'pickup_over')")
        assert not served_twice, served_twice
        # Only a closed round releases, and a released phone was not handed over.
        released = self._rows(
            "SELECT a.round_id, r.status, a.handed_over_at FROM allocations a "
            "JOIN rounds r ON r.id = a.round_id WHERE a.released_at IS NOT NULL "
            "AND (r.status <> 'closed' OR a.handed_over_at IS NOT NULL)")
        assert not released, released

    @invariant()
    def versions_hold(self) -> None:
        rows = {int(r.id): r for r in self._rows(
            "SELECT id, status, replaces, superseded_by FROM rounds")}
        self.known = {i: r.status for i, r in rows.items()}  # for the next step's preconditions
        for r in rows.values():
            if r.status == "superseded":
                # Superseded by an approved version of it (itself superseded, closed or
                # past its deadline later, maybe).
                by = rows.get(r.superseded_by)
                assert by is not None and by.replaces == r.id, r
                assert by.status in ("approved", "pickup_over", "closed", "superseded"), by
            else:
                assert r.superseded_by is None, r

        def root(round_id: int) -> int:
            while rows[round_id].replaces is not None:
                round_id = rows[round_id].replaces
            return round_id

        live = Counter(root(i) for i, r in rows.items() if r.status in PICKING_UP)
        assert all(n == 1 for n in live.values()), live


def run_campaigns(template: str, **more: Any) -> None:
    """The same sequences on every run (derandomized), so a failure in CI repeats at home;
    HYPOTHESIS_PROFILE=thorough runs six times as many."""
    chosen: dict[str, Any] = {
        "max_examples": max(20, settings().max_examples // 5), "stateful_step_count": 30,
        "deadline": None, "derandomize": True,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much]}
    with ThreadPoolExecutor(1) as cleanup:
        machine = type("Campaign", (CampaignMachine,), {"template": template,
                                                        "cleanup": cleanup})
        run_state_machine_as_test(machine, settings=settings(**{**chosen, **more}))


def test_random_campaigns_keep_the_ledger(db_url: str, tmp_path: Path) -> None:
    """On SQLite, then PostgreSQL: each example gets a fresh copy of the prepared store."""
    prepare_template(db_url, tmp_path)
    run_campaigns(db_url)
