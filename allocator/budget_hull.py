"""The most priority weight each budget could buy if devices could be split: the curve's guide.

Without its budget row the aggregated model (see model.py) is a network flow, whose
flows are whole numbers. Serving weight w at public cost c and pricing money at λ
points per đồng, the flow that maximises w - λc is an allocation on the upper
concave hull of (cost, weight) over every feasible allocation: the LP relaxation's
optimum at budget c. At such a budget the LP bound equals a whole allocation's
weight, so the exact stage 1 there is that weight and the solver proves it at once
(stage 2 too: any cheaper allocation of that weight would lie above the hull).

Each flow is a min-cost flow (milliseconds, far below one MILP solve), so the
budget curve asks many of them to find where the curve bends, and starts its
exact solves from them. Fairness floors and keep stages are ignored here: the
hull guides which budgets to solve and where to start, and only for rounds
without them does a vertex also prove which households no optimum at its budget
serves (`never_served`). A row's value always comes from the solver.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from allocator.aggregate import Units, build_units
from allocator.disaggregate import assign_lots, served_households, tie_rank
from allocator.ordering import order_by
from allocator.problem import Problem

# Arc costs are kept below this, so the flow solver's scaled costs fit in 64 bits.
_MAX_ARC_COST = 10**12
_MAX_ROUNDS = 10_000  # of Bellman-Ford relaxations when proving a flow optimal


@dataclass
class Vertex:
    """A whole allocation of the class model: its public cost (VND) and weight served."""

    cost_vnd: int
    weight: int
    slope: float      # points per VND at which it is optimal (a line through it bounds the hull)
    money: int        # the price it was found at: points x weight - money x cost (cost units)
    points: int
    free_only: bool   # found among devices that cost nothing (budget 0)
    flows: np.ndarray  # on every arc of the network
    give: np.ndarray   # per lot route (views into flows)
    take: np.ndarray   # per class
    send: np.ndarray   # per (place, point) pair


class BudgetHull:
    """Parametric flows over one problem's classes (built once, solved many times)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.classes: Units = build_units(problem, by_site=False)
        routes, classes = problem.routes, self.classes
        self.cost_unit = _cost_unit(routes.cost)
        self.route_cost = routes.cost // self.cost_unit
        n_lot, n_group = len(problem.lot_id), len(problem.group_commune)
        n_node, n_point = routes.n_hubs + n_group, len(problem.point_id)
        lot0, node0 = 0, n_lot
        place0 = node0 + n_node
        point0 = place0 + classes.n_places
        self.source, self.sink = point0 + n_point, point0 + n_point + 1
        group_size = np.bincount(classes.group, weights=classes.count,
                                 minlength=n_group).astype(np.int64)
        place_size = np.bincount(classes.place, weights=classes.count,
                                 minlength=classes.n_places).astype(np.int64)
        self.total = int(problem.lot_quantity.sum())
        # Arcs in blocks: source->lot, lot->node (routes), hub->group, group->place (classes),
        # place->point, point->sink, source->sink (devices nobody takes).
        parts = [
            (np.full(n_lot, self.source), lot0 + np.arange(n_lot), problem.lot_quantity),
            (lot0 + routes.lot, node0 + routes.node, problem.lot_quantity[routes.lot]),
            (node0 + routes.group_hub, node0 + routes.n_hubs + np.arange(n_group), group_size),
            (node0 + routes.n_hubs + classes.group, place0 + classes.place, classes.count),
            (place0 + classes.pp_place, point0 + classes.pp_point,
             np.minimum(place_size[classes.pp_place], problem.point_capacity[classes.pp_point])),
            (point0 + np.arange(n_point), np.full(n_point, self.sink), problem.point_capacity),
            (np.array([self.source]), np.array([self.sink]), np.array([self.total])),
        ]
        sizes = [len(p[0]) for p in parts]
        self.start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.tails = np.concatenate([p[0] for p in parts]).astype(np.int64)
        self.heads = np.concatenate([p[1] for p in parts]).astype(np.int64)
        self.caps = np.maximum(np.concatenate([p[2] for p in parts]), 0).astype(np.int64)
        self._rank: np.ndarray | None = None

    def _block(self, i: int) -> slice:
        return slice(int(self.start[i]), int(self.start[i + 1]))

    def best(self, money: int, points: int, free_only: bool = False) -> Vertex | None:
        """The flow maximising points x weight - money x cost (in cost units); None if unsolved.

        `free_only` keeps to devices that cost the public purse nothing (budget 0).
        """
        money, points = _bounded(money, points, int(self.route_cost.max(initial=0)),
                                 int(self.classes.weight.max(initial=0)))
        slope = math.inf if free_only else money / points / self.cost_unit
        costs, caps = self._costs(money, points), self._caps(free_only)
        flow = min_cost_flow.SimpleMinCostFlow()
        flow.add_arcs_with_capacity_and_unit_cost(self.tails, self.heads, caps, costs)
        supplies = np.zeros(self.sink + 1, np.int64)
        supplies[self.source], supplies[self.sink] = self.total, -self.total
        flow.set_nodes_supplies(np.arange(self.sink + 1), supplies)
        if flow.solve() != flow.OPTIMAL:
            return None
        flows = np.asarray(flow.flows(np.arange(len(self.tails))), np.int64)
        give, take, send = flows[self._block(1)], flows[self._block(3)], flows[self._block(4)]
        return Vertex(int(self.problem.routes.cost @ give), int(self.classes.weight @ take),
                      slope, money, points, free_only, flows, give, take, send)

    def _costs(self, money: int, points: int) -> np.ndarray:
        costs = np.zeros(len(self.tails), np.int64)
        costs[self._block(1)] = money * self.route_cost
        costs[self._block(3)] = -points * self.classes.weight
        return costs

    def _caps(self, free_only: bool) -> np.ndarray:
        if not free_only:
            return self.caps
        caps = self.caps.copy()
        caps[self._block(1)] = np.where(self.route_cost > 0, 0, caps[self._block(1)])
        return caps

    def never_served(self, vertex: Vertex) -> np.ndarray | None:
        """Households no flow as good as `vertex` at its price serves (bool per household).

        Node potentials (shortest distances in the residual network, whole numbers) prove
        the flow optimal: no residual arc has a negative reduced cost. Any other optimal
        flow differs from this one by residual cycles of cost 0, whose arcs all have
        reduced cost 0; so an unused arc carries nothing in every optimal flow unless it
        has reduced cost 0 and lies on a cycle of such arcs (its ends in one strongly
        connected component of them). For a vertex found at a positive price of money,
        the optimal flows include every allocation with its weight and cost: the exact
        optimum of stages 1 and 2 at budget `cost_vnd` (found among free devices, of
        stage 1 at budget 0). So the households of classes whose arc carries nothing in
        every optimal flow are served by no optimum there, and stage 3 need not consider
        them. None without a proof.
        """
        if vertex.money <= 0 and not vertex.free_only:
            return None
        costs, caps, flows = self._costs(vertex.money, vertex.points), \
            self._caps(vertex.free_only), vertex.flows
        forward, backward = flows < caps, flows > 0
        tail = np.concatenate([self.tails[forward], self.heads[backward]])
        head = np.concatenate([self.heads[forward], self.tails[backward]])
        cost = np.concatenate([costs[forward], -costs[backward]])
        distance = np.zeros(self.sink + 1, np.int64)
        for _ in range(_MAX_ROUNDS):
            nearer = distance.copy()
            np.minimum.at(nearer, head, distance[tail] + cost)
            if np.array_equal(nearer, distance):
                break
            distance = nearer
        else:
            return None
        reduced = costs + distance[self.tails] - distance[self.heads]
        if (reduced[forward] < 0).any() or (reduced[backward] > 0).any():
            return None  # not a proof (cannot happen for an optimal flow)
        tight = np.concatenate([reduced[forward], -reduced[backward]]) == 0
        component = strong_components(self.sink + 1, tail[tight], head[tight])
        take = self._block(3)
        on_cycle = (reduced[take] == 0) & \
            (component[self.tails[take]] == component[self.heads[take]])
        shut = np.flatnonzero((flows[take] == 0) & ~on_cycle)
        return np.isin(self.classes.hh_unit, shut)


    def cheapest_end(self) -> Vertex | None:
        """The most weight at no public cost (the curve at budget 0)."""
        return self.best(0, 1, free_only=True)

    def saturated_end(self) -> Vertex | None:
        """The most weight, at the least cost among those (the saturation budget).

        Money is priced so low that all the money any allocation can spend is worth
        less than one point: the flow maximises weight first, then saves money.
        """
        spendable = int(np.minimum(self.problem.lot_quantity[self.problem.routes.lot],
                                   self.total) @ self.route_cost) if len(self.route_cost) else 0
        return self.best(1, spendable + 1)

    def allocation(self, vertex: Vertex) -> tuple[np.ndarray, np.ndarray]:
        """The vertex as a per-household (lot_of, point_of) allocation, ties by the seed.

        Households of a class place reach the same points, so each place's handovers go
        to its served households in tie order (distance is the solver's to minimise).
        """
        if self._rank is None:
            self._rank = tie_rank(self.problem)
        classes = self.classes
        served = served_households(classes, vertex.take, self._rank)
        place = classes.place[classes.hh_unit[served]]
        served = served[order_by(place, self._rank[served])]
        point_of = np.full(len(self.problem.hh_id), -1, np.int64)
        point_of[served] = np.repeat(classes.pp_point, vertex.send)
        return assign_lots(self.problem, vertex.give, point_of, self._rank), point_of


