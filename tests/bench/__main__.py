"""`make bench`: the engine, the greedy hand method and a per-household model, side by side.

Every method runs in its own process on the same generated folders; the
table goes to BENCHMARKS.md with the machine, the date and the command.
Ratios compare runs of this one invocation only. A method whose first run
takes under 10 s runs --runs times (rounds interleave the methods, so that a
busy spell of the machine falls on all of them); the table gives the minimum
and the median. Options:
  --quick            small instances only (a few minutes)
  --only NAME,...    just these instances
  --runs N           runs of each quick method (default 3)
  --per-household-limit S   seconds for the per-household model (default 600)
  --out FILE         where the table goes (default BENCHMARKS.md)
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from scenarios.folder import ScenarioTables
from scenarios.synthetic import synthetic
from tests.bench.service_section import keep_section

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".bench"
REPEAT_UNDER_S = 10.0
PHASES = ("load", "solve", "write", "wall")

# label, a synthetic round (None: the named scenario of that label, made in its own
# process), share of --per-household-limit for the per-household model (0: not run).
# The per-household model runs only where it proves its optimum: on random-8k and
# sample it stopped at its 120 s limit without a proof, on demo it was killed after
# 1,320 s (make bench of 2026-11-27), which said nothing a shorter run would not.
Instance = tuple[str, Callable[[], ScenarioTables] | None, float]
INSTANCES: list[Instance] = [
    ("random-500", lambda: synthetic(500, 10, 8, 15, seed=12, budget_share=0.3), 0.2),
    ("random-2k", lambda: synthetic(2_000, 20, 15, 30, seed=11, budget_share=0.3), 0.2),
    ("random-8k", lambda: synthetic(8_000, 40, 30, 60, seed=1, budget_share=0.3), 0.0),
    ("sample", None, 0.0),
    ("demo", None, 0.0),
    ("demo-tight-budget", None, 0.0),
    ("demo-restricted", None, 0.0),
    ("demo-scarce-capacity", None, 0.0),
    ("demo-fairness", None, 0.0),
    ("hcmc-universal", None, 0.0),
    ("national", None, 0.0),
    ("vn-universal", None, 0.0),
]
QUICK = {"random-500", "sample", "demo"}
# The engine once more with a longer limit than the round's own, where that limit ends
# before stage 3 is proven: what a planner who gives it the time gets, and how soon.
GIVEN_THE_TIME = {"national": 400.0}
PER_HOUSEHOLD_NOTE = (
    "The per-household model runs only on random-500 and random-2k, where it proves its "
    "optimum; on random-8k and sample it stopped at a 120 s limit without a proof and on "
    "demo it was stopped after 1,320 s (`make bench` of 2026-11-27), so those runs are no "
    "longer made.")


def run(cmd_args: list[str], wall_limit: float) -> dict:
    """One child process of tests.bench.run_one; its JSON line, with its wall-clock time."""
    cmd = [sys.executable, "-m", "tests.bench.run_one", *cmd_args]
    started = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=wall_limit,
                              cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"status": "KILLED", "wall": time.perf_counter() - started}
    wall = time.perf_counter() - started
    if done.returncode != 0:
        return {"status": f"ERROR: {done.stderr.strip()[-200:]}", "wall": wall}
    record = json.loads(done.stdout.strip().splitlines()[-1])
    record["wall"] = wall
    return record


def run_method(method: str, folder: Path, limit: float | None, wall_limit: float) -> dict:
    """One run of `method` (`optimal@S`: the engine with a limit of S seconds)."""
    out = WORK / "results" / folder.name / method
    args = [method.split("@")[0], str(folder), str(out)] + \
        ([] if limit is None else [str(limit)])
    record = run(args, wall_limit)
    record["method"] = method
    return record


def measure(label: str, folder: Path, per_household: float, args: argparse.Namespace
            ) -> dict[str, list[dict]]:
    """Every method's runs on one folder: a first round of all, then more of the quick ones."""
    methods: dict[str, tuple[float | None, float]] = {"optimal": (None, 7200.0),
                                                      "greedy": (None, 7200.0)}
    if per_household:
        limit = per_household * args.per_household_limit
        methods["per-household"] = (limit, limit * 2 + 120)
    if label in GIVEN_THE_TIME:
        limit = GIVEN_THE_TIME[label]
        methods[f"optimal@{limit:.0f}"] = (limit, limit * 2 + 300)
    runs: dict[str, list[dict]] = {m: [] for m in methods}
    for round_ in range(max(1, args.runs)):
        for method, (limit, wall_limit) in methods.items():
            first = runs[method][0] if runs[method] else None
            if first is not None and (first.get("wall", 0) >= REPEAT_UNDER_S
                                      or "load" not in first):
                continue
            print(f"[bench] {label}: {method} (run {round_ + 1})", file=sys.stderr, flush=True)
            runs[method].append(run_method(method, folder, limit, wall_limit))
    return runs


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}"


