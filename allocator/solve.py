"""The lexicographic optimum, stage by stage, on the aggregated model.

Stages 0-2 are solved on classes (households interchangeable for fairness,
weight and cost), stage 3 on sites (households at the same home), each stage
keeping the optimum of the ones before. After every solve the integer
solution is re-checked exactly; a budget overrun caused by floating-point
tolerance tightens the budget row and solves again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from allocator.aggregate import Units, build_units
from allocator.check import StageValues, check_allocation
from allocator.disaggregate import assign_lots, assign_points, tie_rank
from allocator.greedy import greedy
from allocator.milp import MilpResult, SolveStatus
from allocator.model import AllocationModel, build_model, fix_stage, stage_objective
from allocator.problem import Problem

Progress = Callable[[str], None]
STAGE_NAMES = {0: "stage 0: fairness floor", 1: "stage 1: priority weight",
               2: "stage 2: public cost", 3: "stage 3: distance"}
_SHARE_OF_REMAINING = {0: 0.25, 1: 0.6, 2: 0.6, 3: 1.0}
_ABS_GAP = {0: 0.5, 1: 0.5, 2: 0.5, 3: 1e-6}
_REPAIRS = 5


@dataclass
class StageReport:
    stage: int
    status: SolveStatus
    value: float
    bound: float
    seconds: float
    variables: int
    rows: int


@dataclass
class Allocation:
    """What a solve returns: who gets which lot where, and how good that is."""

    lot_of: np.ndarray
    point_of: np.ndarray
    status: SolveStatus
    values: StageValues
    best_bound: float  # of stage 1
    gap: float         # of stage 1, relative
    method: str
    seconds: float
    stages: list[StageReport] = field(default_factory=list)


class InternalError(RuntimeError):
    """The engine broke one of its own guarantees (never the user's fault)."""


def solve(problem: Problem, method: str = "optimal", time_limit_s: float | None = None,
          progress: Progress | None = None) -> Allocation:
    """Solve a problem with `method` 'optimal' (the contract's optimum) or 'greedy'."""
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    if method == "greedy":
        say("greedy")
        lot_of, point_of = greedy(problem)
        values = _checked(problem, lot_of, point_of)
        return Allocation(lot_of, point_of, SolveStatus.FEASIBLE, values, float("nan"),
                          float("nan"), "greedy", time.perf_counter() - started)
    limit = time_limit_s if time_limit_s is not None else problem.policy.time_limit_s
    deadline = started + limit
    return _lexicographic(problem, deadline, say, started)


def _lexicographic(problem: Problem, deadline: float, say: Progress,
                   started: float) -> Allocation:
    rank = tie_rank(problem)
    classes = build_units(problem, by_site=False)
    model = build_model(problem, classes)
    reports: list[StageReport] = []
    stages = (0, 1, 2) if problem.policy.min_commune_share > 0 else (1, 2)
    give = send = None
    fixed: dict[int, float] = {}
    for stage in stages:
        say(STAGE_NAMES[stage])
        outcome = _solve_stage(model, problem, classes, stage, deadline, reports)
        if outcome is None:
            break
        give, send, value = outcome
        fixed[stage] = value
        fix_stage(model, problem, classes, stage, value)
    if give is None or send is None:
        return _fallback_greedy(problem, reports, started)
    point_of = assign_points(problem, classes, send, rank)
    lot_of = assign_lots(problem, give, point_of, rank)

    if len(fixed) == len(stages):
        say(STAGE_NAMES[3])
        sites = build_units(problem, by_site=True)
        site_model = build_model(problem, sites)
        for stage, value in fixed.items():
            fix_stage(site_model, problem, sites, stage, value)
        outcome = _solve_stage(site_model, problem, sites, 3, deadline, reports)
        if outcome is not None:
            give, send, _ = outcome
            point_of = assign_points(problem, sites, send, rank)
            lot_of = assign_lots(problem, give, point_of, rank)
    values = _checked(problem, lot_of, point_of)
    stage1 = next((r for r in reports if r.stage == 1), None)
    optimal = all(r.status is SolveStatus.OPTIMAL for r in reports) and \
        {r.stage for r in reports} >= set(stages) | {3}
    bound = stage1.bound if stage1 else float("nan")
    gap = 0.0 if stage1 and stage1.status is SolveStatus.OPTIMAL else \
        abs(bound - values.stage1) / max(1.0, abs(bound))
    return Allocation(lot_of, point_of, SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE,
                      values, bound, gap, "optimal", time.perf_counter() - started, reports)


def _solve_stage(model: AllocationModel, problem: Problem, units: Units, stage: int,
                 deadline: float, reports: list[StageReport]
                 ) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Solve one stage; integer (give, send) counts and the stage's model value."""
    objective, maximize = stage_objective(model, problem, units, stage)
    model.milp.set_objective(objective, maximize)
    budget_ub = model.milp.row_ub_of(model.budget_row)
    for _ in range(_REPAIRS):
        remaining = deadline - time.perf_counter()
        result = model.milp.solve(max(remaining * _SHARE_OF_REMAINING[stage], 0.05),
                                  _ABS_GAP[stage], seed=problem.policy.seed)
        if result.status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
            reports.append(_report(stage, result, float("nan"), model))
            return None
        values = np.rint(result.values)
        give = values[model.give].astype(np.int64)
        send = values[model.send].astype(np.int64)
        spent = int((problem.gl_cost * give).sum())
        if spent <= problem.budget:
            value = float(values @ objective)
            if stage == 3:
                value = float(result.values @ objective)
            reports.append(_report(stage, result, value, model))
            return give, send, value
        # Floating-point tolerance let the solver overspend: tighten and solve again.
        over = -(-(spent - problem.budget) // model.cost_unit)
        budget_ub -= over
        model.milp.set_row_ub(model.budget_row, budget_ub)
    raise InternalError("the solver kept overspending the budget after tightening")


def _report(stage: int, result: MilpResult, value: float,
            model: AllocationModel) -> StageReport:
    return StageReport(stage, result.status, value, result.bound, result.seconds,
                       model.milp.n_vars, model.milp.n_rows)


def _fallback_greedy(problem: Problem, reports: list[StageReport],
                     started: float) -> Allocation:
    """No solver solution in time: the greedy allocation, honestly labelled FEASIBLE."""
    lot_of, point_of = greedy(problem)
    values = _checked(problem, lot_of, point_of)
    return Allocation(lot_of, point_of, SolveStatus.FEASIBLE, values, float("nan"),
                      float("nan"), "optimal", time.perf_counter() - started, reports)


def _checked(problem: Problem, lot_of: np.ndarray, point_of: np.ndarray) -> StageValues:
    violations, values = check_allocation(problem, lot_of, point_of)
    if violations:
        raise InternalError("allocation breaks the contract: " + "; ".join(violations[:5]))
    return values
