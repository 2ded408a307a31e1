"""`allocator bottlenecks RESULT_DIR`: what binds a solved round and what would serve more.

The scenario is the one the result was solved from: `--scenario`, else the
`scenario_dir` that `allocator solve` records in summary.json, else RESULT_DIR/..
when it holds households.csv (the layout `allocator round export` writes). The
round is solved again; if its optimum differs from the result's, the two do not
belong together and nothing is reported (exit 2).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

err = Console(stderr=True)
out = Console()
SHOWN_PER_KIND = 5  # binding lots (or points) printed; the JSON holds them all

HEAD = {
    "base": ("Đợt phân bổ: {status}, {served} hộ được nhận máy, {weight} điểm ưu tiên, "
             "đã chi {used} trên {budget} đồng.",
             "Round: {status}, {served} households served, {weight} priority points, "
             "{used} of {budget} VND spent."),
    "binding": ("Điều đang giới hạn kết quả:", "What binds:"),
    "nothing": ("  Không có giới hạn nào đáng kể.", "  Nothing binds noticeably."),
    "more": ("  ... và {n} mục khác cùng loại (xem --json).",
             "  ... and {n} more of this kind (see --json)."),
    "best": ("Các thay đổi có lợi nhất (mỗi thay đổi được giải lại chính xác):",
             "The changes that would serve the most (each solved again exactly):"),
    "none": ("  Không thay đổi nào trong số đã thử phục vụ thêm được hộ nào.",
             "  None of the changes tried would serve more households."),
    "idle": ("Lô còn máy chưa phát: {n} (lý do và thay đổi cho từng lô: xem --json).",
             "Lots with idle devices: {n} (why, and the change for each: see --json)."),
    "seconds": ("Thời gian: {s:.1f} giây.", "Time: {s:.1f} s."),
}


def bottlenecks_command(
    result_dir: Annotated[Path, typer.Argument(help="A result folder of 'allocator solve'.")],
    scenario_dir: Annotated[Path | None, typer.Option(
        "--scenario", help="The scenario folder the result was solved from.")] = None,
    top: Annotated[int, typer.Option(help="How many of the best changes to show.")] = 10,
    lang: Annotated[str, typer.Option(help="'vi' (Vietnamese) or 'en' (English).")] = "vi",
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="Write the whole analysis to this JSON file.")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Solver processes (default: one per core).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]
    = False,
) -> None:
    """What binds a solved round, and the changes that would serve the most, confirmed exactly."""
    if lang not in ("vi", "en"):
        _fail(f"--lang must be 'vi' or 'en' (got {lang!r})")
    if top < 1:
        _fail(f"--top must be at least 1 (got {top})")
    if workers is not None and workers < 1:
        _fail(f"--workers must be at least 1 (got {workers})")
    summary = _summary(result_dir)
    folder = _scenario_folder(result_dir, scenario_dir, summary)

    from allocator.bottlenecks import ResultMismatch, find_bottlenecks
    from allocator.issues import InvalidInput
    from allocator.validate import read_scenario

    try:
        scenario = read_scenario(folder)
    except InvalidInput as problems:
        for issue in problems.issues:
            err.print(str(issue), markup=False, highlight=False, soft_wrap=True)
        err.print(f"{len(problems.issues)} problem(s) in {folder}; nothing was analysed.",
                  style="bold red")
        raise typer.Exit(2) from None
    if _number(result_dir, summary, "households", len(scenario.households)) != \
            len(scenario.households) or \
            _number(result_dir, summary, "budget_vnd", scenario.policy.budget_vnd) != \
            scenario.policy.budget_vnd:
        _mismatch(result_dir, folder, "its household count or budget differs")
    expect: dict[str, int] | None = None
    if summary.get("method", "optimal") == "optimal" and summary.get("status") == "OPTIMAL":
        expect = {k: _number(result_dir, summary, k, 0)
                  for k in ("stage0", "stage1", "stage2", "served") if k in summary}
    elif not quiet:
        err.print(f"note: {result_dir} is not a proven optimum ({summary.get('method')}, "
                  f"{summary.get('status')}); the bottlenecks are those of the optimum.",
                  markup=False)
    started = time.perf_counter()

    def progress(message: str) -> None:
        if not quiet:
            err.print(f"[dim]{time.perf_counter() - started:6.2f} s[/dim]  {message}")

    try:
        found = find_bottlenecks(scenario, top=top, workers=workers, progress=progress,
                                 expect=expect)
    except ResultMismatch as error:
        _mismatch(result_dir, folder, str(error))
    data = found.to_json()
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n",
                            encoding="utf-8")
    _print(data, found.best_sentences(top), lang)
    if json_out is not None and not quiet:
        err.print(f"written to {json_out}", markup=False)


def _summary(result_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((result_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        _fail(f"{result_dir}: not a result folder of 'allocator solve' (summary.json: "
              f"{getattr(error, 'strerror', None) or error})")
    if not isinstance(data, dict):
        _fail(f"{result_dir}: summary.json is not as 'allocator solve' writes it")
    return data


def _number(result_dir: Path, summary: dict[str, Any], key: str, default: int) -> int:
    """A whole number of summary.json; a hand-edited or damaged one is the operator's to fix."""
    value = summary.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not math.isfinite(value) or value != int(value):
        _fail(f"{result_dir}: summary.json's {key} is not a whole number ({value!r}); "
              f"solve the round again")
    return int(value)


