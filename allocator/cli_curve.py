"""`allocator curve`: the exact optimum of a round at budgets from 0 to saturation."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from allocator.policy import MAX_INT, MAX_SECONDS

err = Console(stderr=True)
out = Console()
MAX_POINTS = 1000  # rows of one curve; each is a full solve


def curve_command(
    scenario_dir: Annotated[Path, typer.Argument(help="Scenario folder (engine contract).")],
    out_csv: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    points: Annotated[int, typer.Option("--points", help="Budgets to solve (at least 2).")]
    = 12,
    max_budget: Annotated[int | None, typer.Option(
        "--max-budget", help="Highest budget in VND (default: the saturation budget).")]
    = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", help="Solver processes side by side (default: one per core).")] = None,
    time_limit: Annotated[float | None, typer.Option(
        "--time-limit", help="Seconds for each solve (default: round.json).")] = None,
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="Also write the curve, with served households per status and "
                       "commune, as JSON.")] = None,
    lang: Annotated[str, typer.Option(help="'vi' or 'en': the sentence's language.")] = "vi",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]
    = False,
) -> None:
    """Solve the round exactly at budgets from 0 to saturation, where the curve bends."""
    if not 2 <= points <= MAX_POINTS:
        _fail(f"--points must be a whole number from 2 to {MAX_POINTS} (got {points})")
    if max_budget is not None and not 0 <= max_budget <= MAX_INT:
        _fail(f"--max-budget must be a whole number of VND from 0 to {MAX_INT:,} "
              f"(got {max_budget})")
    if workers is not None and workers < 1:
        _fail(f"--workers must be at least 1 (got {workers})")
    if time_limit is not None and not 0 < time_limit <= MAX_SECONDS:
        _fail(f"--time-limit must be a number of seconds > 0 and at most a week "
              f"(got {time_limit})")
    if lang not in ("vi", "en"):
        _fail(f"--lang must be 'vi' or 'en' (got {lang!r})")
    from allocator.cli import read_or_exit
    from allocator.curve import budget_curve, curve_csv, next_step, next_step_sentence
    from allocator.solve import InternalError

    started = time.perf_counter()
    scenario = read_or_exit(scenario_dir)
    for target in (out_csv, json_out):  # before minutes of solving, not after
        if target is not None:
            _writable(target)

    def progress(message: str) -> None:
        if not quiet:
            err.print(f"[dim]{time.perf_counter() - started:6.2f} s[/dim]  {message}",
                      highlight=False)

    try:
        curve = budget_curve(scenario, points, max_budget, workers, progress=progress,
                             time_limit_s=time_limit)
    except InternalError as error:
        err.print(f"internal error: {error}", markup=False)
        raise typer.Exit(3) from None
    _write(out_csv, curve_csv(curve))
    if json_out is not None:
        _write(json_out, json.dumps(curve.to_json(), indent=1, ensure_ascii=False) + "\n")
    out.print(f"{'budget (VND)':>17} {'served':>8} {'weight':>11} {'public cost':>17}  status",
              highlight=False)
    for p in curve.points:
        mark = "  <- this round" if p.budget_vnd == curve.round_budget_vnd else ""
        out.print(f"{p.budget_vnd:>17,} {p.served:>8,} {p.stage1:>11,} {p.stage2:>17,}  "
                  f"{p.status}{mark}", highlight=False, soft_wrap=True)
    out.print(f"saturation budget: {curve.saturation_vnd:,} VND (stage 1 {curve.max_stage1:,})",
              highlight=False)
    step = next_step(curve)
    if step is not None:
        out.print(next_step_sentence(step, curve.commune_names, lang), highlight=False,
                  markup=False, soft_wrap=True)
    out.print(f"{len(curve.points)} budgets in {curve.seconds:.1f} s -> {out_csv}"
              + (f", {json_out}" if json_out else ""), highlight=False)


def _write(path: Path, text: str) -> None:
    """Write a whole file or nothing (a half-written curve must never be read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _writable(path: Path) -> None:
    """Exit 2 with a sentence unless `path` can be written as a file."""
    if path.is_dir():
        _fail(f"{path}: is a folder; --out and --json name files to write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}."):
            pass
    except OSError as error:
        _fail(f"{path}: cannot be written ({error.strerror or error})")


def _fail(message: str) -> None:
    err.print(message, markup=False, soft_wrap=True)  # a long path stays one line
    raise typer.Exit(2)
