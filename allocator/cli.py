"""The `allocator` command: parse arguments, call the engine, print for people."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from allocator.cli_bottlenecks import bottlenecks_command
from allocator.cli_curve import curve_command
from allocator.issues import InvalidInput
from allocator.loading import uncollected
from allocator.policy import MAX_SECONDS

if TYPE_CHECKING:
    from allocator.validate import Scenario

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Allocate smartphones to households, round by round.")
err = Console(stderr=True)
out = Console()


@app.callback()
def main() -> None:
    """Allocate smartphones to poor and near-poor households (Digital Citizen plan)."""


def _store_commands() -> None:
    """The store's commands, imported only when one of them is asked for."""
    from allocator import cli_campaign, cli_people, cli_slips, cli_store

    app.command("import")(cli_store.import_command)
    app.command("serve")(cli_store.serve_command)
    app.command("worker")(cli_store.worker_command)
    app.command("demo")(cli_store.demo_command)
    cli_store.round_app.command("slips")(cli_slips.round_slips_command)
    app.add_typer(cli_store.round_app, name="round")
    app.add_typer(cli_campaign.campaign_app, name="campaign")
    app.add_typer(cli_people.user_app, name="user")
    app.add_typer(cli_people.token_app, name="token")
    app.add_typer(cli_people.audit_app, name="audit")
    from allocator.cli_cases import cases_app

    app.add_typer(cases_app, name="cases")
    from allocator import cli_notices

    app.add_typer(cli_notices.notices_app, name="notices")
    from allocator.cli_followup import followup_app

    app.add_typer(followup_app, name="followup")


@app.command("solve")
def solve_command(
    scenario_dir: Annotated[Path, typer.Argument(help="Scenario folder (engine contract v1).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Result folder to write.")],
    time_limit: Annotated[float | None, typer.Option(
        "--time-limit", help="Seconds for the whole solve (default: round.json).")] = None,
    method: Annotated[str, typer.Option(help="'optimal' or 'greedy' (the hand method).")]
    = "optimal",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]
    = False,
) -> None:
    """Solve one allocation round and write allocations, unserved and summary."""
    # The engine (pandas, OR-Tools: about half a second) is loaded by the commands that
    # solve, not by every other command and --help.
    with uncollected():
        from allocator.dashboard import dashboard
        from allocator.problem import build_problem
        from allocator.result import allocations_frame, summary, unserved_frame, write_result
        from allocator.solve import InternalError

    if method not in ("optimal", "greedy"):
        _fail(f"--method must be 'optimal' or 'greedy' (got {method!r})")
    if time_limit is not None and not 0 < time_limit <= MAX_SECONDS:
        _fail(f"--time-limit must be a number of seconds > 0 and at most a week "
              f"(got {time_limit})")
    started = time.perf_counter()
    scenario = read_or_exit(scenario_dir)
    problem = build_problem(scenario)
    # Only the small tables are read again (for the dashboard): the households' table
    # is not held through the solve (national: hundreds of MB).
    communes, lots, points = scenario.communes, scenario.lots, scenario.points
    del scenario
    loaded = time.perf_counter()
    try:
        allocation = _solve_with_progress(problem, method, time_limit, quiet)
    except InternalError as error:
        err.print(f"internal error: {error}", markup=False)
        raise typer.Exit(3) from None
    solved = time.perf_counter()
    allocations = allocations_frame(problem, allocation)
    unserved = unserved_frame(problem, allocation)
    timings = {"load": loaded - started, "solve": solved - loaded}
    timings["write"] = time.perf_counter() - solved
    # Where the scenario lies, so `allocator bottlenecks RESULT_DIR` can find it again.
    data = summary(problem, allocation, timings,
                   {"scenario_dir": str(scenario_dir.resolve())})
    figures = dashboard(problem, allocation, communes, lots, points, unserved)
    write_result(out_dir, allocations, unserved, data, figures)
    if not quiet:
        _print_summary(data, unserved, out_dir)