def fmt(x: object, digits: int = 2) -> str:
    if x is None or x == "":
        return "–"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def spread(runs: list[dict], key: str, digits: int = 2) -> str:
    """`min / median` over the runs that have `key`, or the one value."""
    values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
    if not values:
        return "–"
    if len(values) == 1:
        return fmt(float(values[0]), digits)
    return f"{fmt(float(min(values)), digits)} / {fmt(float(statistics.median(values)), digits)}"


def load_average() -> str:
    try:
        return ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "–"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--per-household-limit", type=float, default=600.0)
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args()
    chosen = [i for i in INSTANCES if (not args.quick or i[0] in QUICK)
              and (not args.only or i[0] in args.only.split(","))]
    started, load_before = time.perf_counter(), load_average()
    # Measure what a user's second run costs: Python caches the project's compiled
    # modules beside them after the first, unless told not to write them (as a
    # read-only or PYTHONDONTWRITEBYTECODE machine is); then every process would
    # compile them again (about 60 ms).
    compileall.compile_dir(ROOT / "allocator", quiet=1)
    compileall.compile_dir(ROOT / "tests", maxlevels=1, quiet=1)
    rows = []
    for label, make, per_household in chosen:
        folder = WORK / "scenarios" / label
        print(f"[bench] {label}: generating", file=sys.stderr, flush=True)
        if make is None:
            made = run(["scenario", label, str(folder)], 7200.0)
            if "seconds" not in made:
                raise SystemExit(f"[bench] {label}: generation failed: {made['status']}")
        else:
            t0 = time.perf_counter()
            make().write(folder)
            made = {"seconds": time.perf_counter() - t0}
        runs = measure(label, folder, per_household, args)
        rows.append((label, made, runs))
        print(json.dumps({label: runs}), file=sys.stderr, flush=True)
    context = {"load_before": load_before, "load_after": load_average(),
               "minutes": (time.perf_counter() - started) / 60}
    write_table(rows, args, context)


def stage1_check(label: str, results: dict[str, list[dict]]) -> str:
    """The check line: the engine's stage 1 is at least greedy's, and what per-household did."""
    engine, greedy = results["optimal"][0], results["greedy"][0]
    e1, g1 = engine.get("stage1"), greedy.get("stage1")
    if not isinstance(e1, int) or not isinstance(g1, int):
        return (f"- {label}: stage 1 at least greedy's: not known (engine "
                f"{engine.get('status')}, greedy {greedy.get('status')}).")
    verdict = "yes" if e1 >= g1 else "**NO**"
    text = f"- {label}: stage 1 at least greedy's: {verdict} ({e1:,} vs {g1:,}"
    text += f", {(e1 / g1 - 1) * 100:+.2f}%)" if g1 > 0 else ")"
    changed = [m for m, rs in results.items()
               if len({(r.get("stage1"), r.get("stage2"), r.get("stage3")) for r in rs}) > 1]
    if changed:
        text += f"; results differ between runs of {', '.join(changed)}"
    ph = results.get("per-household")
    if ph:
        if ph[0].get("status") == "OPTIMAL":
            def busy(rs: list[dict]) -> float:
                return min(r.get("load", 0) + r.get("solve", 0) for r in rs)
            ratio = busy(ph) / max(busy(results["optimal"]), 1e-9)
            same = ph[0].get("stage1") == e1
            text += (f"; the per-household model proved its optimum "
                     f"({'the same stage 1' if same else 'a different stage 1'}), "
                     f"{ratio:,.0f}x slower (load + solve, fastest runs)")
        else:
            text += (f"; the per-household model did not prove optimality "
                     f"({ph[0].get('status')}, {fmt(ph[0].get('wall'), 0)} s, "
                     f"{fmt(ph[0].get('variables'))} variables)")
    return text + "."


