"""`make bench`: the engine, the greedy hand method and a per-household model, side by side.

Every method runs in its own process on the same generated folders; the
table goes to BENCHMARKS.md with the machine, the date and the command.
Ratios compare runs of this one invocation only. Options:
  --quick            small instances only (a few minutes)
  --only NAME,...    just these instances
  --per-household-limit S   seconds for the per-household model (default 600)
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from scenarios.named import scenario
from scenarios.synthetic import synthetic
from tests.bench.service_section import keep_section

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".bench"

# label, how to make it, share of --per-household-limit for the per-household model (0: not run)
INSTANCES = [
    ("random-500", lambda: synthetic(500, 10, 8, 15, seed=12, budget_share=0.3), 0.2),
    ("random-2k", lambda: synthetic(2_000, 20, 15, 30, seed=11, budget_share=0.3), 0.2),
    ("random-8k", lambda: synthetic(8_000, 40, 30, 60, seed=1, budget_share=0.3), 0.2),
    ("sample", lambda: scenario("sample", 1), 0.2),
    ("demo", lambda: scenario("demo", 1), 1.0),
    ("demo-tight-budget", lambda: scenario("demo-tight-budget", 1), 0.0),
    ("demo-restricted", lambda: scenario("demo-restricted", 1), 0.0),
    ("demo-scarce-capacity", lambda: scenario("demo-scarce-capacity", 1), 0.0),
    ("demo-fairness", lambda: scenario("demo-fairness", 1), 0.0),
    ("hcmc-universal", lambda: scenario("hcmc-universal", 1), 0.0),
    ("national", lambda: scenario("national", 1), 0.0),
]
QUICK = {"random-500", "sample", "demo"}


def run(method: str, folder: Path, limit: float | None, wall_limit: float) -> dict:
    out = WORK / "results" / folder.name / method
    cmd = [sys.executable, "-m", "tests.bench.run_one", method, str(folder), str(out)]
    if limit is not None:
        cmd.append(str(limit))
    started = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=wall_limit,
                              cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"method": method, "status": "KILLED", "wall": time.perf_counter() - started}
    wall = time.perf_counter() - started
    if done.returncode != 0:
        return {"method": method, "status": f"ERROR: {done.stderr.strip()[-200:]}",
                "wall": wall}
    record = json.loads(done.stdout.strip().splitlines()[-1])
    record["wall"] = wall
    return record


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="")
    parser.add_argument("--per-household-limit", type=float, default=600.0)
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args()
    chosen = [i for i in INSTANCES if (not args.quick or i[0] in QUICK)
              and (not args.only or i[0] in args.only.split(","))]
    rows = []
    for label, make, per_household in chosen:
        limit = per_household * args.per_household_limit
        folder = WORK / "scenarios" / label
        print(f"[bench] {label}: generating", file=sys.stderr, flush=True)
        make().write(folder)
        results = {}
        for method in ("optimal", "greedy"):
            print(f"[bench] {label}: {method}", file=sys.stderr, flush=True)
            results[method] = run(method, folder, None, 3600)
        if per_household:
            print(f"[bench] {label}: per-household", file=sys.stderr, flush=True)
            results["per-household"] = run("per-household", folder, limit, limit * 2 + 120)
        rows.append((label, results))
        print(json.dumps({label: results}), file=sys.stderr, flush=True)
    write_table(rows, args)


def write_table(rows: list, args: argparse.Namespace) -> None:
    command = "make bench" + (" (quick)" if args.quick else "")
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `{command}` (`python -m tests.bench`) on "
        f"{datetime.date.today().isoformat()}, on {machine()}.",
        "Each method ran in its own process on the same generated folders; times are "
        "wall-clock seconds as measured here, memory is the process's peak resident size. "
        "`engine` is `allocator solve` (the lexicographic optimum), `greedy` the hand method "
        "(`--method greedy`), `per-household` a straightforward model with one binary "
        "variable per household x lot x point, solved by the same HiGHS with the same "
        "stages, gaps and hints, under a time limit of "
        f"{args.per_household_limit:.0f} s.",
        "",
        "| instance | method | households | load s | solve s | write s | total s | peak MB "
        "| status | stage 0 | stage 1 | stage 2 (VND) | stage 3 (km) | gap | served |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    summary = []
    for label, results in rows:
        for method, r in results.items():
            name = "engine" if method == "optimal" else method
            gap = r.get("gap")
            lines.append(
                f"| {label} | {name} | {fmt(r.get('households'))} | {fmt(r.get('load'))} | "
                f"{fmt(r.get('solve'))} | {fmt(r.get('write'))} | {fmt(r.get('wall'))} | "
                f"{fmt(r.get('peak_mb'), 0)} | {r.get('status')} | {fmt(r.get('stage0'))} | "
                f"{fmt(r.get('stage1'))} | {fmt(r.get('stage2'))} | {fmt(r.get('stage3'), 1)} | "
                f"{'–' if gap is None else f'{gap:.4%}'} | {fmt(r.get('served'))} |")
        engine, greedy = results.get("optimal", {}), results.get("greedy", {})
        if isinstance(engine.get("stage1"), int) and isinstance(greedy.get("stage1"), int) \
                and greedy["stage1"] > 0:
            advantage = (engine["stage1"] / greedy["stage1"] - 1) * 100
            text = f"- {label}: engine stage 1 is {advantage:+.2f}% over greedy"
            ph = results.get("per-household")
            if ph:
                if ph.get("status") == "OPTIMAL":
                    ratio = (ph.get("load", 0) + ph.get("solve", 0)) / max(
                        engine.get("load", 0) + engine.get("solve", 0), 1e-9)
                    text += (f"; the per-household model proved its optimum, "
                             f"{ratio:,.0f}x slower (load + solve)")
                else:
                    text += (f"; the per-household model did not prove optimality "
                             f"({ph.get('status')}, {fmt(ph.get('wall'), 0)} s, "
                             f"{fmt(ph.get('variables'))} variables)")
            summary.append(text + ".")
    lines += ["", "## Side by side", ""] + summary + [""]
    out = Path(args.out)
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    out.write_text(keep_section(old, "\n".join(lines) + "\n"), encoding="utf-8")
    print(f"[bench] wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
