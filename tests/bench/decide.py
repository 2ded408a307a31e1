"""Decision support in BENCHMARKS.md: budget curves and bottlenecks, as planners run them.

    .venv/bin/python -m tests.bench.decide      (make bench-decide)

Runs the real commands, each in its own process, on generated folders:
`allocator curve` (12 budgets) on demo three times and on hcmc-universal once,
and `allocator bottlenecks` (ten confirmed changes) on demo three times. The
times are whole processes, wall clock, with both cores of this machine in use
by the command's own solver processes. The section goes under "## Decision
support", before the service's section; the other sections stay as they are.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".bench" / "decide"
BIN = Path(sys.executable).parent
HEADING = "## Decision support"
NEXT = "## The service"
TARGETS = ("Targets: a 12-point budget curve on demo under 10 s and on hcmc-universal under "
           "2 minutes; the ten confirmed bottlenecks on demo under 30 s; on this 2-core "
           "machine, whole process.")


def folder(name: str) -> Path:
    path = WORK / name
    if not (path / "households.csv").exists():
        subprocess.run([str(BIN / "allocator"), "scenario", name, "--out", str(path)],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return path


def timed(cmd: list[str]) -> float:
    print(f"[bench] {' '.join(cmd)}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def spread(times: list[float]) -> str:
    if len(times) == 1:
        return f"{times[0]:.1f}"
    return f"{min(times):.1f} / {statistics.median(times):.1f}"


def curve_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def main() -> None:
    started = time.perf_counter()
    demo, universal = folder("demo"), folder("hcmc-universal")
    subprocess.run([str(BIN / "allocator"), "solve", str(demo), "--out", str(demo / "result"),
                    "--quiet"], check=True, cwd=ROOT)
    curve_demo = [timed([str(BIN / "allocator"), "curve", str(demo), "--out",
                         str(WORK / "curve-demo.csv"), "--json", str(WORK / "curve-demo.json")])
                  for _ in range(3)]
    bottlenecks = [timed([str(BIN / "allocator"), "bottlenecks", str(demo / "result"),
                          "--scenario", str(demo), "--json",
                          str(WORK / "bottlenecks-demo.json")]) for _ in range(3)]
    curve_universal = [timed([str(BIN / "allocator"), "curve", str(universal), "--out",
                              str(WORK / "curve-universal.csv")])]
    rows = curve_rows(WORK / "curve-demo.csv")
    universal_rows = curve_rows(WORK / "curve-universal.csv")
    found = json.loads((WORK / "bottlenecks-demo.json").read_text(encoding="utf-8"))
    confirmed = [r for r in found["relaxations"] if r.get("confirmed")]
    lines = [
        f"Measured by `make bench-decide` on {dt.date.today():%Y-%m-%d}, on this machine "
        "(2 cores, shared); min / median of 3 runs where three were run. No test asserts a "
        "time.", "", TARGETS, "",
        "| command | scenario | runs | seconds (min / median) | result |",
        "|---|---|---:|---:|---|",
        f"| `allocator curve` (12 budgets) | demo | 3 | {spread(curve_demo)} | "
        f"{len(rows)} rows, {sum(r['status'] == 'OPTIMAL' for r in rows)} OPTIMAL |",
        f"| `allocator bottlenecks` | demo | 3 | {spread(bottlenecks)} | "
        f"{len(confirmed)} changes confirmed by exact re-solves |",
        f"| `allocator curve` (12 budgets) | hcmc-universal | 1 | {spread(curve_universal)} | "
        f"{len(universal_rows)} rows, "
        f"{sum(r['status'] == 'OPTIMAL' for r in universal_rows)} OPTIMAL |",
        "", "The demo curve (every row an exact solve at that budget):", "",
        "| budget (VND) | served | stage 1 | stage 2 (VND) | status |",
        "|---:|---:|---:|---:|---|",
        *(f"| {int(r['budget_vnd']):,} | {int(r['served']):,} | {int(r['stage1']):,} | "
          f"{int(r['stage2']):,} | {r['status']} |" for r in rows),
        "", "The demo's best confirmed changes, as the round page shows them (changes of "
        "one kind with equal gains in one sentence):", "",
        *(f"- {r['sentence_en']}" for r in found.get("best", [])[:10]),
        "", f"The whole run took {(time.perf_counter() - started) / 60:,.1f} minutes."]
    path = ROOT / "BENCHMARKS.md"
    path.write_text(replace_section(path.read_text(encoding="utf-8"), "\n".join(lines)),
                    encoding="utf-8")
    print(f"[bench] wrote the decision-support section of {path}", file=sys.stderr)


def replace_section(text: str, body: str) -> str:
    """`text` with its decision-support section replaced by `body` (added before the
    service's section, or at the end, if it had none)."""
    section = f"{HEADING}\n\n{body.strip()}\n\n"
    if f"\n{HEADING}\n" in text:
        head, rest = text.split(f"\n{HEADING}\n", 1)
        tail = rest.split(f"\n{NEXT}\n", 1)
        after = f"{NEXT}\n{tail[1]}" if len(tail) == 2 else ""
        return f"{head.rstrip()}\n\n{section}{after}".rstrip("\n") + "\n"
    if f"\n{NEXT}\n" in text:
        head, rest = text.split(f"\n{NEXT}\n", 1)
        return f"{head.rstrip()}\n\n{section}{NEXT}\n{rest}"
    return f"{text.rstrip()}\n\n{section}".rstrip("\n") + "\n"


if __name__ == "__main__":
    main()
