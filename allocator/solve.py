"""The lexicographic optimum, stage by stage, on the aggregated model.

Stages 0-2 are solved on classes (households interchangeable for fairness,
weight and cost), stage 3 on sites (households at the same home), each stage
keeping the optimum of the ones before. After every solve the integer
solution is re-checked exactly; a budget overrun (floating-point tolerance, or
a fault in the model's budget row) tightens the budget row and solves again.
Each such repair is counted and reported, since a correct model needs none.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from allocator import solver_process
from allocator.aggregate import Units, build_units
from allocator.check import StageValues, check_allocation, keep_values
from allocator.disaggregate import assign_lots, assign_points, tie_rank
from allocator.distance import least_distance
from allocator.greedy import greedy
from allocator.lp_rounding import Rounded, lattice_bound, meets_rows, rounded_lp
from allocator.milp import MilpResult, SolveStatus
from allocator.model import (
    KEEP_LOT,
    KEEP_POINT,
    KEEP_SERVED,
    KEEP_STAGES,
    AllocationModel,
    build_model,
    fix_stage,
    keep_bound,
    solution_vector,
    stage_objective,
)
from allocator.price_lattice import settle
from allocator.problem import Problem
from allocator.reroute import rerouted
from allocator.settled import settled_by_keep

Progress = Callable[[str], None]
STAGE_NAMES = {KEEP_SERVED: "stage K1: keep households served",
               KEEP_POINT: "stage K2: kept points", KEEP_LOT: "stage K3: kept lots",
               0: "stage 0: fairness floor", 1: "stage 1: priority weight",
               2: "stage 2: public cost", 3: "stage 3: distance"}
_SHARE_OF_REMAINING = {KEEP_SERVED: 0.2, KEEP_POINT: 0.2, KEEP_LOT: 0.2,
                       0: 0.25, 1: 0.6, 2: 0.6, 3: 1.0}
_ABS_GAP = {KEEP_SERVED: 0.5, KEEP_POINT: 0.5, KEEP_LOT: 0.5, 0: 0.5, 1: 0.5, 2: 0.5, 3: 1e-6}
_REPAIRS = 5
_FIRST_ATTEMPT_NODES = 200
_FEASIBILITY_JUMP = False  # in that first attempt, which starts from a feasible hint
# Stage 3 is first proven by pricing the points' capacity (distance.py). Should that
# not close, the exact site model decides, up to this many columns; beyond, it would
# take minutes and gigabytes, and the best allocation found stands with its bound.
SITE_MODEL_MAX_COLUMNS = 400_000
# From this many columns in the class model, whose LPs are solved in the solver helper
# (solver_process.MIN_COLUMNS), this process builds what stage 3 needs meanwhile
# (`_prepared`).
PREPARE_MIN_COLUMNS = solver_process.MIN_COLUMNS
PRICE_CAPACITY = True
# A re-plan starts from the greedy allocation with kept households first, which is
# close to what they were told, where that takes about a second. Other rounds start
# from serving nobody (always feasible): HiGHS improves it at once, and a greedy
# start made no stage faster (hcmc-universal: 1.4 s for greedy, stage 1 as fast
# without). Should a stage not finish, greedy is the floor of what is returned.
GREEDY_START_MAX_HOUSEHOLDS = 500_000
# Above this many columns HiGHS's MIP root on the class model takes minutes (national,
# 497,499 columns: over 3 minutes of CPU, past any time limit), so a stage its linear
# relaxation does not settle keeps the rounded LP optimum and states its gap.
MIP_ROOT_MAX_COLUMNS = 300_000
# Stages whose linear relaxation is tried before the MIP at every size: stage 1's LP is
# integral, or rounds to its bound, on most rounds (hcmc-universal: 0.8 s against 2.3 s
# for the MIP). Stage 2's LP bound usually falls one cost unit short, so below the size
# above the MIP alone is quicker there.
_RELAXATION_FIRST = (0, 1)
# HiGHS's MIP feasibility tolerance for a stage's first solve (1e-9 otherwise): on
# hcmc-universal's stage 2 the root takes 0.57 s instead of 0.9 s. Its rounded answer
# is checked exactly (`_vouched`) before it stands.
_LOOSE_INTEGRALITY = 1e-6


@dataclass
class StageReport:
    stage: int
    status: SolveStatus
    value: float
    bound: float
    seconds: float
    variables: int
    rows: int
    budget_repairs: int = 0  # re-solves after the exact check found an overspend


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

    @property
    def budget_repairs(self) -> int:
        """Times a stage was solved again because its solution overspent the budget."""
        return sum(r.budget_repairs for r in self.stages)


class InternalError(RuntimeError):
    """The engine broke one of its own guarantees (never the user's fault)."""


def solve(problem: Problem, method: str = "optimal", time_limit_s: float | None = None,
          progress: Progress | None = None,
          start: tuple[np.ndarray, np.ndarray] | None = None) -> Allocation:
    """Solve a problem with `method` 'optimal' (the contract's optimum) or 'greedy'.

    `start`, a per-household (lot_of, point_of) allocation, is a first solution to
    improve on, e.g. the optimum of the same round at a lower budget or before a
    constraint was relaxed. It is used only where it is feasible here and better than
    the greedy start, so a start never changes the optimum, only how fast it is found.
    """
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    # Arrow keeps the memory of text columns freed since reading (the scenario's) in its
    # pool; hand it back so the solver can use it (about 300 MB at national).
    pa.default_memory_pool().release_unused()
    if method == "greedy":
        say("greedy")
        lot_of, point_of = greedy(problem)
        values = _checked(problem, lot_of, point_of)
        return Allocation(lot_of, point_of, SolveStatus.FEASIBLE, values, float("nan"),
                          float("nan"), "greedy", time.perf_counter() - started)
    limit = time_limit_s if time_limit_s is not None else problem.policy.time_limit_s
    deadline = started + limit
    try:
        return _lexicographic(problem, deadline, say, started, start)
    finally:
        # The solver helper of a large round (solver_process.py) lives for the round:
        # a service's worker thread does not keep an idle process and its memory.
        solver_process.close()


def _lexicographic(problem: Problem, deadline: float, say: Progress,
                   started: float, given: tuple[np.ndarray, np.ndarray] | None = None
                   ) -> Allocation:
    classes = build_units(problem, by_site=False)
    model = build_model(problem, classes)
    prepared = _prepared(problem, model)
    reports: list[StageReport] = []
    stages: tuple[int, ...] = (0, 1, 2) if problem.policy.min_commune_share > 0 else (1, 2)
    if len(problem.keep_hh):
        stages = KEEP_STAGES + stages
    lot_of = np.full(len(problem.hh_id), -1, np.int64)
    point_of = lot_of.copy()
    if len(problem.keep_hh) and len(problem.hh_id) <= GREEDY_START_MAX_HOUSEHOLDS:
        say("greedy start")
        lot_of, point_of = greedy(problem, keep_first=True)
    if given is not None and _better_start(problem, given, (lot_of, point_of)):
        lot_of, point_of = (np.asarray(a, np.int64).copy() for a in given)
    hint = start = solution_vector(model, problem, classes, lot_of, point_of)
    finished = 0
    for stage in stages:
        say(STAGE_NAMES[stage])
        outcome = None
        if stage in KEEP_STAGES:
            hint = _keep_start(model, problem, classes, stage, hint, start, reports)
            hint = rerouted(model, problem, classes, stage, hint)
            outcome = _counted(model, problem, classes, stage, reports, hint)
        if outcome is None:
            outcome = _solve_stage(model, problem, classes, stage, deadline, reports, hint)
        if outcome is None:
            break
        hint, value = outcome
        fix_stage(model, problem, classes, stage, value)
        finished += 1
    rank = prepared.rank()
    if finished == len(stages):
        say(STAGE_NAMES[3])
        settled = settled_by_keep(problem, classes, {r.stage: r.value for r in reports
                                                     if r.status is SolveStatus.OPTIMAL})
        sites = prepared.sites()
        if sites is None or settled.unserved.any() or settled.at_kept_point.any():
            sites = build_units(problem, by_site=True, unserved=settled.unserved,
                                at_kept_point=settled.at_kept_point)
        optimum = {r.stage: r.value for r in reports}
        small = len(sites) + len(sites.pp_place) <= SITE_MODEL_MAX_COLUMNS
        # (`narrow`: only the site model, of small rounds, needs the closed pairs after it)
        found = least_distance(problem, classes, model, sites, optimum, hint, rank, deadline,
                               cuts=not small, narrow=not small) if PRICE_CAPACITY else None
        if found is not None and found.found is not None:
            take, send, give = found.found
            point_of = assign_points(problem, sites, take, send, rank)
            lot_of = assign_lots(problem, give, point_of, rank)
        else:
            lot_of, point_of = _by_class(problem, classes, model, hint, rank)
        if found is not None and found.found is not None and (found.proven or not small):
            reports.append(StageReport(3, SolveStatus.OPTIMAL if found.proven
                                       else SolveStatus.FEASIBLE, found.value, found.bound,
                                       found.seconds, found.variables, found.rows))
            return _finish(problem, lot_of, point_of, stages, reports, started)
        if not small:
            # Not proven and too large for the site model: the routing per class stands.
            reports.append(StageReport(3, SolveStatus.FEASIBLE, float("nan"),
                                       found.bound if found else float("nan"),
                                       found.seconds if found else 0.0, 0, 0))
            return _finish(problem, lot_of, point_of, stages, reports, started)
        site_model = build_model(problem, sites)
        for report in reports:
            fix_stage(site_model, problem, sites, report.stage, report.value)
        site_hint = solution_vector(site_model, problem, sites, lot_of, point_of)
        outcome = _solve_stage(site_model, problem, sites, 3, deadline, reports, site_hint)
        if found is not None:  # stage 3's time includes the prices tried before
            reports[-1].seconds += found.seconds
        if outcome is not None:
            x = outcome[0]
            point_of = assign_points(problem, sites, _ints(x[site_model.take]),
                                     _ints(x[site_model.send]), rank)
            lot_of = assign_lots(problem, _ints(x[site_model.give]), point_of, rank)
    elif finished:
        lot_of, point_of = _by_class(problem, classes, model, hint, rank)
    return _finish(problem, lot_of, point_of, stages, reports, started)


@dataclass
class _Prepared:
    """What the end of a solve needs of the problem alone, each part returned by a call:
    the tie ranks, and stage 3's sites for a round with nothing settled (None where
    keep.csv may settle some, settled.py, or where the caller builds them)."""

    rank: Callable[[], np.ndarray]
    sites: Callable[[], Units | None]


def _prepared(problem: Problem, model: AllocationModel) -> _Prepared:
    """On a round whose class model goes to the solver helper (PREPARE_MIN_COLUMNS), the
    ranks and (without keep.csv) the sites are built on a thread of their own while the
    stages' LPs are solved there and this thread only waits, so the machine's other core
    does the work (national: 1.2 s of the solve, during stage 1's LP). Elsewhere the
    ranks are built at their call, and the sites by the caller. What the thread raises,
    the call for that part raises: the sites' only once every stage has finished, as
    when they were built then."""
    if model.milp.n_vars < PREPARE_MIN_COLUMNS:
        return _Prepared(lambda: tie_rank(problem), lambda: None)

    def unsettled_sites() -> Units | None:
        if len(problem.keep_hh):
            return None
        return build_units(problem, by_site=True,
                           unserved=np.zeros(len(problem.hh_id), bool),
                           at_kept_point=np.zeros(len(problem.home_commune), bool))

    rank, sites = _on_thread(lambda: tie_rank(problem), unsettled_sites)
    return _Prepared(rank.result, sites.result)


def _on_thread(*work: Callable[[], Any]) -> list[Future[Any]]:
    """Each piece of work done in turn on a new thread, its result or error in a future.
    A daemon thread: a solve interrupted (Ctrl-C) leaves it behind without waiting."""
    futures: list[Future[Any]] = [Future() for _ in work]

    def run() -> None:
        for future, task in zip(futures, work, strict=True):
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(task())
            except BaseException as error:  # (handed to whoever asks for the result)
                future.set_exception(error)

    threading.Thread(target=run, name="allocator-prepare", daemon=True).start()
    return futures


def _by_class(problem: Problem, classes: Units, model: AllocationModel, x: np.ndarray,
              rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Households and lots from a class-model solution, routed per class (route_classes)."""
    point_of = assign_points(problem, classes, _ints(x[model.take]), _ints(x[model.send]), rank)
    return assign_lots(problem, _ints(x[model.give]), point_of, rank), point_of


def _better_start(problem: Problem, given: tuple[np.ndarray, np.ndarray],
                  greedy_start: tuple[np.ndarray, np.ndarray]) -> bool:
    """Whether a caller's start is feasible here and lexicographically better than greedy's."""
    lot_of, point_of = (np.asarray(a, np.int64) for a in given)
    if lot_of.shape != (len(problem.hh_id),) or point_of.shape != lot_of.shape:
        return False
    if not (lot_of.min(initial=0) >= -1 and lot_of.max(initial=-1) < len(problem.lot_id)
            and point_of.min(initial=0) >= -1
            and point_of.max(initial=-1) < len(problem.point_id)):
        return False
    violations, values = check_allocation(problem, lot_of, point_of)
    if violations:
        return False
    _, base = check_allocation(problem, *greedy_start)

    def key(v: StageValues, alloc: tuple[np.ndarray, np.ndarray]) -> tuple[int, ...]:
        return (*keep_values(problem, *alloc), v.stage0, v.stage1, -v.stage2)

    return key(values, (lot_of, point_of)) > key(base, greedy_start)


def _finish(problem: Problem, lot_of: np.ndarray, point_of: np.ndarray,
            stages: tuple[int, ...], reports: list[StageReport],
            started: float) -> Allocation:
    # A stage after one that stopped short is optimal only given the value held for that
    # one, not the lexicographic optimum: it is FEASIBLE. The stage right after still
    # bounds its true optimum (the value held is no better than the true one, so it
    # allowed more); a stage after that was solved under a value that is not the true
    # one either way, so its bound says nothing about the true optimum and is dropped.
    after_short = 0
    for report in reports:
        if after_short and report.status is SolveStatus.OPTIMAL:
            report.status = SolveStatus.FEASIBLE
        if after_short > 1:
            report.bound = float("nan")
        if after_short or report.status is not SolveStatus.OPTIMAL:
            after_short += 1
    optimal = len(reports) == len(stages) + 1 and \
        all(r.status is SolveStatus.OPTIMAL for r in reports)
    before = [r.status for r in reports if r.stage != 3]
    if len(before) < len(stages) or any(s is not SolveStatus.OPTIMAL for s in before):
        # A stage before distance stopped short: never hand back less than greedy gives.
        by_hand = greedy(problem, keep_first=True)
        if _better_start(problem, by_hand, (lot_of, point_of)):
            lot_of, point_of = by_hand
    values = _checked(problem, lot_of, point_of)
    stage1 = next((r for r in reports if r.stage == 1), None)
    bound = stage1.bound if stage1 else float("nan")
    if stage1 and stage1.status is SolveStatus.OPTIMAL:
        gap = 0.0
    else:
        gap = abs(bound - values.stage1) / max(1.0, abs(bound))
    return Allocation(lot_of, point_of, SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE,
                      values, bound, gap, "optimal", time.perf_counter() - started, reports)


def _worse(result: MilpResult, hint: np.ndarray, objective: np.ndarray,
           maximize: bool) -> bool:
    found, given = float(result.values @ objective), float(hint @ objective)
    return found < given if maximize else found > given


def _best(result: MilpResult, hint: np.ndarray, objective: np.ndarray,
          maximize: bool) -> np.ndarray:
    """The better starting point: the solver's solution if it found a better one, else the hint."""
    if len(result.values) and not _worse(result, hint, objective, maximize):
        return result.values
    return hint


def _absolute_gap(objective: np.ndarray, stage: int) -> float:
    """A gap below which the incumbent is provably optimal.

    Stages 0-2 have integer coefficients, so every objective value is a
    multiple of their greatest common divisor d: a gap under d leaves no room
    for a better solution. Stage 3 (km) is held to a millimetre in total.
    """
    if stage == 3:
        return _ABS_GAP[3]
    return max(_ABS_GAP[stage], _step(objective) - 0.5)


def _step(objective: np.ndarray) -> int:
    """The greatest common divisor of a stage's integer coefficients: every value's step."""
    if not np.array_equal(objective, np.rint(objective)):
        raise InternalError("a stage with a step has integer coefficients")
    d = 0
    for c in np.unique(np.abs(objective[objective != 0])):
        d = math.gcd(d, int(c))
    return max(d, 1)


def _keep_start(model: AllocationModel, problem: Problem, units: Units, stage: int,
                hint: np.ndarray, start: np.ndarray, reports: list[StageReport]) -> np.ndarray:
    """The greedy start instead of the last stage's solution, if it is as good and better now.

    A solver returns any optimum of a keep stage, often far from the plan households were
    told; the kept-first greedy start is close to that plan, so when it still meets every
    finished stage it often meets this one too, and the solver proves that at once.
    """
    if hint is start:
        return hint
    for report in reports:
        c, maximize = stage_objective(model, problem, units, report.stage)
        value = float(start @ c)
        if value < report.value - 0.5 if maximize else value > report.value + 0.5:
            return hint
    costs = problem.routes.cost / model.cost_unit
    if float(start[model.give] @ costs) > model.milp.row_ub_of(model.budget_row):
        return hint  # the budget row was tightened after an overspend
    c, maximize = stage_objective(model, problem, units, stage)
    better = float(start @ c) > float(hint @ c) if maximize else float(start @ c) < float(hint @ c)
    return start if better else hint


def _counted(model: AllocationModel, problem: Problem, units: Units, stage: int,
             reports: list[StageReport], hint: np.ndarray) -> tuple[np.ndarray, float] | None:
    """A keep stage proven by counting: the hint already reaches `keep_bound`. Else None."""
    started = time.perf_counter()
    served = next((int(r.value) for r in reports
                   if r.stage == KEEP_SERVED and r.status is SolveStatus.OPTIMAL), None)
    bound = keep_bound(problem, units, stage, served)
    objective, _ = stage_objective(model, problem, units, stage)
    value = float(hint @ objective)
    if value < bound:
        return None
    reports.append(StageReport(stage, SolveStatus.OPTIMAL, value, float(bound),
                               time.perf_counter() - started, model.milp.n_vars,
                               model.milp.n_rows))
    return hint, value


def _ints(x: np.ndarray) -> np.ndarray:
    return np.rint(x).astype(np.int64)


def _solve_stage(model: AllocationModel, problem: Problem, units: Units, stage: int,
                 deadline: float, reports: list[StageReport], hint: np.ndarray
                 ) -> tuple[np.ndarray, float] | None:
    """Solve one stage from a feasible hint; the integer solution and its stage value.

    Returns None when the solver found nothing in time: the hint stands.
    """
    objective, maximize = stage_objective(model, problem, units, stage)
    model.milp.set_objective(objective, maximize)
    budget_ub = model.milp.row_ub_of(model.budget_row)
    gap = _absolute_gap(objective, stage)
    stage_started = time.perf_counter()
    for repairs in range(_REPAIRS):
        remaining = deadline - time.perf_counter()
        share = max(remaining * _SHARE_OF_REMAINING[stage], 0.05)
        settled, hint = _from_relaxation(model, stage, share, problem.policy.seed, hint)
        result = settled
        if result is None and stage != 3:
            # A looser integrality tolerance makes HiGHS's root a third quicker on these
            # models; the rounded answer is then vouched for here, or solved again tightly.
            result = _mip(model, stage, gap, share, deadline, problem.policy.seed, hint,
                          _LOOSE_INTEGRALITY)
            if not _vouched(model, result, stage):
                result = None
        if result is None:
            result = _mip(model, stage, gap, share, deadline, problem.policy.seed, hint, 1e-9)
        result.seconds = time.perf_counter() - stage_started
        if result.status is SolveStatus.FEASIBLE and _worse(result, hint, objective, maximize):
            result.values = hint  # stopped early with less than it was given: keep the start
        if result.status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
            reports.append(_report(stage, result, float("nan"), model, repairs))
            return None
        values = np.rint(result.values)
        spent = int((problem.routes.cost * values[model.give].astype(np.int64)).sum())
        if spent <= problem.budget:
            exact = result.values if stage == 3 else values
            value = float(exact @ objective)
            reports.append(_report(stage, result, value, model, repairs))
            return values, value
        # The solver overspent within its tolerance (or the budget row is wrong): tighten
        # the row by the overspend and solve again. Counted, so tests can demand none.
        over = -(-(spent - problem.budget) // model.cost_unit)
        budget_ub -= over
        model.milp.set_row_ub(model.budget_row, budget_ub)
    raise InternalError("the solver kept overspending the budget after tightening")


def _mip(model: AllocationModel, stage: int, gap: float, share: float, deadline: float,
         seed: int, hint: np.ndarray, integrality: float) -> MilpResult:
    """The stage's MIP from `hint`: first without presolve and node-bounded, then with it."""
    milp = model.milp
    assert milp.objective is not None
    # The model is a network flow plus a few rows, so its LP relaxation is nearly
    # integral; HiGHS's MIP presolve then often costs more than the whole solve
    # (at national scale 70 s against 10 s). Try without it first. That attempt is
    # bounded by nodes, not seconds, so whether the second runs never depends on
    # the machine's load and the same folder always gives the same allocation.
    result = milp.solve(share, gap, seed, hint, presolve=False, node_limit=_FIRST_ATTEMPT_NODES,
                        feasibility_jump=_FEASIBILITY_JUMP, integrality=integrality)
    if result.status is not SolveStatus.OPTIMAL and not result.out_of_time:
        remaining = deadline - time.perf_counter()
        result = milp.solve(max(remaining * _SHARE_OF_REMAINING[stage], 0.05), gap, seed,
                            _best(result, hint, milp.objective, milp.maximize),
                            integrality=integrality)
    return result


def _vouched(model: AllocationModel, result: MilpResult, stage: int) -> bool:
    """Whether a loosely solved stage's rounded answer meets every row exactly and, if
    claimed optimal, reaches the solver's bound rounded to the step of the values."""
    milp = model.milp
    assert milp.objective is not None
    if result.status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        return True  # nothing to vouch for: the tight solve would not do better in time
    values = np.rint(result.values)
    if not meets_rows(milp, values):
        return False
    if result.status is SolveStatus.OPTIMAL:
        value = float(values @ milp.objective)
        bound = lattice_bound(result.bound, _step(milp.objective), milp.maximize)
        return value >= bound if milp.maximize else value <= bound
    return True


def _from_relaxation(model: AllocationModel, stage: int, seconds: float, seed: int,
                     hint: np.ndarray) -> tuple[MilpResult | None, np.ndarray]:
    """A stage settled by its linear relaxation (lp_rounding.py), or None to go on to the MIP,
    and the start for the MIP.

    Proven when the rounded LP optimum reaches the prices' bound (rounded to the step
    of the stage's values). On a model above MIP_ROOT_MAX_COLUMNS the MIP's root would
    not finish in useful time, so the values between the better of the rounding and
    the hint and the bound are counted out instead (price_lattice.py); what that does
    not settle in time stands FEASIBLE, with the best bound proven (none if the LP did
    not finish). Below that size, the MIP goes on from the better of the two. Stage 3's
    km are not integers, so it has no step and never comes here.
    """
    milp = model.milp
    huge = milp.n_vars > MIP_ROOT_MAX_COLUMNS
    if stage == 3 or (stage not in _RELAXATION_FIRST and not huge):
        return None, hint
    assert milp.objective is not None
    step = _step(milp.objective)
    # HiGHS's presolve halves the LP of a huge class model (national, 497,499 columns:
    # stage 1 5.4 s to 4.0, stage 2 8.0 s to 4.1) and slows a smaller one (hcmc-universal,
    # 78,430: 0.24 s to 0.39). After the first stage, a huge model's LP starts from the
    # last stage's optimal basis (its optimum meets the row that keeps that stage's
    # value): GLOP's primal simplex, national's stage 2 in 0.7 s where HiGHS took 3.5 s.
    earlier = next(reversed(model.relaxations.values()), None) if huge else None
    rounded = rounded_lp(milp, step, seconds, seed, presolve=huge,
                         basis=None if earlier is None else earlier.basis)
    if rounded.lp is not None and rounded.lp.status is SolveStatus.OPTIMAL:
        model.relaxations[stage] = rounded.lp  # stage 2's for stage 3's fixing, and above
    start, value = hint, float(hint @ milp.objective)
    if rounded.values is not None and (rounded.value > value if milp.maximize
                                       else rounded.value < value):
        start, value = rounded.values, rounded.value
    if rounded.proven and rounded.values is not None and value == rounded.value:
        # (a start beyond a proof would refute it)
        return MilpResult(SolveStatus.OPTIMAL, rounded.values, rounded.value, rounded.bound,
                          rounded.seconds), rounded.values
    if not huge:
        return None, start
    result = _counted_out(model, rounded, start, value, step, seconds - rounded.seconds, seed)
    return result, result.values


def _counted_out(model: AllocationModel, rounded: Rounded, start: np.ndarray, value: float,
                 step: int, seconds: float, seed: int) -> MilpResult:
    """A huge model's stage after its rounding: the values between `value` (the start's)
    and the bound excluded or reached by counting, as far as `seconds` allow."""
    milp = model.milp
    bound = rounded.bound
    if rounded.lp is None or rounded.lp.status is not SolveStatus.OPTIMAL or seconds <= 0:
        return MilpResult(SolveStatus.FEASIBLE, start, value, bound, rounded.seconds)
    counted = settle(milp, rounded.lp, value, step, seconds, seed)
    spent = rounded.seconds + counted.seconds
    if counted.values is not None:
        return MilpResult(SolveStatus.OPTIMAL, counted.values, counted.value, counted.bound,
                          spent)
    if counted.proven:
        return MilpResult(SolveStatus.OPTIMAL, start, value, counted.bound, spent)
    if not math.isnan(counted.bound):
        bound = min(bound, counted.bound) if milp.maximize else max(bound, counted.bound)
    return MilpResult(SolveStatus.FEASIBLE, start, value, bound, spent)


def _report(stage: int, result: MilpResult, value: float, model: AllocationModel,
            budget_repairs: int) -> StageReport:
    return StageReport(stage, result.status, value, result.bound, result.seconds,
                       model.milp.n_vars, model.milp.n_rows, budget_repairs)


def _checked(problem: Problem, lot_of: np.ndarray, point_of: np.ndarray) -> StageValues:
    violations, values = check_allocation(problem, lot_of, point_of)
    if violations:
        raise InternalError("allocation breaks the contract: " + "; ".join(violations[:5]))
    return values
