"""Households of chosen homes sent to points within capacity at least total distance.

Most households go to their nearest point, and an optimal routing sends a household
past its nearest point only by as much as some full point is worth (its capacity
price). So the flow is solved on short detours first, then every arc left out is
priced: if none would shorten the routing at the routing's own prices, the flow is
optimal over all arcs; else those arcs join and it is solved again.

Distances are whole micrometres in the flow (whole millimetres where stage K2's
households must come first), so rounding moves the total by well under a metre.
"""

from __future__ import annotations

import numpy as np
from ortools.graph.python import max_flow

from allocator.point_flow import to_points
from allocator.potentials import capacity_prices

FIRST_DETOUR_KM = 0.5
_INT64_ROOM = 2**61


def least_routing(place: np.ndarray, point: np.ndarray, km: np.ndarray, supply: np.ndarray,
                  capacity: np.ndarray, kept: np.ndarray) -> np.ndarray | None:
    """Flow per arc (place -> point, arcs sorted by place) sending every household of
    `supply` (per place) within `capacity`; arcs marked `kept` are filled first.

    None if the households cannot all be sent.
    """
    if not supply.any():
        return np.zeros(len(place), np.int64)
    cost, scale = _integer_costs(km, kept, len(supply) + len(capacity) + 1, len(capacity))
    has = supply[place] > 0
    nearest = np.full(len(supply), np.inf)
    np.minimum.at(nearest, place[has], cost[has])
    detour = cost - nearest[place]
    window = FIRST_DETOUR_KM * scale
    active = has & ((detour <= window) | kept)
    while True:
        flow = _restricted(place, point, supply, cost, capacity, active)
        if flow is None:
            if active[has].all():
                return None
            window *= 4  # too few arcs to fit everyone: widen the detours
            active |= has & (detour <= window)
            continue
        arcs = np.flatnonzero(active)
        price = capacity_prices(place[arcs], point[arcs], cost[arcs].astype(float), flow[arcs],
                                capacity)
        reach = np.full(len(supply), np.inf)
        np.minimum.at(reach, place[arcs], cost[arcs] + price[point[arcs]])
        shorter = has & ~active & (cost + price[point] < reach[place] - 0.5)
        if not shorter.any():
            return flow
        active |= shorter


def _restricted(place: np.ndarray, point: np.ndarray, supply: np.ndarray, cost: np.ndarray,
                capacity: np.ndarray, active: np.ndarray) -> np.ndarray | None:
    """The least-cost flow on the active arcs (per arc, all arcs), None if none fits.

    Places that are settled before the flow (see below) fill their point first; the
    flow then holds only the places that choose.
    """
    arcs = np.flatnonzero(active)
    if not len(arcs):
        return None
    # A point that could take every household with an active arc to it is never full:
    # whoever has it nearest goes there in some least-cost flow, and so do places
    # with one active arc, which have no choice.
    inflow = np.bincount(point[arcs], weights=supply[place[arcs]], minlength=len(capacity))
    first = np.zeros(len(supply), np.int64) - 1
    order = arcs[np.lexsort((cost[arcs], place[arcs]))]
    starts = np.flatnonzero(np.r_[True, place[order][1:] != place[order][:-1]])
    first[place[order[starts]]] = order[starts]
    degree = np.bincount(place[arcs], minlength=len(supply))
    nearest = first[place[arcs]] == arcs
    roomy = inflow[point[arcs]] <= capacity[point[arcs]]
    settled = arcs[nearest & ((degree[place[arcs]] == 1) | roomy)]
    is_settled = np.zeros(len(supply), bool)
    is_settled[place[settled]] = True
    room = capacity.astype(np.int64) - np.bincount(
        point[settled], weights=supply[place[settled]], minlength=len(capacity)).astype(np.int64)
    if (room < 0).any():
        return None
    choose = arcs[~is_settled[place[arcs]]]
    flow = np.zeros(len(place), np.int64)
    flow[settled] = supply[place[settled]]
    if len(choose):
        places, local = np.unique(place[choose], return_inverse=True)
        sent = to_points(local.ravel(), point[choose], supply[places], cost[choose], room,
                         everyone=True)
        if sent is None:
            return None
        flow[choose] = sent
    return flow


def _integer_costs(km: np.ndarray, kept: np.ndarray, n_nodes: int,
                   n_points: int) -> tuple[np.ndarray, float]:
    """Arc costs as integers: micrometres, or millimetres when kept arcs need a bonus.

    The solver's cost scaling multiplies costs by the node count, which must stay in
    64 bits. A kept arc's bonus exceeds any chain of moves between points (at most two
    per point), so the flow keeps as many households at their kept points as it can.
    """
    longest = float(km.max(initial=0.0))
    for scale in (1e9, 1e6, 1e3):
        cost = np.rint(km * scale).astype(np.int64)
        top = int(cost.max(initial=0)) + 1
        bonus = (2 * n_points + 1) * top if kept.any() else 0
        if (top + bonus) * n_nodes < _INT64_ROOM:
            return cost - kept * bonus, scale
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