@app.command("report")
def report_command(
    result_dir: Annotated[Path, typer.Argument(help="A result folder of 'allocator solve'.")],
    html: Annotated[Path, typer.Option("--html", help="The HTML file to write.")],
    title: Annotated[str, typer.Option(help="Heading of the report.")] = "",
    lang: Annotated[str, typer.Option(help="'vi' (Vietnamese) or 'en' (English).")] = "vi",
) -> None:
    """Write the round's dashboard as one self-contained HTML file (no network needed)."""
    import json

    from allocator.report import render_report
    from allocator.result import DASHBOARD, SUMMARY

    try:
        figures = json.loads((result_dir / DASHBOARD).read_text(encoding="utf-8"))
        data = json.loads((result_dir / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        _fail(f"{result_dir}: not a result folder of 'allocator solve' ({error})")
    if lang not in ("vi", "en"):
        _fail(f"--lang must be 'vi' or 'en' (got {lang!r})")
    try:
        page = render_report(figures, data, title or f"Đợt phân bổ — {result_dir.name}", lang)
    except (KeyError, TypeError, ValueError) as error:
        _fail(f"{result_dir}: dashboard.json is not as 'allocator solve' writes it ({error!r})")
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(page, encoding="utf-8")
    out.print(f"report written to {html}")


@app.command("scenario")
def scenario_command(
    name: Annotated[str, typer.Argument(help="Named scenario (see --list).")] = "",
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder to write.")] = None,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same files.")] = 1,
    list_names: Annotated[bool, typer.Option("--list", help="List the named scenarios.")]
    = False,
) -> None:
    """Write a generated scenario folder in the engine-contract format."""
    from scenarios.named import SCENARIOS, scenario

    if list_names or not name:
        for key, (about, _) in SCENARIOS.items():
            out.print(f"[bold]{key}[/bold]: {about}")
        if not list_names:
            raise typer.Exit(2)
        return
    if name not in SCENARIOS:
        _fail(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    if out_dir is None:
        _fail("--out DIR is required")
    assert out_dir is not None
    started = time.perf_counter()
    tables = scenario(name, seed)
    tables.write(out_dir)
    out.print(f"{name} (seed {seed}): {len(tables.households):,} households, "
              f"{len(tables.lots):,} lots, {len(tables.points):,} points -> {out_dir}/ "
              f"({time.perf_counter() - started:.1f} s)")


app.command("bottlenecks")(bottlenecks_command)


def read_or_exit(scenario_dir: Path) -> Scenario:
    """The scenario folder, or every located problem on stderr and exit 2 (nothing written)."""
    from allocator.validate import read_scenario

    try:
        return read_scenario(scenario_dir)
    except InvalidInput as problems:
        for issue in problems.issues:
            err.print(str(issue), markup=False, highlight=False, soft_wrap=True)
        err.print(f"{len(problems.issues)} problem(s); nothing was written.", style="bold red")
        raise typer.Exit(2) from None


app.command("curve")(curve_command)


def _solve_with_progress(problem, method, time_limit, quiet):  # type: ignore[no-untyped-def]
    from allocator.solve import solve

    if quiet:
        return solve(problem, method, time_limit)
    started = time.perf_counter()
    with err.status("reading") as status:
        def progress(stage: str) -> None:
            status.update(f"{stage} ({time.perf_counter() - started:.1f} s)")
            err.print(f"[dim]{time.perf_counter() - started:6.2f} s[/dim]  {stage}")
        return solve(problem, method, time_limit, progress)


def _print_summary(data: dict, unserved, out_dir: Path) -> None:  # type: ignore[no-untyped-def]
    out.print(f"[bold]{data['status']}[/bold] ({data['method']}): served "
              f"{data['served']:,} of {data['eligible']:,} eligible households")
    out.print(f"  priority weight served (stage 1): {data['stage1']:,}"
              + (f"  (gap {data['gap']:.4%})" if data["gap"] else ""))
    out.print(f"  public cost (stage 2): {data['stage2']:,} of {data['budget_vnd']:,} VND")
    out.print(f"  distance travelled (stage 3): {data['stage3']:,.3f} km")
    if data["stage0"]:
        out.print(f"  fairness floor met (stage 0): {data['stage0']:,} households")
    counts = unserved["reason"].value_counts()
    if len(counts):
        out.print("  not served: " + ", ".join(f"{r} {n:,}" for r, n in counts.items()))
    t = data["timings_seconds"]
    out.print(f"  time: load {t['load']:.2f} s, solve {t['solve']:.2f} s, "
              f"write {t['write']:.2f} s")
    out.print(f"  written to {out_dir}/")


def _fail(message: str) -> None:
    err.print(message, markup=False, soft_wrap=True)  # a long path stays one line
    raise typer.Exit(2)


def run() -> None:
    """Entry point: never a traceback for a user's mistake."""
    if len(sys.argv) > 1 and sys.argv[1] in ("import", "round", "campaign", "user", "token",
                                               "audit", "serve", "worker", "demo", "notices",
                                               "cases", "followup", "--help"):
        _store_commands()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as error:  # a folder that is not there, a file we may not write: the
        # operator's to fix, so a sentence and exit 2, as for any other mistake of theirs
        where = f"{error.filename}: " if error.filename else ""
        err.print(f"{where}{error.strerror or error}", markup=False)
        sys.exit(2)
    except Exception as error:  # a bug of ours: say so in one line, keep the trace out
        err.print(f"internal error ({type(error).__name__}): {error}", markup=False)
        err.print("Please report this with the scenario folder.", markup=False)
        sys.exit(3)


if __name__ == "__main__":
    run()
