"""`allocator import`, `allocator user` and `allocator round`: the store from the terminal.

The store is the SQLite file `allocator.db` in the working folder, or the
database named by DATABASE_URL (e.g. postgresql+psycopg://user@host/db).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocator.issues import InvalidInput
from allocator.store.audit import record_read
from allocator.store.campaign import approve_round, create_round
from allocator.store.db import make_engine, make_sessions, prepare
from allocator.store.imports import IMPORTS, import_file
from allocator.store.lifecycle import RoundError
from allocator.store.models import AllocationRow, Round
from allocator.store.rounds import export_round, import_folder_as_round, solve_round

ACTOR = "cli"
# A round id the store can hold (the API holds its ids to the same range).
RoundArg = Annotated[int, typer.Argument(min=1, max=2_147_483_647, help="the round's id")]
err = Console(stderr=True)
out = Console()
round_app = typer.Typer(no_args_is_help=True, help="Allocation rounds kept in the store.")


def open_store() -> Session:
    """A session on the store, made ready (tables, the city's communes) the first time."""
    engine = make_engine()
    prepare(engine)
    return make_sessions(engine)()


def _fail(message: str) -> None:
    err.print(message, markup=False)
    raise typer.Exit(2)


def _problems(error: InvalidInput) -> None:
    for issue in error.issues:
        err.print(str(issue), markup=False, highlight=False, soft_wrap=True)
    _fail(f"{len(error.issues)} problem(s); nothing was written.")


def import_command(
    kind: Annotated[str, typer.Argument(help="households, lots, points, communes or windows")],
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8) or XLSX file")],
) -> None:
    """Import a registry file into the store: all rows or none."""
    if kind not in IMPORTS:
        _fail(f"unknown registry {kind!r}; one of {', '.join(IMPORTS)}")
    with open_store() as session:
        report = import_file(session, kind, file, ACTOR)
    if not report.ok:
        _problems(InvalidInput(report.issues))
    out.print(f"{kind}: {report.inserted:,} added, {report.updated:,} updated from {file}")


@round_app.command("create")
def round_create(name: Annotated[str, typer.Option(help="a name planners recognise")],
                 policy: Annotated[Path | None, typer.Option(
                     help="round.json with the round's policy")] = None) -> None:
    """Create a draft round over the current registry (its inputs are frozen now)."""
    data = {}
    if policy is not None:
        try:
            data = json.loads(policy.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as error:
            _fail(f"{policy}: {error}")
    with open_store() as session:
        try:
            row = create_round(session, data, name, ACTOR)
        except InvalidInput as error:
            _problems(error)
        out.print(f"round {row.id} created ({row.status}), inputs {row.inputs_hash[:12]}")


@round_app.command("import-folder")
def round_import(folder: Annotated[Path, typer.Argument(help="a contract folder")],
                 name: Annotated[str, typer.Option()] = "") -> None:
    """Create a draft round from a contract folder, exactly as given."""
    with open_store() as session:
        try:
            row = import_folder_as_round(session, folder, name or folder.name, ACTOR)
        except InvalidInput as error:
            _problems(error)
        out.print(f"round {row.id} created from {folder}")


@round_app.command("solve")
def round_solve(round_id: RoundArg) -> None:
    """Solve a round from its frozen inputs (Ctrl-C or SIGTERM stops it; the round fails)."""
    _stop_like_ctrl_c()
    with open_store() as session:
        try:
            row = solve_round(session, round_id, ACTOR,
                              progress=lambda s: err.print(s, markup=False))
        except RoundError as error:
            _fail(f"{error}{_solving_hint(session, round_id)}")
        except KeyboardInterrupt:
            err.print(f"stopped: round {round_id} is marked failed and can be solved again",
                      markup=False)
            raise typer.Exit(130) from None
        data = row.summary or {}
        out.print(f"round {round_id}: {data.get('status')}, served {data.get('served'):,} of "
                  f"{data.get('eligible'):,}, weight {data.get('stage1'):,}, "
                  f"cost {data.get('stage2'):,} VND")


Lang = Annotated[str, typer.Option("--lang", help="vi or en")]
JsonOut = Annotated[Path | None, typer.Option("--json", help="also write the result as JSON")]


def _stop_like_ctrl_c() -> None:
    """SIGTERM and SIGHUP (a closed terminal, a stopped job) stop a command as Ctrl-C does,
    so the round or analysis it holds is marked as stopped instead of left running."""
    import signal

    def stop(number: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(number).name)

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)