class Bends:
    """Hull vertices in the order a sandwich finds them: where the curve bends most first.

    Between two known vertices the hull lies above their chord and below the lines
    supporting it at each end (the price at which each was found), a triangle. The
    interval whose triangle reaches furthest from its chord is split first: the flow
    priced at the chord's slope gives the hull vertex furthest above it, one flow per
    vertex. Distances are measured across the chord on axes scaled to the whole curve
    (as a chart shows it), so steep and flat stretches compete fairly.
    """

    def __init__(self, hull: BudgetHull, max_flows: int | None = None) -> None:
        self.hull = hull
        self.vertices: dict[int, Vertex] = {}
        self.found: list[Vertex] = []  # vertices in the order found (ends not included)
        self._heap: list[tuple[float, int, Vertex, Vertex]] = []
        self._count = 0
        self._flows = 0
        self._max_flows = max_flows
        left, right = hull.cheapest_end(), hull.saturated_end()
        self.right: Vertex | None = right  # the hull's saturation end
        self._x = self._y = 1.0
        for v in (left, right):
            if v is not None:
                self.vertices[v.cost_vnd] = v
        if left is not None and right is not None and right.cost_vnd > left.cost_vnd:
            self._x = float(right.cost_vnd - left.cost_vnd)
            self._y = float(max(right.weight - left.weight, 1))
            self._push(left, right)

    def _push(self, a: Vertex, b: Vertex) -> None:
        wide, rise = b.cost_vnd - a.cost_vnd, b.weight - a.weight
        if wide < 2 or rise <= 0:
            return  # a flat stretch has no bend inside
        chord = rise / wide
        # Height of the triangle's apex over the chord (a's line may be vertical: budget 0).
        low = max(chord - b.slope, 0.0) * wide
        if math.isfinite(a.slope) and a.slope > b.slope:
            height = max(a.slope - chord, 0.0) * low / (a.slope - b.slope)
        else:
            height = low
        dx, dy = wide / self._x, rise / self._y
        score = height / self._y * dx / math.hypot(dx, dy)
        if score > 0:
            self._count += 1
            heapq.heappush(self._heap, (-score, self._count, a, b))

    def next(self, top: int | None = None) -> Vertex | None:
        """The next vertex (None when every bend is found); intervals above `top` are left."""
        while self._heap:
            _, _, a, b = heapq.heappop(self._heap)
            if top is not None and a.cost_vnd >= top:
                continue
            if self._max_flows is not None and self._flows >= self._max_flows:
                return None
            self._flows += 1
            wide, rise = b.cost_vnd - a.cost_vnd, b.weight - a.weight
            v = self.hull.best(rise, wide // self.hull.cost_unit)
            if v is None or not a.cost_vnd < v.cost_vnd < b.cost_vnd or \
                    (v.weight - a.weight) * wide <= (v.cost_vnd - a.cost_vnd) * rise:
                continue  # the chord is an edge of the hull: nothing bends inside
            self.vertices[v.cost_vnd] = v
            self.found.append(v)
            self._push(a, v)
            if top is None or v.cost_vnd < top:
                self._push(v, b)
            return v
        return None

    def below(self, budget: int) -> Vertex | None:
        """The known vertex of the largest cost within `budget`."""
        fits = [c for c in self.vertices if c <= budget]
        return self.vertices[max(fits)] if fits else None

    def value(self, budget: int) -> float:
        """The hull's weight at `budget`, between the known vertices."""
        costs = sorted(self.vertices)
        if not costs:
            return 0.0
        return float(np.interp(budget, costs, [self.vertices[c].weight for c in costs]))


def _cost_unit(costs: np.ndarray) -> int:
    g = 0
    for c in np.unique(costs):
        g = math.gcd(g, int(c))
    return max(g, 1)


def _bounded(money: int, points: int, max_cost: int, max_weight: int) -> tuple[int, int]:
    """The price ratio money/points in whole numbers small enough for the flow solver.

    Exact when it fits; else scaled down, which moves the ratio a little: the flow is
    then a hull vertex for a nearby price, still a whole feasible allocation.
    """
    g = math.gcd(money, points) or 1
    money, points = money // g, points // g
    largest = max(money * max_cost, points * max_weight, 1)
    if largest > _MAX_ARC_COST:
        scale = _MAX_ARC_COST / largest
        money = round(money * scale) if money else 0
        points = max(1, round(points * scale))
    return money, points


def strong_components(n: int, tail: np.ndarray, head: np.ndarray) -> np.ndarray:
    """A component number per node: equal exactly for nodes that reach each other.

    Tarjan's algorithm without recursion (networks here are far deeper than Python's
    recursion limit allows).
    """
    order = np.argsort(tail, kind="stable")
    targets = head[order].tolist()
    first = np.searchsorted(tail[order], np.arange(n + 1)).tolist()
    index = [-1] * n
    low = [0] * n
    component = [-1] * n
    on_stack = [False] * n
    stack: list[int] = []
    counter = components = 0
    for root in range(n):
        if index[root] >= 0:
            continue
        work = [(root, first[root])]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            node, edge = work[-1]
            if edge < first[node + 1]:
                work[-1] = (node, edge + 1)
                nxt = targets[edge]
                if index[nxt] < 0:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack[nxt] = True
                    work.append((nxt, first[nxt]))
                elif on_stack[nxt]:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component[member] = components
                    if member == node:
                        break
                components += 1
    return np.asarray(component, np.int64)
