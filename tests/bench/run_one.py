"""One benchmark run in its own process: python -m tests.bench.run_one METHOD SCENARIO OUT [LIMIT].

Prints one JSON line: phase timings, peak memory of this process, stage values.
`python -m tests.bench.run_one scenario NAME OUT` writes the named scenario instead
and prints its generation time and peak memory, so that a big scenario is made
in a process of its own, like each method's run.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from allocator.loading import uncollected

with uncollected():  # as `allocator solve` loads the engine
    from allocator import solver_process
    from allocator.problem import build_problem
    from allocator.result import allocations_frame, summary, unserved_frame, write_result
    from allocator.solve import solve
    from allocator.validate import read_scenario


def peak_mb() -> float:
    """This process's peak resident size plus its solver helper's (allocator/solver_process.py,
    large models only), which ran beside it: an upper bound on the two together. The
    helper's is its own count (solver_process.helpers_peak_mb): the kernel's for a
    finished child also counts this process's pages the child ran on until its exec.
    (Where /proc cannot say, the kernel's count stands, an overstatement.)"""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    helper = solver_process.helpers_peak_mb() or \
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own + helper


def cpu_seconds() -> float:
    """User and system time of this process and its solver helper: on a shared machine,
    what the run itself cost."""
    return sum(usage.ru_utime + usage.ru_stime
               for usage in (resource.getrusage(resource.RUSAGE_SELF),
                             resource.getrusage(resource.RUSAGE_CHILDREN)))


def stage3_bound(data: dict) -> object:
    """Stage 3's proven bound as summary.json reports it, None where it reports none."""
    for stage in data.get("stages") or []:
        if stage.get("stage") == 3:
            return stage.get("bound")
    return None


def generate(name: str, out_dir: Path) -> None:
    from scenarios.named import scenario
    started = time.perf_counter()
    tables = scenario(name, 1)
    tables.write(out_dir)
    print(json.dumps({"scenario": name, "households": len(tables.households),
                      "seconds": time.perf_counter() - started, "cpu": cpu_seconds(),
                      "peak_mb": peak_mb()}))


def main() -> None:
    method, scenario_dir, out_dir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if method == "scenario":
        generate(sys.argv[2], out_dir)
        return
    limit = float(sys.argv[4]) if len(sys.argv) > 4 else None
    started = time.perf_counter()
    problem = build_problem(read_scenario(scenario_dir))
    loaded = time.perf_counter()
    record: dict[str, object] = {"method": method, "households": len(problem.hh_id)}
    if method == "per-household":
        from tests.bench.per_household import solve_per_household
        report = solve_per_household(problem, limit or 600.0)
        solved = time.perf_counter()
        record.update(report)
        record["write"] = 0.0
    else:
        allocation = solve(problem, method, limit)
        solved = time.perf_counter()
        allocations = allocations_frame(problem, allocation)
        unserved = unserved_frame(problem, allocation)
        data = summary(problem, allocation, {})
        write_result(out_dir, allocations, unserved, data)
        record.update({k: data[k] for k in ("status", "stage0", "stage1", "stage2", "stage3",
                                            "gap", "best_bound", "served", "eligible")})
        record["stage3_bound"] = stage3_bound(data)
        record["write"] = time.perf_counter() - solved
    record["load"] = loaded - started
    record["solve"] = solved - loaded
    solver_process.close()  # waited for, so its memory and time count below
    record["peak_mb"] = peak_mb()
    record["cpu"] = cpu_seconds()
    print(json.dumps(record))


if __name__ == "__main__":
    main()
