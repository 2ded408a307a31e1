"""The careful planner's hand method, as a baseline and a solver hint.

Households in order of priority weight (ties in the seeded order); each gets
the cheapest suitable lot that still has stock and fits the remaining budget,
at the nearest point in reach that still has room. With a fairness floor, a
first pass serves each commune up to its floor, a second pass everyone else.

As the optimiser's start on a re-plan, households of keep.csv come first: each
is given its kept lot where stock and budget allow, else the cheapest that suits;
then a flow finds points for all of them at once, serving as many as the points'
room allows and as many of those as possible at their kept point. (One by one,
nearest first, a household moved from a closed point can take the last place
another one needs.) That start often already meets stages K1-K3, which are then
proven by counting or by the solver at once instead of searched for.
"""

from __future__ import annotations

import numpy as np

from allocator.aggregate import servable
from allocator.compat import group_options, route_of
from allocator.disaggregate import tie_rank
from allocator.point_flow import to_points
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
        budget = _serve_kept(problem, kept, lot_of, point_of, stock, room, budget)
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


def _serve_kept(problem: Problem, kept: np.ndarray, lot_of: np.ndarray, point_of: np.ndarray,
                stock: list[int], room: list[int], budget: int) -> int:
    """Serve kept households (in `kept` order) before anyone else, as keep stages K1-K3 ask.

    Each is offered its kept lot while stock and budget allow, else the cheapest lot that
    suits. Points are then chosen for all of them at once by a flow: as many as the points'
    room allows (K1), and of those as many as possible at their kept point (K2). Whoever
    gets no point gives the lot back. Fills lot_of, point_of, stock and room in place;
    returns the budget left.
    """
    routes = problem.routes
    row = np.empty(len(problem.hh_id), np.int64)
    row[problem.keep_hh] = np.arange(len(problem.keep_hh))
    kept_lot = problem.keep_lot[row[kept]]
    route = route_of(routes, problem.hh_group[kept], kept_lot)
    cost = np.where(route >= 0, routes.cost[np.maximum(route, 0)], 0)
    left, left_budget = list(stock), budget
    lot = np.full(len(kept), -1, np.int64)
    for i, (lt, suits, c) in enumerate(zip(kept_lot.tolist(), (route >= 0).tolist(),
                                           cost.tolist())):
        if suits and left[lt] > 0 and c <= left_budget:
            lot[i] = lt
            left[lt] -= 1
            left_budget -= c
    options: dict[int, list[tuple[int, int]]] = {}
    for i in np.flatnonzero(lot < 0).tolist():
        group = int(problem.hh_group[kept[i]])
        if group not in options:
            lots, costs = group_options(routes, group)
            options[group] = sorted(zip(costs.tolist(), lots.tolist()))
        found = next(((c, lt) for c, lt in options[group]
                      if left[lt] > 0 and c <= left_budget), None)
        if found is not None:
            cost[i], lot[i] = found
            left[found[1]] -= 1
            left_budget -= found[0]
    has_lot = np.flatnonzero(lot >= 0)
    point = _kept_points(problem, kept[has_lot], room)
    placed = has_lot[point >= 0]
    lot_of[kept[placed]] = lot[placed]
    point_of[kept[placed]] = point[point >= 0]
    for lt, pt in zip(lot[placed].tolist(), point[point >= 0].tolist()):
        stock[lt] -= 1
        room[pt] -= 1
    return budget - int(cost[placed].sum())


def _kept_points(problem: Problem, households: np.ndarray, room: list[int]) -> np.ndarray:
    """A point in reach for most of `households` (kept ones), most at their kept point.

    A min-cost max-flow from their homes to points with room: a move away from the kept
    point costs 1. Households of a home share a kept point; in the given order they take
    the kept point first, then the others nearest first. -1 where none is left.
    """
    point = np.full(len(households), -1, np.int64)
    if not len(households):
        return point
    homes, home_node = np.unique(problem.hh_home[households], return_inverse=True)
    supply = np.bincount(home_node, minlength=len(homes))
    node_of_home = np.full(len(problem.home_commune), -1, np.int64)
    node_of_home[homes] = np.arange(len(homes))
    pair = np.flatnonzero(node_of_home[problem.hp_home] >= 0)
    tail = node_of_home[problem.hp_home[pair]]
    target = problem.hp_point[pair]
    moved = (target != problem.home_keep_point[problem.hp_home[pair]]).astype(np.int64)
    pair_order = np.lexsort((target, problem.hp_km[pair], moved, tail))
    pair, tail, target, moved = pair[pair_order], tail[pair_order], target[pair_order], \
        moved[pair_order]
    sent = to_points(tail, target, supply, moved, np.asarray(room, np.int64), everyone=False)
    if sent is None:
        raise RuntimeError("no flow of kept households to points")
    # Households of each home in the given order take its flows in arc order.
    by_home = np.argsort(home_node, kind="stable")
    position = np.arange(len(households)) - np.searchsorted(home_node[by_home],
                                                            home_node[by_home])
    points = np.repeat(target, sent)
    first = np.concatenate([[0], np.cumsum(np.bincount(tail, weights=sent,
                                                       minlength=len(homes)))]).astype(np.int64)
    got = position < (first[1:] - first[:-1])[home_node[by_home]]
    point[by_home[got]] = points[first[home_node[by_home[got]]] + position[got]]
    return point


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
