"""One benchmark run in its own process: python -m tests.bench.run_one METHOD SCENARIO OUT [LIMIT].

Prints one JSON line: phase timings, peak memory of this process, stage values.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from allocator.problem import build_problem
from allocator.result import allocations_frame, summary, unserved_frame, write_result
from allocator.solve import solve
from allocator.validate import read_scenario


def main() -> None:
    method, scenario_dir, out_dir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
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
        record["write"] = time.perf_counter() - solved
    record["load"] = loaded - started
    record["solve"] = solved - loaded
    record["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(record))


if __name__ == "__main__":
    main()