def _scenario_folder(result_dir: Path, given: Path | None, summary: dict[str, Any]) -> Path:
    if given is not None:
        if not (given / "households.csv").is_file():
            _fail(f"{given}: not a scenario folder (no households.csv)")
        return given
    recorded = summary.get("scenario_dir")
    if isinstance(recorded, str) and recorded and (Path(recorded) / "households.csv").is_file():
        return Path(recorded)
    parent = result_dir.resolve().parent
    if (parent / "households.csv").is_file():
        return parent
    _fail(f"{result_dir}: cannot tell which scenario this result was solved from; "
          f"give its folder with --scenario DIR")


def _mismatch(result_dir: Path, folder: Path, why: str) -> NoReturn:
    _fail(f"{result_dir} does not match the scenario {folder}: {why}. Give the folder it "
          f"was solved from with --scenario DIR, or solve it again.")


def _print(data: dict[str, Any], best: list[dict[str, Any]], lang: str) -> None:
    at = 0 if lang == "vi" else 1

    def n(value: int) -> str:
        text = f"{int(value):,}"
        return text.replace(",", ".") if lang == "vi" else text

    base = data["base"]
    out.print(HEAD["base"][at].format(status=base["status"], served=n(base["served"]),
                                      weight=n(base["stage1"]), used=n(base["stage2"]),
                                      budget=n(base["budget_vnd"])),
              markup=False, highlight=False, soft_wrap=True)
    out.print(HEAD["binding"][at], style="bold")
    key = f"sentence_{lang}"
    shown: dict[str, int] = {}
    for entry in data["binding"]:
        kind = entry["kind"]
        shown[kind] = shown.get(kind, 0) + 1
        if shown[kind] <= SHOWN_PER_KIND:
            out.print(f"  - {entry[key]}", markup=False, highlight=False, soft_wrap=True)
        elif shown[kind] == len([e for e in data["binding"] if e["kind"] == kind]):
            out.print(HEAD["more"][at].format(n=shown[kind] - SHOWN_PER_KIND), markup=False)
    if not data["binding"]:
        out.print(HEAD["nothing"][at], markup=False)
    out.print(HEAD["best"][at], style="bold")
    for i, entry in enumerate(best, start=1):
        out.print(f"  {i}. {entry[key]}", markup=False, highlight=False, soft_wrap=True)
    if not best:
        out.print(HEAD["none"][at], markup=False)
    idle = sum(1 for lot in data["lots"] if lot["idle"] > 0)
    if idle:
        out.print(HEAD["idle"][at].format(n=idle), markup=False)
    out.print(HEAD["seconds"][at].format(s=data["seconds"]), markup=False, style="dim")


def _fail(message: str) -> NoReturn:
    err.print(message, markup=False, soft_wrap=True)
    raise typer.Exit(2)