def write_table(rows: list, args: argparse.Namespace, context: dict) -> None:
    command = "make bench" + (" (quick)" if args.quick else "")
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `{command}` (`python -m tests.bench`) on "
        f"{datetime.date.today().isoformat()}, on {machine()}; load average "
        f"{context['load_before']} before and {context['load_after']} after; the whole run "
        f"took {context['minutes']:.1f} minutes.",
        "Each method ran in its own process on the same generated folders; times are "
        "wall-clock seconds as measured here, `total` being the whole process (Python start, "
        "load, solve, write; the project's modules compiled beforehand, as after a "
        "user's first run) and `cpu` its user and system time, which a busy machine "
        "inflates less; memory is the process's peak resident size (both with the solver "
        "helper's added where one ran: models of 300,000 columns or more are solved in a "
        "helper process, see allocator/solver_process.py; the helper's peak as it counts "
        "it itself, VmHWM, the kernel's count for a child also holding the caller's pages "
        "it ran on until its exec). A method whose "
        f"first run took under {REPEAT_UNDER_S:.0f} s ran {args.runs} times, rounds "
        "interleaving the methods: its times are `min / median`; the others ran once. "
        "`engine` is `allocator solve` (the lexicographic optimum), `greedy` the hand method "
        "(`--method greedy`), `per-household` a straightforward model with one binary "
        "variable per household x lot x point, solved by the same HiGHS with the same "
        "stages, gaps and hints, under a time limit of "
        f"{args.per_household_limit * max(i[2] for i in INSTANCES):.0f} s. "
        + PER_HOUSEHOLD_NOTE,
        "`stage 3 bound` is the lower bound on total distance the engine proved "
        "(`stages[3].bound` in summary.json; – where none is reported)."
        + (" `engine, N s` is the engine given a time limit of N s instead of the round's "
           "own (60 s for national): what it proves given the time."
           if any(label in GIVEN_THE_TIME for label, _, _ in rows) else ""),
        "",
        "| instance | method | households | runs | load s | solve s | write s | total s "
        "| cpu s | peak MB | status | stage 0 | stage 1 | stage 2 (VND) | stage 3 (km) "
        "| stage 3 bound (km) | gap | served |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    checks, made_lines = [], []
    for label, made, results in rows:
        if "peak_mb" in made:
            made_lines.append(f"- {label}: {fmt(made.get('households'))} households, "
                              f"generated and written in {made['seconds']:,.2f} s; the "
                              f"whole process took {made['cpu']:,.1f} s of CPU (with "
                              f"Python's start-up) and peaked at {made['peak_mb']:,.0f} MB.")
        for method, runs in results.items():
            r = runs[0]
            name = "engine" if method == "optimal" else method
            if method.startswith("optimal@"):
                name = f"engine, {method.split('@')[1]} s"
            gap = r.get("gap")
            peak = max((x["peak_mb"] for x in runs if "peak_mb" in x), default=None)
            lines.append(
                f"| {label} | {name} | {fmt(r.get('households'))} | {len(runs)} | "
                f"{spread(runs, 'load')} | {spread(runs, 'solve')} | {spread(runs, 'write')} | "
                f"{spread(runs, 'wall')} | {spread(runs, 'cpu')} | {fmt(peak, 0)} | "
                f"{r.get('status')} | "
                f"{fmt(r.get('stage0'))} | {fmt(r.get('stage1'))} | {fmt(r.get('stage2'))} | "
                f"{fmt(r.get('stage3'), 1)} | {fmt(r.get('stage3_bound'), 1)} | "
                f"{'–' if gap is None else f'{gap:.4%}'} | {fmt(r.get('served'))} |")
        checks.append(stage1_check(label, results))
    lines += ["", "## Checks", ""] + checks + [""]
    if made_lines:
        lines += ["Generating the named scenarios (`allocator scenario NAME`, one process "
                  "each):", ""] + made_lines + [""]
    out = Path(args.out)
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    out.write_text(keep_section(old, "\n".join(lines) + "\n"), encoding="utf-8")
    print(f"[bench] wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
