"""The distribution point: approval with pickup codes and windows, notices, slips, the desk,
paper lists and the follow-up draw, on the demo scenario.

    .venv/bin/python -m tests.bench.point [--postgres URL] [--runs 3] [--no-city]

For each store (SQLite, and PostgreSQL when a server URL is given or
TEST_POSTGRES_URL is set) the demo scenario is set up once, in child
processes: the registry imported, round 1 created from the ledger and solved
(snapshot "solved"); approved, with a point officer of its busiest point P
(snapshot "approved"); 90% of its households marked handed over (snapshot
"handed").

Every measurement then runs in its own process on a fresh copy of a snapshot
(a file copy on SQLite, `CREATE DATABASE ... TEMPLATE` on PostgreSQL), with the
program loaded before the clock starts:

- approving the round (`approve_round`, which gives codes and windows), and the
  same approval with `pickup.give` replaced by a no-op, in this process only;
- filling the SMS outbox, then exporting it (CSV);
- rendering P's slips as `allocator round slips --point P` does;
- the desk, as P's officer: `find` by code, phone and name (first call, with the
  round's inputs not yet parsed, and again), `get`, `record` (handed, with a
  valid IMEI) and `undo`;
- P's handover list as XLSX, filled in ("Đã nhận" = có, an IMEI on each row)
  and uploaded as a paper list;
- the follow-up draw, 31 days after the pickup deadline.

A child under 10 s is run `--runs` times (min and median of each step); a longer
one once. With `--city` (the default) the approval of hcmc-universal (250,000
households) is also measured once on SQLite, with and without codes and windows.
Prints markdown tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from tests.bench.campaign import Store, run_child

ROOT = Path(__file__).resolve().parents[2]
ACTOR = "bench"
OFFICER = "bench-point"
HANDED_SHARE = 0.9
HANDOVER_BATCH = 5_000
REPEAT_UNDER = 10.0  # seconds: a child shorter than this is repeated
FOLLOWUP_AFTER = dt.timedelta(days=31)  # after the pickup deadline: the draw is due


# --- the children: one piece of work each, in its own process ----------------------------


def _sessions(url: str) -> Any:
    from allocator.store.db import make_engine, make_sessions, prepare

    engine = make_engine(url)
    prepare(engine)
    return engine, make_sessions(engine)


class Clock:
    """The seconds of each named step of one child, and a sentence on what it did."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self.details: dict[str, str] = {}

    def time(self, step: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        value = work()
        self.steps[step] = time.perf_counter() - started
        return value

    def result(self, **extra: Any) -> dict[str, Any]:
        return {"steps": self.steps, "details": self.details, **extra}


def imei(n: int) -> str:
    """A valid IMEI (Luhn check digit), distinct for each n."""
    from allocator.device_ids import luhn_check_digit

    payload = f"35{n:012d}"
    return payload + luhn_check_digit(payload)


def setup(url: str, name: str) -> dict[str, Any]:
    """Registry imported, campaign budget set, round 1 from the ledger solved."""
    from allocator.store import ledger
    from allocator.store.campaign import create_round
    from allocator.store.imports import import_file
    from allocator.store.rounds import solve_round
    from scenarios.named import scenario

    engine, sessions = _sessions(url)
    tables = scenario(name, 1)
    clock = Clock()
    with tempfile.TemporaryDirectory(prefix="bench-point-") as tmp, sessions() as session:
        folder = tables.write(Path(tmp) / "scenario")

        def load() -> None:
            for kind in ("lots", "points", "households"):
                report = import_file(session, kind, folder / f"{kind}.csv", ACTOR)
                assert report.ok, report.issues[:5]

        clock.time("import", load)
        ledger.set_budget(session, 2 * int(tables.round["budget_vnd"]), ACTOR)
        row = clock.time("create", lambda: create_round(session, dict(tables.round),
                                                        "Round 1", ACTOR))
        clock.time("solve", lambda: solve_round(session, row.id, ACTOR))
        served = int((row.summary or {}).get("served", 0))
    engine.dispose()
    return clock.result(households=len(tables.households), served=served, round=row.id)


def _busiest(session: Any, round_id: int) -> tuple[str, int]:
    from sqlalchemy import func, select

    from allocator.store.models import AllocationRow

    point, count = session.execute(
        select(AllocationRow.point_id, func.count()).where(AllocationRow.round_id == round_id)
        .group_by(AllocationRow.point_id)
        .order_by(func.count().desc(), AllocationRow.point_id).limit(1)).one()
    return str(point), int(count)


def _given(session: Any, round_id: int) -> str:
    """Codes and windows the round's allocations hold."""
    from sqlalchemy import func, select

    from allocator.store.models import AllocationRow

    total, codes, windows = session.execute(select(
        func.count(), func.count(AllocationRow.pickup_code), func.count(AllocationRow.window_day))
        .where(AllocationRow.round_id == round_id)).one()
    return f"{total:,} allocations: {codes:,} codes, {windows:,} windows"


def approve(url: str, round_id: str, variant: str) -> dict[str, Any]:
    """The round approved (timed); with variant "bare", without codes and windows."""
    from allocator.store import campaign, pickup

    if variant == "bare":
        # In this process only: approval as it was before codes and windows existed.
        pickup.give = lambda *args, **kwargs: None  # type: ignore[assignment]
    engine, sessions = _sessions(url)
    rid = int(round_id)
    clock = Clock()
    with sessions() as session:
        clock.time(f"approve {variant}", lambda: campaign.approve_round(session, rid, ACTOR))
        clock.details[f"approve {variant}"] = _given(session, rid)
        point, count = _busiest(session, rid)
        if variant == "codes":
            from allocator.store.users import add_user

            add_user(session, OFFICER, "point", None, ACTOR, points=[point])
    engine.dispose()
    return clock.result(point=point, at_point=count)


def hand(url: str, round_id: str) -> dict[str, Any]:
    """90% of the round's households marked handed over, a list at a time."""
    from sqlalchemy import select

    from allocator.store.models import AllocationRow
    from allocator.store.rounds import record_handovers

    engine, sessions = _sessions(url)
    rid = int(round_id)
    clock = Clock()
    with sessions() as session:
        allocated = sorted(session.scalars(select(AllocationRow.household_id)
                                           .where(AllocationRow.round_id == rid)))
        handed = allocated[:int(len(allocated) * HANDED_SHARE)]

        def mark() -> None:
            for at in range(0, len(handed), HANDOVER_BATCH):
                record_handovers(session, rid, handed[at:at + HANDOVER_BATCH], ACTOR)

        clock.time("handovers", mark)
    engine.dispose()
    return clock.result(handed=len(handed))


def notices(url: str, round_id: str) -> dict[str, Any]:
    """The outbox filled, then exported as the portal's CSV (both timed)."""
    from allocator.store.outbox import export_notices, fill_outbox

    engine, sessions = _sessions(url)
    rid = int(round_id)
    clock = Clock()
    with sessions() as session:
        filled = clock.time("fill", lambda: fill_outbox(session, rid, ACTOR))
        clock.details["fill"] = (f"{filled.added:,} messages written, "
                                 f"{len(filled.visits):,} households to visit instead")
        data, rows = clock.time("export", lambda: export_notices(session, rid, ACTOR))
        clock.details["export"] = f"{rows:,} rows, {len(data) / 1e6:,.1f} MB of CSV"
    engine.dispose()
    return clock.result()


def slips(url: str, round_id: str, point: str) -> dict[str, Any]:
    """The busiest point's slips as one HTML file, as `allocator round slips --point` makes."""
    from allocator.slips import render_file
    from allocator.store.slips import round_slips

    engine, sessions = _sessions(url)
    rid = int(round_id)
    clock = Clock()
    with sessions() as session:
        def render() -> tuple[int, int]:
            chosen = round_slips(session, rid, point)
            return len(chosen), len(render_file(chosen, f"Phiếu hẹn nhận máy — đợt {rid}"))

        count, size = clock.time("slips", render)
        clock.details["slips"] = f"{count:,} slips of point {point}, {size / 1e6:,.1f} MB of HTML"
    engine.dispose()
    return clock.result()


def desk(url: str, round_id: str, point: str) -> dict[str, Any]:
    """The desk as the busiest point's officer: searches, a read, a record and its undo."""
    from sqlalchemy import select

    from allocator.store import point_desk
    from allocator.store.models import AllocationRow
    from allocator.store.users import find_user

    engine, sessions = _sessions(url)
    rid = int(round_id)
    clock = Clock()
    with sessions() as session:
        officer = find_user(session, OFFICER)
        here = session.scalars(select(AllocationRow.household_id).where(
            AllocationRow.round_id == rid, AllocationRow.point_id == point)
            .order_by(AllocationRow.household_id)).all()
        household = next(row for h in here
                         if (row := point_desk.get(session, officer, rid, h)).id_last4
                         and row.phone and row.head_name)
        queries = {"code": household.code, "phone": household.phone,
                   "name": household.head_name}
        for by, query in queries.items():
            point_desk._CACHE.clear()  # the round's inputs not parsed yet, as after a restart
            search = partial(point_desk.find, session, officer, query)
            found = clock.time(f"find {by} first", search)
            clock.time(f"find {by} warm", search)
            clock.details[f"find {by} first"] = f"{len(found)} found"
        clock.time("get", lambda: point_desk.get(session, officer, rid, household.household_id))
        done = clock.time("record", lambda: point_desk.record(
            session, officer, round_id=rid, household_id=household.household_id,
            id_last4=household.id_last4, authorised_note="", outcome="handed",
            imei=imei(1), iccid="", note="", idempotency_key=uuid.uuid4().hex))
        clock.time("undo", lambda: point_desk.undo(session, officer, done.id,
                                                   "giao nhầm máy"))
        clock.details["record"] = f"household {household.household_id}, handed, IMEI"
    engine.dispose()
    return clock.result()


def paper(url: str, round_id: str, point: str) -> dict[str, Any]:
    """The busiest point's handover list, filled in and uploaded as a paper list."""
    from allocator.store.handover import as_xlsx, handover_list
    from allocator.store.paper_list import upload
    from allocator.store.users import find_user

    engine, sessions = _sessions(url)
    rid = int(round_id)
    clock = Clock()
    with sessions() as session, tempfile.TemporaryDirectory(prefix="bench-paper-") as tmp:
        officer = find_user(session, OFFICER)
        table = clock.time("list", lambda: handover_list(session, rid, point))
        data = clock.time("list xlsx", lambda: as_xlsx(table))
        table["Đã nhận"] = "có"
        table["IMEI"] = [imei(n) for n in range(len(table))]
        path = Path(tmp) / f"ban-giao-{point}.xlsx"
        path.write_bytes(as_xlsx(table))
        report = clock.time("upload", lambda: upload(session, officer, rid, path))
        assert report.ok and report.recorded == len(table), report.issues[:5]
        clock.details["list xlsx"] = f"{len(table):,} rows, {len(data) / 1e3:,.0f} KB"
        clock.details["upload"] = f"{report.recorded:,} handovers recorded"
    engine.dispose()
    return clock.result()


def followup(url: str, round_id: str) -> dict[str, Any]:
    """The follow-up sample drawn 31 days after the pickup deadline."""
    from allocator.store.followup import draw
    from allocator.store.models import Round

    engine, sessions = _sessions(url)
    rid = int(round_id)
    clock = Clock()
    with sessions() as session:
        row = session.get(Round, rid)
        assert row is not None and row.pickup_deadline is not None
        now = row.pickup_deadline + FOLLOWUP_AFTER
        session.rollback()
        drawn = clock.time("followup", lambda: draw(session, rid, ACTOR, seed=1, now=now))
        clock.details["followup"] = (f"{drawn.size:,} households to call of "
                                     f"{drawn.served:,} handed a phone")
    engine.dispose()
    return clock.result()


CHILDREN: dict[str, Callable[..., dict[str, Any]]] = {
    "setup": setup, "approve": approve, "hand": hand, "notices": notices, "slips": slips,
    "desk": desk, "paper": paper, "followup": followup}


# --- the parent: snapshots, repeats, the tables -------------------------------------------

# (step, what the table calls it): in the table's order
STEPS = [
    ("approve codes", "approve the round (`approve_round`: codes and windows)"),
    ("approve bare", "the same approval, `pickup.give` a no-op"),
    ("fill", "fill the SMS outbox (`fill_outbox`)"),
    ("export", "export the notices, CSV (`export_notices`)"),
    ("slips", "the busiest point's slips as HTML (`round_slips` + `render_file`)"),
    ("find code first", "desk: find by pickup code, first call"),
    ("find code warm", "desk: find by pickup code, again"),
    ("find phone first", "desk: find by phone, first call"),
    ("find phone warm", "desk: find by phone, again"),
    ("find name first", "desk: find by name, first call"),
    ("find name warm", "desk: find by name, again"),
    ("get", "desk: `get` one household"),
    ("record", "desk: `record` handed, with IMEI"),
    ("undo", "desk: `undo` that record"),
    ("list", "the busiest point's handover list (`handover_list`)"),
    ("list xlsx", "… as XLSX (`as_xlsx`)"),
    ("upload", "paper list upload, every row handed (`paper_list.upload`)"),
    ("followup", "follow-up draw (`followup.draw`)"),
]


def child(what: str, *args: str) -> dict[str, Any]:
    return run_child("tests.bench.point", what, *args)


def repeat(store: Store, snapshot: str, what: str, runs: int, *args: str) -> list[dict[str, Any]]:
    """`what` on fresh copies of `snapshot`, once, and `runs` times if it is quick."""
    done: list[dict[str, Any]] = []
    while len(done) < runs:
        copy = store.new(what, template=snapshot)
        try:
            started = time.perf_counter()
            done.append(child(what, store.url(copy), *args))
        finally:
            store.drop(copy)
        if time.perf_counter() - started >= REPEAT_UNDER:
            break
    return done


Results = dict[str, list[float]]  # step -> seconds of each run


def bench(store: Store, runs: int) -> tuple[Results, dict[str, str], str]:
    """The steps measured on one store, what they did, and a sentence on the set-up."""
    started = time.perf_counter()
    solved = store.new("demo_solved")
    first = child("setup", store.url(solved), "demo")
    rid = str(first["round"])
    approved = store.new("approved", template=solved)
    made = child("approve", store.url(approved), rid, "codes")
    point = made["point"]
    handed = store.new("handed", template=approved)
    marked = child("hand", store.url(handed), rid)
    setup_seconds = time.perf_counter() - started
    plan = [(solved, "approve", (rid, "codes")), (solved, "approve", (rid, "bare")),
            (approved, "notices", (rid,)), (approved, "slips", (rid, point)),
            (approved, "desk", (rid, point)), (approved, "paper", (rid, point)),
            (handed, "followup", (rid,))]
    results: Results = {}
    details: dict[str, str] = {}
    peak = 0.0
    for snapshot, what, args in plan:
        for run in repeat(store, snapshot, what, runs, *args):
            for step, seconds in run["steps"].items():
                results.setdefault(step, []).append(seconds)
            details.update(run["details"])
            peak = max(peak, run["peak_mb"])
    for snapshot in (handed, approved, solved):
        store.drop(snapshot)
    s = {**first["steps"], **made["steps"], **marked["steps"]}
    note = (f"- {store.kind}: demo, {first['households']:,} households, {first['served']:,} "
            f"served; busiest point {point} with {made['at_point']:,} households. Set-up "
            f"(once, not in the table): import {s['import']:,.1f} s, round from the ledger "
            f"{s['create']:,.1f} s, solve {s['solve']:,.1f} s, approve "
            f"{s['approve codes']:,.1f} s, {marked['handed']:,} handovers in lists of "
            f"{HANDOVER_BATCH:,} {s['handovers']:,.1f} s; peak RSS of a measuring child "
            f"{peak:,.0f} MB; everything for this store {time.perf_counter() - started:,.0f} s "
            f"(set-up and snapshots {setup_seconds:,.0f} s).")
    return results, details, note


def city(runs_note: list[str]) -> list[str]:
    """hcmc-universal approved once on SQLite, with and without codes and windows."""
    store = Store("sqlite")
    try:
        started = time.perf_counter()
        solved = store.new("city_solved")
        first = child("setup", store.url(solved), "hcmc-universal")
        rid = str(first["round"])
        rows = []
        seconds = {}
        for variant, label in (("codes", "approve (`approve_round`: codes and windows)"),
                               ("bare", "the same approval, `pickup.give` a no-op")):
            run = repeat(store, solved, "approve", 1, rid, variant)[0]
            step = f"approve {variant}"
            seconds[variant] = run["steps"][step]
            rows.append(f"| {label} | {seconds[variant]:,.2f} | {run['peak_mb']:,.0f} | "
                        f"{run['details'][step]} |")
        rows.append(f"| ratio, with ÷ without | {seconds['codes'] / seconds['bare']:,.1f}× "
                    "| | |")
        s = first["steps"]
        runs_note.append(
            f"- sqlite: hcmc-universal, {first['households']:,} households, "
            f"{first['served']:,} served. Set-up (once): import {s['import']:,.1f} s, round "
            f"from the ledger {s['create']:,.1f} s, solve {s['solve']:,.1f} s; everything "
            f"{time.perf_counter() - started:,.0f} s.")
    finally:
        store.close()
    return ["| work (hcmc-universal, SQLite, once) | seconds | peak RSS MB | what it did |",
            "|---|---:|---:|---|", *rows]


def _cell(values: list[float] | None) -> str:
    if not values:
        return "– | –"
    return f"{min(values) * 1e3:,.0f} | {statistics.median(values) * 1e3:,.0f}"


def table(measured: dict[str, Results], details: dict[str, str]) -> list[str]:
    kinds = list(measured)
    head = " | ".join(f"{k} min ms | {k} median ms" for k in kinds)
    lines = [f"| work | {head} | what it did |",
             "|---|" + "---:|---:|" * len(kinds) + "---|"]
    for step, label in STEPS:
        cells = " | ".join(_cell(measured[k].get(step)) for k in kinds)
        lines.append(f"| {label} | {cells} | {details.get(step, '')} |")
        if step == "approve bare":
            ratios = []
            for k in kinds:
                with_codes, bare = measured[k].get("approve codes"), measured[k].get(step)
                ratios.append(f"| {statistics.median(with_codes) / statistics.median(bare):,.1f}×"
                              if with_codes and bare else "| –")
            lines.append(f"| ratio of the approvals, with ÷ without (medians) | "
                         f"{' | '.join(ratios)} | |")
    return lines


def for_officer(measured: dict[str, Results], details: dict[str, str]) -> str:
    """What the desk's numbers mean at the point: the slowest median of each kind of step."""
    def slowest(*steps: str) -> float:
        return max((statistics.median(m[s]) * 1e3 for m in measured.values() for s in steps
                    if m.get(s)), default=0.0)

    return (f"For an officer at the desk: a search by code, phone or name answers within "
            f"{slowest('find code warm', 'find phone warm', 'find name warm'):,.0f} ms "
            f"(the first after the service starts, which parses the round's inputs, within "
            f"{slowest('find code first', 'find phone first', 'find name first'):,.0f} ms); "
            f"recording a handover takes within {slowest('record'):,.0f} ms and undoing it "
            f"within {slowest('undo'):,.0f} ms (the slowest median of either database), so "
            "the desk waits on the network and the officer, not on the store. The busiest "
            f"point's paper list ({details.get('upload', '')}) is taken within "
            f"{slowest('upload'):,.0f} ms.")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(CHILDREN[sys.argv[2]](*sys.argv[3:])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_pg = os.environ.get("TEST_POSTGRES_URL") or (
        os.environ.get("DATABASE_URL", "") if os.environ.get(
            "DATABASE_URL", "").startswith("postgresql") else "")
    parser.add_argument("--postgres", default=default_pg,
                        help="a PostgreSQL server URL (default: TEST_POSTGRES_URL)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--city", action=argparse.BooleanOptionalAction, default=True,
                        help="also approve hcmc-universal once on SQLite")
    args = parser.parse_args()
    started = time.perf_counter()
    measured: dict[str, Results] = {}
    details: dict[str, str] = {}
    notes: list[str] = []
    for kind in ["sqlite"] + (["postgresql"] if args.postgres else []):
        store = Store(kind, args.postgres if kind == "postgresql" else "")
        try:
            measured[kind], found, note = bench(store, args.runs)
        finally:
            store.close()
        details = {**found, **details}
        notes.append(note)
    city_rows = city(notes) if args.city else []
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n`.venv/bin/python -m tests.bench.point{' --postgres URL' if args.postgres else ''}` "
          f"on {os.cpu_count()} cores, {time.perf_counter() - started:,.0f} s in all; load "
          f"average at the end: {load}. Each run is a fresh process on a fresh copy of the "
          f"store; a run under {REPEAT_UNDER:g} s is repeated {args.runs} times. The desk works "
          f"as the officer of the busiest point; \"first call\" is the first search after the "
          "round's inputs were last parsed (after a restart), \"again\" the same search "
          "right after.\n")
    print("\n".join(table(measured, details)))
    print("\n" + for_officer(measured, details))
    if city_rows:
        print("\n" + "\n".join(city_rows))
    print("\n" + "\n".join(notes))


if __name__ == "__main__":
    main()
