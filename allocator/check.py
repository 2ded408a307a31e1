"""Exact, integer re-checking of an allocation against every hard rule of the contract.

Solvers work in floating point with tolerances; this check does not. Every
result the engine writes has passed it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.compat import route_of
from allocator.problem import Problem


@dataclass(frozen=True)
class StageValues:
    stage0: int
    stage1: int
    stage2: int
    stage3: float

    def as_tuple(self) -> tuple[int, int, int, float]:
        return (self.stage0, self.stage1, self.stage2, self.stage3)


def pair_lookup(keys_a: np.ndarray, keys_b: np.ndarray, query_a: np.ndarray,
                query_b: np.ndarray) -> np.ndarray:
    """Row of each (query_a, query_b) in the pair list (keys_a, keys_b), -1 if absent.

    Keys are non-negative integers with no pair listed twice; a query with a negative
    part (e.g. no point) is absent. Each pair becomes one number, found by a sorted
    search (searching in sorted order keeps it in cache: several times faster than a
    join at 6M pairs).
    """
    query_a, query_b = np.asarray(query_a, np.int64), np.asarray(query_b, np.int64)
    rows = np.full(len(query_a), -1, np.int64)
    if not len(keys_a) or not len(query_a):
        return rows
    width = np.int64(max(int(np.max(keys_b)), int(np.max(query_b)), 0) + 1)
    key = np.asarray(keys_a, np.int64) * width + np.asarray(keys_b, np.int64)
    order = None
    if len(key) > 1 and not (key[1:] > key[:-1]).all():
        order = np.argsort(key, kind="stable")
        key = key[order]
    valid = (query_a >= 0) & (query_b >= 0)
    query = np.where(valid, query_a * width + query_b, -1)
    by_query = np.argsort(query)
    at = np.empty(len(query), np.int64)
    at[by_query] = np.minimum(np.searchsorted(key, query[by_query]), len(key) - 1)
    found = valid & (key[at] == query)
    rows[found] = at[found] if order is None else order[at[found]]
    return rows


def allocation_costs(problem: Problem, lot_of: np.ndarray,
                     point_of: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For served households: their lot route and (home, point) pair, -1 if there is none."""
    served = np.flatnonzero(lot_of >= 0)
    eligible = problem.hh_group[served] >= 0
    gl_row = np.full(len(served), -1, np.int64)
    gl_row[eligible] = route_of(problem.routes, problem.hh_group[served][eligible],
                                lot_of[served][eligible])
    hp_row = pair_lookup(problem.hp_home, problem.hp_point, problem.hh_home[served],
                         point_of[served])
    return served, gl_row, hp_row


def check_allocation(problem: Problem, lot_of: np.ndarray,
                     point_of: np.ndarray) -> tuple[list[str], StageValues]:
    """Violations of the contract (empty if feasible) and the four stage values."""
    problems: list[str] = []
    if not np.array_equal(lot_of >= 0, point_of >= 0):
        problems.append("a household has a lot without a point, or a point without a lot")
    served, gl_row, hp_row = allocation_costs(problem, lot_of, point_of)

    def ids(h: int) -> str:
        return problem.hh_id[int(h)].as_py()

    for h in served[problem.hh_reason[served] != ""][:10]:
        problems.append(f"{ids(h)} is not eligible ({problem.hh_reason[h]}) but is served")
    for h in served[(gl_row < 0) & (problem.hh_reason[served] == "")][:10]:
        problems.append(f"{ids(h)} got lot {problem.lot_id[lot_of[h]]}, which does not suit it")
    for h in served[(hp_row < 0) & (problem.hh_reason[served] == "")][:10]:
        problems.append(f"{ids(h)} sent to {problem.point_id[point_of[h]]}, out of its reach")
    given = np.bincount(lot_of[served], minlength=len(problem.lot_id))
    for lot in np.flatnonzero(given > problem.lot_quantity):
        problems.append(f"lot {problem.lot_id[lot]} gives {given[lot]} devices but has "
                        f"{problem.lot_quantity[lot]}")
    handed = np.bincount(point_of[served], minlength=len(problem.point_id))
    for point in np.flatnonzero(handed > problem.point_capacity):
        problems.append(f"point {problem.point_id[point]} hands over {handed[point]} but can "
                        f"do {problem.point_capacity[point]}")
    cost = int(problem.routes.cost[gl_row[gl_row >= 0]].sum())  # int64: exact to 9e18 VND
    if cost > problem.budget:
        problems.append(f"public cost {cost} is over the budget {problem.budget}")
    served_per_commune = np.bincount(problem.hh_commune[served],
                                     minlength=len(problem.commune_code))
    stage0 = int(np.minimum(served_per_commune, problem.floor_target()).sum()) \
        if problem.policy.min_commune_share > 0 else 0
    stage1 = int(problem.hh_weight[served].sum())
    # Each household's distance counts to the metre's thousandth (6 decimals of a km), as
    # the contract's worked examples add them up; float noise stays out of the total.
    stage3 = float(np.round(problem.hp_km[hp_row[hp_row >= 0]], 6).sum())
    return problems, StageValues(stage0, stage1, cost, stage3)


def keep_values(problem: Problem, lot_of: np.ndarray,
                point_of: np.ndarray) -> tuple[int, int, int]:
    """keep.csv households served (K1), at their kept point (K2), with their kept lot (K3)."""
    h = problem.keep_hh
    served = lot_of[h] >= 0
    return (int(served.sum()), int((served & (point_of[h] == problem.keep_point)).sum()),
            int((served & (lot_of[h] == problem.keep_lot)).sum()))
