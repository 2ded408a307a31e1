"""Households of chosen homes sent to points within capacity at least total distance.

Most households go to their nearest point, and an optimal routing sends a household
past its nearest point only by as much as some full point is worth (its capacity
price). So the flow is solved on a few arcs first, then every arc left out is priced:
if none would shorten the routing at the routing's own prices, the flow is optimal
over all arcs; else those arcs join and it is solved again.

The first arcs are short detours (within FIRST_DETOUR_KM of a home's nearest point).
A `Router` routes one set of arcs for changing supplies: after its first routing it
starts from the arcs the last routing's prices make cheapest for each home (within
PRICED_SLACK_KM), so homes whose choice those prices settle leave the flow. Stage 3's
rounds change a few thousand households of a hundred thousand, so most are settled.

Distances are whole micrometres in the flow (whole millimetres where stage K2's
households must come first), so rounding moves the total by well under a metre.
"""

from __future__ import annotations

import numpy as np
from ortools.graph.python import max_flow

from allocator.point_flow import to_points
from allocator.potentials import capacity_prices

FIRST_DETOUR_KM = 0.2
PRICED_SLACK_KM = 0.02
_INT64_ROOM = 2**61


def least_routing(place: np.ndarray, point: np.ndarray, km: np.ndarray, supply: np.ndarray,
                  capacity: np.ndarray, kept: np.ndarray) -> np.ndarray | None:
    """Flow per arc (place -> point, arcs sorted by place) sending every household of
    `supply` (per place) within `capacity`; arcs marked `kept` are filled first.

    None if the households cannot all be sent.
    """
    return Router(place, point, km, capacity, kept, len(supply)).route(supply)


