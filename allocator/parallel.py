"""Many exact solves of one round, side by side in separate processes.

A budget curve or a list of what-if changes is a batch of independent solves of
the same scenario, each a little different. HiGHS uses one core per solve, so
the batch runs in worker processes (one per core by default), each holding the
scenario and its built problem once. A job names its variant: a different
budget (the problem is reused as is) or a change of the scenario (the problem
is built again). A job may carry a start allocation: the optimum of a
neighbouring variant, which stays feasible when the variant only relaxes.

Workers are started with `spawn`, never `fork`: the service calls this from
threads, and a forked copy of a threaded process can hang on a lock. A worker
whose parent dies (a service killed with -9 in the middle of a curve) notices
within a second and exits, so no solver is left running for nobody.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from allocator.contract import STATUSES
from allocator.problem import Problem, build_problem
from allocator.solve import solve
from allocator.validate import Scenario

Variant = Callable[[Scenario], Scenario]
"""A change of the scenario; must pickle (a module-level function or a functools.partial)."""


@dataclass
class Outcome:
    """One solve's result, with what planners read from it and what the next solve starts from."""

    budget_vnd: int
    status: str
    stage0: int
    stage1: int
    stage2: int
    stage3: float
    served: int
    seconds: float
    by_status: dict[str, int]   # served households per poverty status
    by_commune: dict[str, int]  # served households per commune code (where any)
    lot_of: np.ndarray
    point_of: np.ndarray


def default_workers() -> int:
    """One worker per core this process may use (at least one)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not every platform has it
        cores = os.cpu_count() or 1
    return max(1, cores)


def solve_outcome(problem: Problem, start: tuple[np.ndarray, np.ndarray] | None = None,
                  time_limit_s: float | None = None) -> Outcome:
    """Solve `problem` exactly here (no worker) and summarise it as an `Outcome`."""
    started = time.perf_counter()
    allocation = solve(problem, time_limit_s=time_limit_s, start=start)
    served = allocation.lot_of >= 0
    status = np.bincount(problem.hh_status[served], minlength=len(STATUSES))
    commune = np.bincount(problem.hh_commune[served], minlength=len(problem.commune_code))
    values = allocation.values
    return Outcome(
        budget_vnd=problem.budget, status=allocation.status.value, stage0=values.stage0,
        stage1=values.stage1, stage2=values.stage2, stage3=round(values.stage3, 6),
        served=int(served.sum()), seconds=time.perf_counter() - started,
        by_status={s: int(n) for s, n in zip(STATUSES, status)},
        by_commune={str(problem.commune_code[c]): int(commune[c])
                    for c in np.flatnonzero(commune)},
        lot_of=allocation.lot_of, point_of=allocation.point_of)


def with_budget(problem: Problem, budget_vnd: int) -> Problem:
    """The same problem at another budget (the budget changes no array, only the row)."""
    return replace(problem, policy=replace(problem.policy, budget_vnd=int(budget_vnd)))


_scenario: Scenario | None = None
_problem: Problem | None = None


def _adopt(scenario: Scenario, parent: int) -> None:
    global _scenario, _problem
    _scenario, _problem = scenario, None
    threading.Thread(target=_orphan_watch, args=(parent,), daemon=True).start()


def _orphan_watch(parent: int) -> None:
    """Exit this worker once the process that started it is gone (re-parented)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _run(budget_vnd: int | None, variant: Variant | None,
         start: tuple[np.ndarray, np.ndarray] | None, time_limit_s: float | None) -> Outcome:
    global _problem
    assert _scenario is not None, "worker started without a scenario"
    if variant is None:
        if _problem is None:
            _problem = build_problem(_scenario)
        problem = _problem
    else:
        problem = build_problem(variant(_scenario))
    if budget_vnd is not None:
        problem = with_budget(problem, budget_vnd)
    return solve_outcome(problem, start, time_limit_s)


class Solvers:
    """A pool of solver processes over one scenario; use as a context manager.

    With `workers=1` jobs run in this process, one after another (no pool at all),
    which is what tests and one-core machines want.
    """

    def __init__(self, scenario: Scenario, workers: int | None = None,
                 time_limit_s: float | None = None) -> None:
        self.workers = max(1, workers if workers is not None else default_workers())
        self.time_limit_s = time_limit_s
        self._scenario = scenario
        self._pool: ProcessPoolExecutor | None = None
        if self.workers > 1:
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_adopt, initargs=(scenario, os.getpid()))
        self._local: Problem | None = None

    def submit(self, budget_vnd: int | None = None, variant: Variant | None = None,
               start: tuple[np.ndarray, np.ndarray] | None = None) -> Future[Outcome]:
        """Solve the scenario at `budget_vnd` (default: its own) after `variant`, if any."""
        if self._pool is not None:
            return self._pool.submit(_run, budget_vnd, variant, start, self.time_limit_s)
        future: Future[Outcome] = Future()
        try:
            if variant is None:
                if self._local is None:
                    self._local = build_problem(self._scenario)
                problem = self._local
            else:
                problem = build_problem(variant(self._scenario))
            if budget_vnd is not None:
                problem = with_budget(problem, budget_vnd)
            future.set_result(solve_outcome(problem, start, self.time_limit_s))
        except BaseException as error:  # delivered through the future, as a pool would
            future.set_exception(error)
        return future

    def close(self, abandon: bool = False) -> None:
        """Stop the workers: after their solves, or (`abandon`) at once, their solves lost."""
        if self._pool is not None:
            if abandon:  # nobody will read these solves: a worker must not wait for them
                for process in list(getattr(self._pool, "_processes", {}).values()):
                    process.terminate()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Solvers:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_exc: object) -> None:
        self.close(abandon=kind is not None)
