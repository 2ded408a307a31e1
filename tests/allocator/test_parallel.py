"""Side-by-side solves (allocator.parallel): the same answers as one solve here, and no
solver process outlives the process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from functools import partial
from pathlib import Path

from allocator.parallel import Solvers, solve_outcome, with_budget
from allocator.problem import build_problem
from allocator.validate import Scenario, read_scenario
from tests.allocator.helpers import household, lot, make_round, point, write_round


def _scenario(tmp_path: Path) -> Path:
    households = [household(f"H{i:02d}", status=("poor", "near_poor")[i % 2],
                            flags="disability" if i % 3 == 0 else "") for i in range(12)]
    lots = [lot("L1", quantity=4, price=1_000_000, subsidy=400_000),
            lot("L2", quantity=5, price=800_000, subsidy=800_000)]
    points = [point("P1", capacity=6), point("P2", capacity=5)]
    return write_round(tmp_path / "scenario",
                       make_round(households, lots, points, budget_vnd=1_200_000))


def _half_stock(scenario: Scenario) -> Scenario:
    lots = scenario.lots.copy()
    lots["quantity"] = lots["quantity"] // 2
    return Scenario(scenario.households, lots, scenario.points, scenario.communes,
                    scenario.policy, scenario.communes_bundled, scenario.keep)


def test_pool_and_here_give_the_same_outcomes_as_one_solve(tmp_path: Path) -> None:
    scenario = read_scenario(_scenario(tmp_path))
    problem = build_problem(scenario)
    budgets = [0, 600_000, 1_200_000, 5_000_000]
    expected = [solve_outcome(with_budget(problem, b)) for b in budgets]
    halved = solve_outcome(build_problem(_half_stock(scenario)))
    for workers in (1, 2):
        with Solvers(scenario, workers=workers) as solvers:
            got = [solvers.submit(budget_vnd=b).result() for b in budgets]
            changed = solvers.submit(variant=partial(_half_stock)).result()
            # A start from a lower budget's optimum gives the same optimum.
            started = solvers.submit(budget_vnd=5_000_000,
                                     start=(got[1].lot_of, got[1].point_of)).result()
        for a, b in zip(got, expected, strict=True):
            assert (a.budget_vnd, a.status, a.stage1, a.stage2, a.served, a.by_status) == \
                (b.budget_vnd, b.status, b.stage1, b.stage2, b.served, b.by_status)
            assert (a.lot_of == b.lot_of).all() and (a.point_of == b.point_of).all()
        assert (changed.stage1, changed.served) == (halved.stage1, halved.served)
        assert (started.stage1, started.stage2, started.stage3) == \
            (expected[-1].stage1, expected[-1].stage2, expected[-1].stage3)
    assert [o.stage1 for o in expected] == sorted(o.stage1 for o in expected)
    assert expected[0].stage2 == 0 and expected[-1].served == 9


def test_solver_processes_exit_when_their_parent_is_killed(tmp_path: Path) -> None:
    folder = _scenario(tmp_path)
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys, time
        from allocator.parallel import Solvers
        from allocator.validate import read_scenario
        if __name__ == "__main__":
            solvers = Solvers(read_scenario({str(folder)!r}), workers=2)
            jobs = [solvers.submit(budget_vnd=b) for b in (1, 2)]
            [job.result() for job in jobs]
            pids = [p.pid for p in solvers._pool._processes.values()]
            print(" ".join(map(str, pids)), flush=True)
            time.sleep(600)
    """), encoding="utf-8")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])
    assert parent.stdout is not None
    children = [int(p) for p in parent.stdout.readline().split()]
    assert len(children) == 2
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=30)
    deadline = time.monotonic() + 60  # a deadline, not a speed target
    alive = children
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in children if _running(pid)]
        time.sleep(0.2)
    assert alive == [], f"solver processes {alive} outlived their parent"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def _slow(scenario: Scenario, seconds: float) -> Scenario:
    time.sleep(seconds)
    return scenario


def test_leaving_on_an_error_abandons_the_solves_in_flight(tmp_path: Path) -> None:
    """An analysis that stops (a solve waits, or it failed) must not wait for its solves."""
    scenario = read_scenario(_scenario(tmp_path))
    started = 0.0
    try:
        with Solvers(scenario, workers=2) as solvers:
            solvers.submit(variant=partial(_slow, seconds=60))
            time.sleep(3)  # the job is in a worker by now
            started = time.perf_counter()
            raise KeyError("stop")
    except KeyError:
        pass
    assert time.perf_counter() - started < 20