def _analyse(round_id: int, kind: str, lang: str, json_out: Path | None) -> dict[str, Any]:
    """Work out a round's analysis here and now, as a worker would (the same record)."""
    from allocator.store.analyses import analyse_round

    if lang not in ("vi", "en"):
        _fail("--lang must be vi or en")
    if json_out is not None and not json_out.parent.is_dir():
        _fail(f"{json_out.parent}: no such folder; create it first or choose another --json")

    _stop_like_ctrl_c()
    with open_store() as session:
        try:
            done = analyse_round(session, round_id, kind, ACTOR,
                                 progress=lambda s: err.print(s, markup=False))
        except RoundError as error:
            _fail(str(error))
        except KeyboardInterrupt:
            err.print(f"stopped: the {kind} of round {round_id} is marked failed and can be "
                      "requested again", markup=False)
            raise typer.Exit(130) from None
        result = done.result or {}
    if json_out is not None:
        json_out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return result


@round_app.command("curve")
def round_curve(round_id: RoundArg, lang: Lang = "vi", json_out: JsonOut = None) -> None:
    """The round's budget curve: the proven optimum at about 12 budgets up to saturation,
    and what the next 100 million VND would buy (stored; the round page shows it)."""
    result = _analyse(round_id, "curve", lang, json_out)
    table = Table("budget_vnd", "served", "stage1", "stage2", "status")
    for point in result.get("points", []):
        table.add_row(f"{point['budget_vnd']:,}", f"{point['served']:,}",
                      f"{point['stage1']:,}", f"{point['stage2']:,}", str(point["status"]))
    out.print(table)
    out.print(f"saturation: {result.get('saturation_vnd') or 0:,} VND; this round: "
              f"{result.get('round_budget_vnd') or 0:,} VND", markup=False)
    step = result.get("next_step") or {}
    if step.get(f"sentence_{lang}"):
        out.print(str(step[f"sentence_{lang}"]), markup=False, soft_wrap=True)


@round_app.command("bottlenecks")
def round_bottlenecks(round_id: RoundArg, lang: Lang = "vi", json_out: JsonOut = None) -> None:
    """What binds in the round, and the ten changes that would serve the most, each
    confirmed by an exact re-solve (stored; the round page shows them)."""
    from allocator.report.decisions import best_changes

    result = _analyse(round_id, "bottlenecks", lang, json_out)
    key = f"sentence_{lang}"
    out.print("what binds:" if lang == "en" else "điều đang giới hạn:", markup=False)
    for item in result.get("binding", []):
        out.print(f"  - {item.get(key, '')}", markup=False, soft_wrap=True)
    out.print("best changes:" if lang == "en" else "các thay đổi có lợi nhất:", markup=False)
    for i, item in enumerate(best_changes(result), 1):
        out.print(f"  {i}. {item.get(key, '')}", markup=False, soft_wrap=True)


def _solving_hint(session: Session, round_id: int) -> str:
    """For a round being solved: by whom, and what happens if that worker has stopped."""
    from allocator.store.jobs import JobSettings, latest_job

    job = latest_job(session, round_id)
    if job is None or job.status not in ("queued", "running"):
        return ""
    where = (f"job {job.id} is queued for a worker" if job.status == "queued" else
             f"job {job.id} runs on {job.worker_id}, last heard from at "
             f"{job.heartbeat_at:%H:%M:%S} UTC" if job.heartbeat_at else f"job {job.id} runs")
    return (f"\n{where}. If that worker has stopped, 'allocator worker' (or 'allocator "
            f"serve') takes the job up again once it has been silent for "
            f"{JobSettings.from_env().stale_seconds:g} s.")


