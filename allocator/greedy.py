"""The careful planner's hand method, as a baseline and a solver hint.

Households in order of priority weight (ties in the seeded order); each gets
the cheapest suitable lot that still has stock and fits the remaining budget,
at the nearest point in reach that still has room. With a fairness floor, a
first pass serves each commune up to its floor, a second pass everyone else.

As the optimiser's start on a re-plan, households of keep.csv come first: each
is given its kept lot where stock and budget allow, at its kept point where that
has room, else at the nearest point; then any lot for the kept households left.
That start often already meets stages K1-K3, which are then proven by counting
or by the solver at once instead of searched for.
"""

from __future__ import annotations

import numpy as np

from allocator.aggregate import servable
from allocator.check import pair_lookup
from allocator.compat import route_of
from allocator.disaggregate import tie_rank
from allocator.problem import Problem


def greedy(problem: Problem, keep_first: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Lot and point of each household (-1 where unserved); `keep_first`: see above."""
    n = len(problem.hh_id)
    lot_of = np.full(n, -1, np.int64)
    point_of = np.full(n, -1, np.int64)
    candidates = np.flatnonzero(servable(problem))
    order = candidates[np.lexsort((tie_rank(problem)[candidates],
                                   -problem.hh_weight[candidates]))]
    routes = problem.routes
    lots = _Options(routes.node, routes.cost, routes.lot,
                    routes.n_hubs + len(problem.group_commune))
    points = _Options(problem.hp_home, problem.hp_km, problem.hp_point,
                      len(problem.home_commune))
    stock = problem.lot_quantity.tolist()
    room = problem.point_capacity.tolist()
    budget = problem.budget
    hub_of = routes.group_hub.tolist()
    n_hubs = routes.n_hubs
    group_of, home_of = problem.hh_group.tolist(), problem.hh_home.tolist()
    commune_of = problem.hh_commune.tolist()
    served = [False] * n
    served_in = [0] * len(problem.commune_code)

    passes: list[tuple[list[int], list[int] | None]] = [(order.tolist(), None)]
    if problem.policy.min_commune_share > 0:
        passes = [(order.tolist(), problem.floor_target().tolist()), (order.tolist(), None)]
    if keep_first and len(problem.keep_hh):
        kept = order[np.isin(order, problem.keep_hh)]
        budget = _serve_kept_lots(problem, kept, points, lot_of, point_of, stock, room, budget)
        for h in np.flatnonzero(lot_of >= 0).tolist():
            served[h] = True
            served_in[commune_of[h]] += 1
        passes.insert(0, (kept.tolist(), None))
    for households, quota in passes:
        for h in households:
            if served[h]:
                continue
            commune = commune_of[h]
            if quota is not None and served_in[commune] >= quota[commune]:
                continue
            point = points.first(home_of[h], room)
            if point is None:
                continue
            group = group_of[h]
            via_hub = lots.cheapest(hub_of[group], stock, budget)
            direct = lots.cheapest(n_hubs + group, stock, budget)
            choice = min((c for c in (via_hub, direct) if c is not None), default=None)
            if choice is None:
                continue
            cost, lot = choice
            lot_of[h], point_of[h] = lot, point[1]
            served[h] = True
            stock[lot] -= 1
            room[point[1]] -= 1
            budget -= int(cost)
            served_in[commune] += 1
    return lot_of, point_of


def _serve_kept_lots(problem: Problem, kept: np.ndarray, points: _Options, lot_of: np.ndarray,
                     point_of: np.ndarray, stock: list[int], room: list[int],
                     budget: int) -> int:
    """Give kept households (in `kept` order) their kept lot while stock and budget allow.

    First at their kept point where it has room, then the rest at their nearest point with
    room. Fills lot_of, point_of, stock and room in place; returns the budget left.
    """
    row = np.empty(len(problem.hh_id), np.int64)
    row[problem.keep_hh] = np.arange(len(problem.keep_hh))
    lot, point = problem.keep_lot[row[kept]], problem.keep_point[row[kept]]
    route = route_of(problem.routes, problem.hh_group[kept], lot)
    reach = pair_lookup(problem.hp_home, problem.hp_point, problem.hh_home[kept], point) >= 0
    cost = np.where(route >= 0, problem.routes.cost[np.maximum(route, 0)], 0)
    rows = list(zip(kept.tolist(), lot.tolist(), point.tolist(), (route >= 0).tolist(),
                    reach.tolist(), cost.tolist(), problem.hh_home[kept].tolist()))
    for at_kept_point in (True, False):
        for h, lt, pt, suits, in_reach, c, home in rows:
            if not suits or lot_of[h] >= 0 or stock[lt] <= 0 or c > budget:
                continue
            if at_kept_point and not (in_reach and room[pt] > 0):
                continue
            if not at_kept_point:
                nearest = points.first(home, room)
                if nearest is None:
                    continue
                pt = nearest[1]
            lot_of[h], point_of[h] = lt, pt
            stock[lt] -= 1
            room[pt] -= 1
            budget -= int(c)
    return budget


class _Options:
    """Each owner's (key, item) options in increasing key order, with a moving start.

    Stock, room and budget only ever shrink, so an option found unusable stays
    unusable: each owner's start only moves forward, and a household is
    served in amortised constant time.
    """

    def __init__(self, owner: np.ndarray, key: np.ndarray, item: np.ndarray, n_owner: int):
        order = np.lexsort((item, key, owner))
        self.key = key[order].tolist()
        self.item = item[order].tolist()
        bounds = np.searchsorted(owner[order], np.arange(n_owner + 1))
        self.next = bounds[:-1].tolist()
        self.end = bounds[1:].tolist()

    def first(self, owner: int, left: list[int]) -> tuple[float, int] | None:
        """The first option whose item has something left (room at a point)."""
        i, end = self.next[owner], self.end[owner]
        while i < end and left[self.item[i]] <= 0:
            i += 1
        self.next[owner] = i
        return (self.key[i], self.item[i]) if i < end else None

    def cheapest(self, owner: int, left: list[int], budget: int) -> tuple[float, int] | None:
        """The cheapest option with stock left that fits the budget."""
        found = self.first(owner, left)
        if found is None or found[0] > budget:
            self.next[owner] = self.end[owner]  # dearer options will never fit again
            return None
        return found
