"""The careful planner's hand method, as a baseline and a solver hint.

Households in order of priority weight (ties in the seeded order); each gets
the cheapest suitable lot that still has stock and fits the remaining budget,
at the nearest point in reach that still has room. With a fairness floor, a
first pass serves each commune up to its floor, a second pass everyone else.
"""

from __future__ import annotations

import numpy as np

from allocator.aggregate import servable
from allocator.disaggregate import tie_rank
from allocator.problem import Problem


def greedy(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Lot and point of each household (-1 where unserved)."""
    n = len(problem.hh_id)
    lot_of = np.full(n, -1, np.int64)
    point_of = np.full(n, -1, np.int64)
    candidates = np.flatnonzero(servable(problem))
    order = candidates[np.lexsort((tie_rank(problem)[candidates],
                                   -problem.hh_weight[candidates]))]

    routes = problem.routes
    lots_of_node = _sorted_options(routes.node, routes.cost, routes.lot,
                                   routes.n_hubs + len(problem.group_commune))
    points_of_home = _sorted_options(problem.hp_home, problem.hp_km, problem.hp_point,
                                     len(problem.home_commune))
    stock = problem.lot_quantity.copy()
    room = problem.point_capacity.copy()
    budget = problem.budget

    passes: list[np.ndarray | None] = [None]
    if problem.policy.min_commune_share > 0:
        passes = [problem.floor_target(), None]
    for quota in passes:
        served_in = np.bincount(problem.hh_commune[point_of >= 0],
                                minlength=len(problem.commune_code))
        for h in order:
            if lot_of[h] >= 0:
                continue
            commune = problem.hh_commune[h]
            if quota is not None and served_in[commune] >= quota[commune]:
                continue
            point = next((p for _, p in points_of_home[problem.hh_home[h]] if room[p] > 0), -1)
            if point < 0:
                continue
            group = problem.hh_group[h]
            choice = _cheapest(lots_of_node, (routes.group_hub[group], routes.n_hubs + group),
                               stock, budget)
            if choice is None:
                continue
            cost, lot = choice
            lot_of[h], point_of[h] = lot, point
            stock[lot] -= 1
            room[point] -= 1
            budget -= int(cost)
            served_in[commune] += 1
    return lot_of, point_of


def _cheapest(options: list[list[tuple[float, int]]], nodes: tuple[int, int],
              stock: np.ndarray, budget: int) -> tuple[float, int] | None:
    """The cheapest (cost, lot) with stock and within budget among the nodes' options."""
    found = [next(((c, lot) for c, lot in options[node] if stock[lot] > 0 and c <= budget), None)
             for node in nodes]
    return min((f for f in found if f is not None), default=None)


def _sorted_options(owner: np.ndarray, key: np.ndarray, item: np.ndarray,
                    n_owner: int) -> list[list[tuple[float, int]]]:
    """For each owner, its (key, item) options in increasing key, then item order."""
    order = np.lexsort((item, key, owner))
    options: list[list[tuple[float, int]]] = [[] for _ in range(n_owner)]
    for o, k, i in zip(owner[order].tolist(), key[order].tolist(), item[order].tolist()):
        options[o].append((k, i))
    return options