@round_app.command("handover")
def round_handover(round_id: RoundArg,
                   out_file: Annotated[Path, typer.Option("--out", help=".csv or .xlsx")],
                   point: Annotated[str | None, typer.Option(help="one point only")] = None,
                   commune: Annotated[str | None, typer.Option(help="one commune only")] = None,
                   by_commune: Annotated[bool, typer.Option(
                       "--by-commune", help="a sheet per commune, not per point")] = False
                   ) -> None:
    """Write the handover lists of an approved round: in .xlsx a sheet per point (or
    commune) with the official heading and signature blocks ($ALLOCATOR_OFFICE names the
    issuing office); in .csv the same rows as one table."""
    from allocator.store.handover import as_csv
    from allocator.store.papers import handover_papers, papers_table
    from allocator.store.papers_xlsx import as_workbook

    if out_file.suffix.lower() not in (".csv", ".xlsx"):
        _fail("--out must end in .csv or .xlsx")
    if not out_file.parent.is_dir():
        _fail(f"{out_file.parent}: no such folder; create it first or choose another --out")
    if point and commune:
        _fail("give --point or --commune, not both")
    with open_store() as session:
        try:
            papers = handover_papers(session, round_id,
                                     "commune" if commune or by_commune and not point
                                     else "point", point or commune)
        except RoundError as error:
            _fail(str(error))
        table = papers_table(papers)
        out_file.write_bytes(as_workbook(papers) if out_file.suffix.lower() == ".xlsx"
                             else as_csv(table))
        record_read(session, ACTOR, "download handover list", f"round {round_id}",
                    {"point": point, "commune": commune, "file": str(out_file)[:200],
                     "rows": len(table)})
    out.print(f"{len(table):,} households -> {out_file}")


@round_app.command("paper-list")
def round_paper_list(round_id: RoundArg,
                     file: Annotated[Path, typer.Argument(help="the typed-back list, .csv or "
                                                                ".xlsx")],
                     officer: Annotated[str, typer.Option(
                         "--as", help="the point officer (or planner) the list is recorded "
                                      "under")]) -> None:
    """Record a signed paper handover list typed back (all rows or none)."""
    from allocator.issues import issue_lines
    from allocator.store.paper_list import upload
    from allocator.store.point_desk import DeskError
    from allocator.store.users import PeopleError, find_user

    if not file.is_file():
        _fail(f"{file}: no such file")
    with open_store() as session:
        try:
            user = find_user(session, officer)
            if user.disabled or user.role not in ("point", "planner"):
                _fail(f"{officer} is not a point officer or planner who may record handovers")
            report = upload(session, user, round_id, file)
        except (PeopleError, DeskError) as error:
            _fail(getattr(error, "english", str(error)))
    if not report.ok:
        for line in issue_lines(report.issues):
            err.print(line, markup=False, soft_wrap=True)
        _fail("Nothing was recorded: correct the file and upload it again.")
    out.print(f"{report.recorded:,} handovers recorded under {officer} (signed on paper); "
              f"{report.not_handed:,} households marked not handed over")


@round_app.command("export")
def round_export(round_id: RoundArg,
                 out_dir: Annotated[Path, typer.Option("--out")]) -> None:
    """Write a round's inputs (and results, once solved) as a contract folder."""
    with open_store() as session:
        try:
            export_round(session, round_id, out_dir)
        except RoundError as error:
            _fail(str(error))
        record_read(session, ACTOR, "export round", f"round {round_id}",
                    {"folder": str(out_dir)[:200]})
    out.print(f"round {round_id} written to {out_dir}/")


def serve_command(host: Annotated[str, typer.Option()] = "127.0.0.1",
                  port: Annotated[int, typer.Option()] = 8000,
                  worker: Annotated[bool, typer.Option(
                      "--worker/--no-worker",
                      help="Solve queued rounds in this process too (the default); turn it "
                           "off when 'allocator worker' processes do the solving.")] = True,
                  processes: Annotated[int, typer.Option(
                      min=1, max=64, help="Web processes answering requests (one per core "
                                          "serves most; each runs its own solve worker).")
                  ] = 1,
                  ) -> None:
    """Run the web service (OpenAPI docs at /docs)."""
    import os

    import uvicorn

    if not worker:
        os.environ["ALLOCATOR_NO_WORKER"] = "1"
    uvicorn.run("api.main:app", host=host, port=port, workers=processes)


def worker_command(
    once: Annotated[bool, typer.Option(help="Stop when no round is waiting.")] = False,
) -> None:
    """Solve queued rounds, one at a time, until stopped (Ctrl-C or SIGTERM).

    Any number of workers (and `allocator serve` processes) may share a
    PostgreSQL store: each queued solve runs once, and a solve whose worker
    dies is taken up again by another.
    """
    import logging
    import signal
    import threading

    from allocator.store.campaign import expire_due
    from allocator.store.jobs import JobSettings, work, worker_name
    from allocator.store.rounds import compute_results

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    engine = make_engine()
    prepare(engine)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    name = worker_name("worker")
    out.print(f"worker {name} waiting for rounds to solve", markup=False)
    try:
        ran = work(make_sessions(engine), compute_results, name, JobSettings.from_env(), stop,
                   once=once, chores=expire_due)
    except KeyboardInterrupt:
        ran = -1
    engine.dispose()
    out.print(f"worker {name} stopped" + (f" after {ran} solve(s)" if ran >= 0 else ""),
              markup=False)


