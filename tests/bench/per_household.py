"""The straightforward model a newcomer writes: one binary per household x lot x point.

Used only to measure the aggregated engine against. Same solver (HiGHS), same
stages, same gap settings; the only difference is the formulation.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from allocator.aggregate import servable
from allocator.compat import group_lot_pairs
from allocator.milp import INF, Milp, SolveStatus
from allocator.problem import Problem

ABS_GAP = {0: 0.5, 1: 0.5, 2: 0.5, 3: 1e-6}


def per_household_triples(problem: Problem) -> pd.DataFrame:
    """Every (household, lot, point) a household could be given, with cost and distance."""
    hh = np.flatnonzero(servable(problem))
    base = pd.DataFrame({"hh": hh, "group": problem.hh_group[hh], "home": problem.hh_home[hh]})
    lots = group_lot_pairs(problem.routes, np.unique(base["group"]))[["group", "lot", "cost"]]
    points = pd.DataFrame({"home": problem.hp_home, "point": problem.hp_point,
                           "km": problem.hp_km})
    return base.merge(lots, on="group").merge(points, on="home")


def solve_per_household(problem: Problem, time_limit_s: float) -> dict[str, object]:
    """Lexicographic stages on the per-household model; stage values and statuses."""
    started = time.perf_counter()
    deadline = started + time_limit_s
    t = per_household_triples(problem)
    milp = Milp()
    x = milp.add_vars(0, 1, len(t))
    hh_codes, hh_index = pd.factorize(t["hh"])
    milp.add_rows(hh_codes, x, 1.0, -INF, 1.0, len(hh_index))
    milp.add_rows(t["lot"].to_numpy(), x, 1.0, -INF, problem.lot_quantity, len(problem.lot_id))
    milp.add_rows(t["point"].to_numpy(), x, 1.0, -INF, problem.point_capacity,
                  len(problem.point_id))
    milp.add_row(x, t["cost"].to_numpy(float), -INF, float(problem.budget))
    objectives = {1: (problem.hh_weight[t["hh"].to_numpy()].astype(float), True),
                  2: (t["cost"].to_numpy(float), False), 3: (t["km"].to_numpy(float), False)}
    if problem.policy.min_commune_share > 0:
        target = problem.floor_target()
        floor = milp.add_vars(0, target, len(target))
        commune = problem.hh_commune[t["hh"].to_numpy()]
        milp.add_rows(np.concatenate([np.arange(len(target)), commune]),
                      np.concatenate([floor, x]),
                      np.concatenate([np.ones(len(target)), -np.ones(len(x))]),
                      -INF, 0.0, len(target))
        stage0 = np.zeros(len(x) + len(target))
        stage0[floor] = 1.0
        objectives = {0: (stage0, True), **{k: (np.concatenate([v, np.zeros(len(target))]), m)
                                            for k, (v, m) in objectives.items()}}
    report: dict[str, object] = {"variables": len(x), "status": "OPTIMAL"}
    hint = None  # like the engine, each stage starts from the previous stage's solution
    for stage, (c, maximize) in objectives.items():
        milp.set_objective(c, maximize)
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            report["status"] = "TIME_LIMIT"
            break
        result = milp.solve(remaining, ABS_GAP[stage], seed=problem.policy.seed, hint=hint)
        report[f"stage{stage}_status"] = result.status.value
        if result.status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
            report["status"] = result.status.value
            break
        hint = np.rint(result.values)
        value = float(hint @ c) if stage < 3 else float(result.values @ c)
        report[f"stage{stage}"] = int(round(value)) if stage < 3 else value
        if stage == 1:
            report["best_bound"] = result.bound
            report["gap"] = abs(result.bound - value) / max(1.0, abs(result.bound))
        if result.status is not SolveStatus.OPTIMAL:
            report["status"] = "FEASIBLE"
            break
        cols = np.flatnonzero(c)
        if maximize:
            milp.add_row(cols, c[cols], value - 0.5, INF)
        elif stage < 3:
            milp.add_row(cols, c[cols], -INF, value + 0.5)
    report["seconds"] = time.perf_counter() - started
    return report