class Router:
    """Least routings over one set of arcs (place -> point, sorted by place), each
    started from the prices of the one before."""

    def __init__(self, place: np.ndarray, point: np.ndarray, km: np.ndarray,
                 capacity: np.ndarray, kept: np.ndarray, n_places: int) -> None:
        self.place, self.point, self.kept = place, point, kept
        self.capacity = np.maximum(capacity, 0)  # (a negative one holds nobody, as 0)
        self.n_places = n_places
        self.cost, self.scale = _integer_costs(km, kept, n_places + len(capacity) + 1,
                                               len(capacity))
        starts, _ = _segments(place)
        self.nearest = np.zeros(n_places, np.int64)  # per place, its nearest point's cost
        self.reaches = np.zeros(n_places, bool)  # per place, whether it has an arc
        if len(place):
            self.nearest[place[starts]] = np.minimum.reduceat(self.cost, starts)
            self.reaches[place[starts]] = True
        self.price: np.ndarray | None = None  # of the last routing, in flow cost units

    def route(self, supply: np.ndarray) -> np.ndarray | None:
        """Flow per arc sending every household of `supply` (per place), None if they
        cannot all be sent."""
        if not supply.any():
            return np.zeros(len(self.place), np.int64)
        if (supply[~self.reaches] > 0).any():
            return None  # households of a home that reaches no point
        sent = np.flatnonzero(supply[self.place] > 0)  # arcs of homes with households
        cost, point, home = self.cost[sent], self.point[sent], self.place[sent]
        # Arrays over `sent` are computed in place where they can be: at national they
        # hold 6.4 million arcs each, and a routing is stage 3's peak of memory.
        if self.price is None:
            measure = self.nearest[home]
            np.subtract(cost, measure, out=measure)  # the detour
            window = FIRST_DETOUR_KM * self.scale
        else:
            measure = self.price[point]
            measure += cost  # the reduced cost
            starts, segment = _segments(home)
            measure -= np.minimum.reduceat(measure, starts)[segment]
            del segment
            window = PRICED_SLACK_KM * self.scale
        on = measure <= window  # of `sent`: the arcs in the flow
        del measure
        on |= self.kept[sent]
        while True:
            arcs = sent[on]
            flow, crowded = self._restricted(supply, arcs)
            if flow is None:
                if on.all():
                    return None
                # Too few arcs to fit everyone: the homes that crowd the points their
                # arcs reach (a set whose points cannot hold them) get all their arcs.
                # Widening only those keeps the flow small (national: every home
                # widened, its last flows had 2.9 million arcs); widening them all the
                # way at once saves rounds (national's start: 10,586 arcs more in one
                # round, where reaching four times as far took three).
                grow = None if crowded is None else crowded[home] & ~on
                if grow is None or not grow.any():
                    # The flow's own set has no arc left to add: only a set found over
                    # every active arc says whether some home never fits.
                    crowded = self._crowded(supply, arcs)
                    if crowded is None:  # (a flow that failed for no set: widen every home)
                        crowded = supply > 0
                    grow = crowded[home] & ~on
                    if not grow.any():
                        return None  # they reach every point they can: they never fit
                on |= grow
                continue
            price, reach = self._prices(flow, arcs)
            gain = price[point]
            gain += cost
            limit = reach[home]
            limit -= 0.5
            shorter = gain < limit  # (cost + price[point] < reach[home] - 0.5)
            del gain, limit
            shorter &= ~on
            if not shorter.any():
                self.price = price
                whole = np.zeros(len(self.place), np.int64)
                whole[arcs] = flow
                return whole
            on |= shorter

    def _crowded(self, supply: np.ndarray, arcs: np.ndarray) -> np.ndarray | None:
        """Homes whose households the points of their `arcs` cannot hold."""
        return crowded_places(self.place[arcs], self.point[arcs], supply, self.capacity)

    def _prices(self, flow: np.ndarray, arcs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The capacity prices of `flow` (per arc of `arcs`), and per place its cheapest
        arc of them at those prices (inf where it has none)."""
        place, point, cost = self.place[arcs], self.point[arcs], self.cost[arcs]
        price = capacity_prices(place, point, cost.astype(float), flow, self.capacity)
        starts, _ = _segments(place)
        reach = np.full(self.n_places, np.inf)
        reach[place[starts]] = np.minimum.reduceat(cost + price[point], starts)
        return price, reach

    def _restricted(self, supply: np.ndarray, arcs: np.ndarray
                    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The least-cost flow on `arcs` (indices, increasing; the flow per one of them), or
        None and the homes that crowd (None if it found none) when it does not fit.

        Places that are settled before the flow (see below) fill their point first; the
        flow then holds only the places that choose. When it does not fit, the homes to
        widen are found on that smaller flow: the choosing homes whose points' room left
        cannot hold them, with the homes of one active arc that fill those points (or
        those that overfill a point by themselves). Whether some home never fits is
        decided over all active arcs (`route`).
        """
        if not len(arcs):
            return None, None
        place, point, cost = self.place[arcs], self.point[arcs], self.cost[arcs]
        capacity = self.capacity
        # A point that could take every household with an active arc to it is never full:
        # whoever has it nearest goes there in some least-cost flow, and so do places
        # with one active arc, which have no choice.
        inflow = np.bincount(point, weights=supply[place], minlength=len(capacity))
        starts, segment = _segments(place)
        lowest = cost == np.minimum.reduceat(cost, starts)[segment]
        low = np.flatnonzero(lowest)
        nearest = np.zeros(len(arcs), bool)  # the first of a place's cheapest arcs
        nearest[low[np.r_[True, segment[low][1:] != segment[low][:-1]]]] = True
        degree = np.diff(np.r_[starts, len(arcs)])
        roomy = inflow[point] <= capacity[point]
        settled = nearest & ((degree[segment] == 1) | roomy)
        is_settled = np.zeros(len(starts), bool)
        is_settled[segment[settled]] = True
        room = capacity.astype(np.int64) - np.bincount(
            point[settled], weights=supply[place[settled]],
            minlength=len(capacity)).astype(np.int64)
        # Only homes of one arc can overfill a point (the others settle at roomy ones).
        forced = settled & (degree[segment] == 1)
        if (room < 0).any():
            return None, self._homes_of(place[forced & (room[point] < 0)])
        flow = np.zeros(len(arcs), np.int64)
        flow[settled] = supply[place[settled]]
        choose = ~is_settled[segment]
        if choose.any():
            chosen = place[choose]
            first, local = _segments(chosen)
            sent = to_points(local, point[choose], supply[chosen[first]], cost[choose], room,
                             everyone=True)
            if sent is None:
                crowded = crowded_places(local, point[choose], supply[chosen[first]], room)
                if crowded is None:
                    return None, None
                full = np.zeros(len(capacity), bool)  # the points the crowded homes reach
                full[point[choose][crowded[local]]] = True
                return None, self._homes_of(np.r_[chosen[first][crowded],
                                                  place[forced & full[point]]])
            flow[choose] = sent
        return flow, None

    def _homes_of(self, places: np.ndarray) -> np.ndarray:
        """A mask over places."""
        marked = np.zeros(self.n_places, bool)
        marked[places] = True
        return marked


def _segments(place: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For arcs sorted by place: where each place's run starts, and each arc's run."""
    if not len(place):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    change = np.r_[False, place[1:] != place[:-1]]
    return np.flatnonzero(np.r_[True, change[1:]]), np.cumsum(change)


def _integer_costs(km: np.ndarray, kept: np.ndarray, n_nodes: int,
                   n_points: int) -> tuple[np.ndarray, float]:
    """Arc costs as integers: micrometres, or millimetres when kept arcs need a bonus.

    The solver's cost scaling multiplies costs by the node count, which must stay in
    64 bits. A kept arc's bonus exceeds any chain of moves between points (at most two
    per point), so the flow keeps as many households at their kept points as it can.
    """
    longest = float(km.max(initial=0.0))
    for scale in (1e9, 1e6, 1e3):
        top = int(np.rint(longest * scale)) + 1  # (rounding keeps the order: the largest cost)
        bonus = (2 * n_points + 1) * top if kept.any() else 0
        if (top + bonus) * n_nodes < _INT64_ROOM:
            scaled = km * scale  # (in place after this: millions of arcs at national)
            np.rint(scaled, out=scaled)
            cost = scaled.astype(np.int64)
            del scaled
            if bonus:
                cost -= kept * bonus
            return cost, scale
    raise OverflowError(f"distances up to {longest} km are too long to route")


def crowded_places(place: np.ndarray, point: np.ndarray, supply: np.ndarray,
                   capacity: np.ndarray) -> np.ndarray | None:
    """Places whose households cannot all fit in the points they reach together, or None
    if everyone fits: the source side of a minimum cut (Hall's condition fails there)."""
    n_place, n_point = len(supply), len(capacity)
    source, sink = n_place + n_point, n_place + n_point + 1
    flow = max_flow.SimpleMaxFlow()
    big = int(supply.sum()) + 1
    flow.add_arcs_with_capacity(
        np.concatenate([np.full(n_place, source), place, n_place + np.arange(n_point)]),
        np.concatenate([np.arange(n_place), n_place + point, np.full(n_point, sink)]),
        np.concatenate([supply, np.full(len(place), big), np.maximum(capacity, 0)]
                       ).astype(np.int64))
    if flow.solve(source, sink) != flow.OPTIMAL or flow.optimal_flow() >= supply.sum():
        return None
    side = np.asarray(flow.get_source_side_min_cut(), np.int64)
    crowded = np.zeros(n_place, bool)
    crowded[side[side < n_place]] = True
    return crowded & (supply > 0)
