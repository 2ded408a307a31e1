"""The budget curve: the exact optimum of one round at budgets from 0 to saturation.

The *saturation budget* is the least budget at which more money serves no one
more. Without a fairness floor it is the least public cost (stage 2) of the
optimum at an unlimited budget: that optimum is feasible at that budget, and at
any smaller budget reaching the same weight would need a cheaper allocation of
that weight, which stage 2 rules out. With a floor (min_commune_share > 0)
stage 1 may fall as the budget rises (money lets the floor reach more
communes), so "serves no one more" means that the stages before stage 2 (the
floor, then weight; on a re-plan the keep stages K1-K3 first) reach their
lexicographic maximum; the same argument shows it is the same value. The
saturation row is the unlimited solve itself: at that budget the optimum is
the same in every stage.

Every row is a full solve of the round at its budget (`allocator.solve`, all
four stages, two processes side by side), with its status. Rows are chosen
where the curve bends: budgets of the hull's vertices (see budget_hull.py),
the interval whose chord lies furthest from the hull split first. At a vertex
the solver proves stages 1 and 2 at once from the vertex given as its start,
and the households the vertex proves no optimum serves are left out of the
solve (a smaller distance stage, the same optimum). The round's own budget and
the next 100 million VND are always rows, so the planner's sentence is exact.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, as_completed
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np

from allocator.budget_hull import Bends, BudgetHull, Vertex
from allocator.next_step import STEP_VND, NextStep, next_step, next_step_sentence
from allocator.parallel import Outcome, Solvers, Variant
from allocator.problem import Problem, build_problem
from allocator.solve import SITE_MODEL_MAX_COLUMNS
from allocator.validate import Scenario

__all__ = ["CSV_COLUMNS", "STEP_VND", "Curve", "CurvePoint", "NextStep", "budget_curve",
           "curve_csv", "next_step", "next_step_sentence"]
CSV_COLUMNS = ("budget_vnd", "served", "stage0", "stage1", "stage2", "stage3", "status")
Progress = Callable[[str], None]


@dataclass
class CurvePoint:
    """The exact optimum at one budget."""

    budget_vnd: int
    served: int
    stage0: int
    stage1: int
    stage2: int
    stage3: float
    status: str
    by_status: dict[str, int]   # served households per poverty status
    by_commune: dict[str, int]  # served households per commune code (where any)

    def to_json(self) -> dict[str, Any]:
        return {"budget_vnd": self.budget_vnd, "served": self.served, "stage0": self.stage0,
                "stage1": self.stage1, "stage2": self.stage2, "stage3": self.stage3,
                "status": self.status, "by_status": dict(self.by_status),
                "by_commune": dict(self.by_commune)}


@dataclass
class Curve:
    points: list[CurvePoint]  # sorted by budget, one per budget
    saturation_vnd: int
    max_stage1: int           # stage 1 at saturation
    round_budget_vnd: int
    seconds: float
    commune_names: dict[str, str] = field(default_factory=dict, repr=False)

    def point_at(self, budget_vnd: int) -> CurvePoint | None:
        return next((p for p in self.points if p.budget_vnd == budget_vnd), None)

    def to_json(self) -> dict[str, Any]:
        step = next_step(self)
        step_json = None
        if step is not None:
            step_json = {**step.to_json(),
                         "sentence_vi": next_step_sentence(step, self.commune_names, "vi"),
                         "sentence_en": next_step_sentence(step, self.commune_names, "en")}
        return {"points": [p.to_json() for p in self.points],
                "saturation_vnd": self.saturation_vnd, "max_stage1": self.max_stage1,
                "round_budget_vnd": self.round_budget_vnd, "seconds": round(self.seconds, 3),
                "next_step": step_json}


def budget_curve(scenario: Scenario, points: int = 12, max_budget: int | None = None,
                 workers: int | None = None, extra_budgets: Iterable[int] = (),
                 progress: Progress | None = None,
                 time_limit_s: float | None = None) -> Curve:
    """Solve the round exactly at `points` budgets from 0 to its saturation budget.

    The rows always include 0, the top of the range (saturation, or `max_budget`
    if lower), the round's own budget and own budget + 100 million VND when they
    fall below saturation and within the range, and `extra_budgets` within the
    range; `points` counts all of them (so there are more rows only when these
    alone are more). The rest are where the curve bends. `time_limit_s` bounds
    each solve (default: the round's); `workers` processes solve side by side.
    """
    if points < 2:
        raise ValueError(f"points must be at least 2 (got {points})")
    if max_budget is not None and max_budget < 0:
        raise ValueError(f"max_budget must be at least 0 (got {max_budget})")
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    problem = build_problem(scenario)
    names = {str(c): str(n) if isinstance(n, str) and n else str(c) for c, n in
             zip(scenario.communes["commune_code"], scenario.communes["name"])}
    with Solvers(scenario, workers, time_limit_s) as solvers:
        say(f"solving at 0 VND and at an unlimited budget ({solvers.workers} worker(s))")
        unlimited = solvers.submit(_unlimited(problem))
        hull = BudgetHull(problem)
        bends = Bends(hull, max_flows=4 * points + 40)
        settle = _may_settle(problem)
        pending: dict[Future[Outcome], int] = {}

        def submit(budget: int) -> None:
            start, variant = _job(hull, bends, budget, settle)
            pending[solvers.submit(budget, variant=variant, start=start)] = budget

        submit(0)
        for _ in range(points):  # while the first two solve; most are in range
            if bends.next(max_budget) is None:
                break

        def plan(saturation: int) -> set[int]:
            top = saturation if max_budget is None else min(max_budget, saturation)
            fixed = _fixed_budgets(problem.budget, saturation, top, extra_budgets)
            budgets = _choose(bends, fixed, points, top)
            # Longest first, so the two processes finish together: budgets between hull
            # vertices (their proofs may take long), then vertices from the top (low ones
            # leave out the most households, so their distance stages are quickest).
            for budget in sorted(budgets, key=lambda b: (b in bends.vertices, -b)):
                if budget != saturation and budget not in pending.values():
                    submit(budget)
            return budgets

        # Without a floor or keep stages the hull's end is the saturation budget (the
        # least cost of the most weight, a network flow's optimum), so the other budgets
        # need not wait for the unlimited solve; it still decides.
        guess = bends.right.cost_vnd if bends.right is not None and \
            problem.policy.min_commune_share == 0 and not len(problem.keep_hh) else None
        budgets = plan(guess) if guess is not None else set()
        saturated = unlimited.result()
        saturation = saturated.stage2
        say(f"saturation budget: {saturation:,} VND")
        if saturation != guess:
            budgets = plan(saturation)
        done: dict[int, Outcome] = {saturation: saturated}
        wanted = [f for f, b in pending.items() if b in budgets]
        for n, future in enumerate(as_completed(wanted), 1):
            outcome = future.result()
            done[pending[future]] = outcome
            say(f"{n}/{len(wanted)}: {pending[future]:,} VND, stage 1 {outcome.stage1:,}, "
                f"{outcome.status} ({outcome.seconds:.1f} s)")
        for future in pending:
            future.cancel()  # planned for a saturation guess the exact solve did not confirm
    rows = [_point(b, done[b]) for b in sorted(budgets)]
    return Curve(rows, saturation, saturated.stage1, problem.budget,
                 time.perf_counter() - started, names)


def _unlimited(problem: Problem) -> int:
    """A budget no allocation can exceed: every device at its dearest route."""
    routes = problem.routes
    dearest = np.zeros(len(problem.lot_id), np.int64)
    np.maximum.at(dearest, routes.lot, routes.cost)
    return max(problem.budget, sum(int(q) * int(c) for q, c in
                                   zip(problem.lot_quantity.tolist(), dearest.tolist())))


def _fixed_budgets(round_budget: int, saturation: int, top: int,
                   extra: Iterable[int]) -> set[int]:
    fixed = {0, top}
    for budget in (round_budget, round_budget + STEP_VND):
        if budget < saturation and budget <= top:
            fixed.add(budget)
    fixed.update(int(b) for b in extra if 0 <= int(b) <= top)
    return fixed


def _choose(bends: Bends, fixed: set[int], points: int, top: int) -> set[int]:
    """The fixed budgets, then hull vertices where the curve bends most, up to `points`.

    A vertex within a quarter of an even step of a budget already chosen (the round's
    own, say) would add a row no chart tells apart: the next bend is taken instead.
    """
    budgets = set(fixed)
    near = top // (4 * points)

    def add(vertex: Vertex) -> None:
        if 0 < vertex.cost_vnd < top and \
                min(abs(vertex.cost_vnd - b) for b in budgets) > near:
            budgets.add(vertex.cost_vnd)

    for vertex in list(bends.found):  # found before the range was known
        if len(budgets) >= points:
            return budgets
        add(vertex)
    while len(budgets) < points:
        more = bends.next(top)
        if more is None:
            break
        add(more)
    # Nothing left to bend (a short curve, or a cap): split the widest intervals,
    # first those where the hull still rises.
    while len(budgets) < points:
        ordered = sorted(budgets)
        gaps = [(bends.value(b) > bends.value(a), b - a, a, b)
                for a, b in zip(ordered, ordered[1:]) if b - a >= 2]
        if not gaps:
            break
        _, _, a, b = max(gaps)
        budgets.add((a + b) // 2)
    return budgets


def _may_settle(problem: Problem) -> bool:
    """Whether rows at hull vertices may leave out households no optimum serves there.

    Only stages 1 and 2 are what the hull proves (no floor, no keep stages), and it pays
    only where the distance stage works on sites (see solve.py): there, leaving out the
    households no optimum serves makes stage 3's model smaller. Its optimum is the same.
    """
    return problem.policy.min_commune_share == 0 and not len(problem.keep_hh) and \
        len(problem.home_commune) + len(problem.hp_home) <= SITE_MODEL_MAX_COLUMNS


def _job(hull: BudgetHull, bends: Bends, budget: int, settle: bool
         ) -> tuple[tuple[np.ndarray, np.ndarray] | None, Variant | None]:
    """A row's start (the hull vertex at its budget, else the nearest below, which costs less
    so it is feasible) and, at a vertex, the round without the households it proves no
    optimum serves.

    Completing the vertex below with the hand method's choices for the money left was
    tried: on demo and hcmc-universal it did not make the proofs any faster.
    """
    vertex = bends.vertices.get(budget)
    if vertex is None:
        vertex = bends.below(budget)
    if vertex is None:
        return None, None
    lot_of, point_of = hull.allocation(vertex)
    shut = hull.never_served(vertex) if settle and vertex.cost_vnd == budget else None
    if shut is None or not shut.any():
        return (lot_of, point_of), None
    return (lot_of[~shut], point_of[~shut]), partial(without_households,
                                                    rows=np.flatnonzero(shut))


def without_households(scenario: Scenario, rows: np.ndarray) -> Scenario:
    """The scenario without the households at these positions (in file order)."""
    keep = np.ones(len(scenario.households), bool)
    keep[rows] = False
    return replace(scenario, households=scenario.households[keep])


def _point(budget: int, outcome: Outcome) -> CurvePoint:
    return CurvePoint(budget, outcome.served, outcome.stage0, outcome.stage1, outcome.stage2,
                      outcome.stage3, outcome.status, dict(outcome.by_status),
                      dict(outcome.by_commune))


def curve_csv(curve: Curve) -> str:
    """The curve as CSV: budget_vnd,served,stage0,stage1,stage2,stage3,status."""
    lines = [",".join(CSV_COLUMNS)]
    for p in curve.points:
        lines.append(f"{p.budget_vnd},{p.served},{p.stage0},{p.stage1},{p.stage2},"
                     f"{_decimals(p.stage3)},{p.status}")
    return "\n".join(lines) + "\n"


def _decimals(x: float) -> str:
    """At most six decimals, no trailing zeros."""
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text