@round_app.command("list")
def round_list() -> None:
    """The rounds in the store."""
    table = Table("id", "name", "status", "served", "weight", "cost (VND)", "created")
    with open_store() as session:
        for row in session.scalars(select(Round).order_by(Round.id)):
            data = row.summary or {}
            table.add_row(str(row.id), row.name, row.status, f"{data.get('served', '')}",
                          f"{data.get('stage1', '')}", f"{data.get('stage2', '')}",
                          row.created_at.strftime("%Y-%m-%d %H:%M"))
    out.print(table)


def demo_command(
    folder: Annotated[Path, typer.Option(help="Folder for the demo's store and files.")]
    = Path("demo"),
) -> None:
    """One allocation round on the bundled Ho Chi Minh City scenario, in a fresh SQLite store.

    Generates the `demo` scenario, imports it into `FOLDER/allocator.db`, solves
    and approves the round, adds a draft variant with 10% more budget, writes
    the result files and the HTML report, and prints the names and passwords to
    sign in to the web pages.
    """
    import pandas as pd

    from allocator.report import render_report
    from allocator.store.rounds import derive_round
    from scenarios.named import scenario

    store = folder / "allocator.db"
    store.unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    tables = scenario("demo", 1)
    tables.write(folder / "scenario")
    out.print(f"scenario: {len(tables.households):,} households, {len(tables.lots)} lots, "
              f"{len(tables.points)} points -> {folder / 'scenario'}/")
    engine = make_engine(f"sqlite:///{store}")
    prepare(engine)
    with make_sessions(engine)() as session:
        for kind in ("lots", "points", "households"):
            report = import_file(session, kind, folder / "scenario" / f"{kind}.csv", ACTOR)
            if not report.ok:
                _problems(InvalidInput(report.issues))
        row = import_folder_as_round(session, folder / "scenario", "Demo — TP. Hồ Chí Minh",
                                     ACTOR)
        solve_round(session, row.id, ACTOR, progress=lambda s: err.print(s, markup=False))
        approve_round(session, row.id, ACTOR)
        budget = int(row.policy["budget_vnd"])
        variant = derive_round(session, row.id, {"budget_vnd": round(budget * 1.1)},
                               "Demo — ngân sách +10%", ACTOR)
        export_round(session, row.id, folder / "round-1")
        result = folder / "round-1" / "result"
        report_file = folder / "report.html"
        report_file.write_text(render_report(row.dashboard or {}, row.summary or {},
                                             f"Đợt {row.id}: {row.name}"), encoding="utf-8")
        sponsor_id = str(pd.read_csv(folder / "scenario" / "lots.csv", dtype=str)
                         ["sponsor_id"].iloc[0])
        from allocator.cli_people import demo_accounts, demo_sign_in

        busiest = str(session.scalar(
            select(AllocationRow.point_id).where(AllocationRow.round_id == row.id)
            .group_by(AllocationRow.point_id)
            .order_by(func.count().desc(), AllocationRow.point_id).limit(1)))
        accounts = demo_accounts(session, sponsor_id, busiest)
        data = row.summary or {}
        out.print(f"\n[bold]round {row.id}: {data['status']}[/bold], approved — served "
                  f"{data['served']:,} of {data['eligible']:,} eligible households, "
                  f"public cost {data['budget_used_vnd']:,} of {data['budget_vnd']:,} VND, "
                  f"{data['devices_left']:,} devices left")
        unserved = pd.read_csv(result / "unserved.csv", dtype=str)
        out.print("  not served: " + ", ".join(
            f"{r} {n:,}" for r, n in unserved["reason"].value_counts().items()))
        out.print(f"  round {variant.id} (draft): the same round with 10% more budget, to "
                  "solve and compare in the browser")
    engine.dispose()
    out.print(f"\nAllocations: {result / 'allocations.csv'}  Unserved: "
              f"{result / 'unserved.csv'}")
    out.print(f"Report (open in a browser, works offline): {report_file.resolve()}")
    out.print(demo_sign_in(accounts, sponsor_id, busiest, store), markup=False, soft_wrap=True)
