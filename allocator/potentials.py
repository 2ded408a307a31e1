"""What a place at each point is worth to a routing: the capacity prices of stage 3.

In a least-distance routing of a fixed set of households, a point with room prices
at 0. A full point has two prices, and every price between them is an exact
capacity dual too (every household is at its cheapest point, km + price, so the
distance is sum of cheapest - price . capacity):

- what one place less would cost (`capacity_prices`): the cheapest chain of moves
  that frees one place there: move a household handed over at p to another point q
  its home reaches, at km(home, q) - km(home, p), then from q on if q is full too,
  until a point with room takes it. These are shortest paths on the points, found by
  Bellman-Ford from the points with room.
- what one place more would save (`room_prices`): the best chain of moves into p,
  a household of q moving to p and q's freed place taken the same way, down to
  a point with room. Longest paths, found by Bellman-Ford from 0.

Only moves of households that are routed somewhere need edges, so the graph stays
small.
"""

from __future__ import annotations

import numpy as np

from allocator.ordering import runs


def capacity_prices(arc_place: np.ndarray, arc_point: np.ndarray, arc_km: np.ndarray,
                    flow: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Price per point (km), what one place less would cost, for a routing `flow` on arcs
    (place -> point), sorted by place."""
    n_point = len(capacity)
    load = np.bincount(arc_point, weights=flow, minlength=n_point)
    full = load >= capacity
    # Full points no move can relieve are worth more than any detour; they start there
    # and the moves between them set their differences, so every price stays exact.
    # A detour is a difference of two arc costs, and kept arcs cost less than nothing
    # in routing.py (their bonus), so the cap spans max - min, not just max.
    spread = float(arc_km.max(initial=0.0)) - min(float(arc_km.min(initial=0.0)), 0.0)
    price = np.where(full, 2.0 * spread + 1.0, 0.0)
    used = np.flatnonzero((flow > 0) & full[arc_point])
    if not len(used):
        return price  # full points hold no one (no room at all): nothing relieves them
    p, q, w = _moves(arc_place, arc_point, arc_km, used, n_point)
    for _ in range(int(full.sum()) + 1):
        candidate = np.full(n_point, np.inf)
        np.minimum.at(candidate, p, w + price[q])
        new = np.minimum(price, np.maximum(candidate, 0.0))
        if np.array_equal(new, price):
            break
        price = new
    return price


def room_prices(arc_place: np.ndarray, arc_point: np.ndarray, arc_km: np.ndarray,
                flow: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Price per point (km), what one place more would save, for a routing `flow` on arcs
    (place -> point), sorted by place: the least exact capacity duals."""
    n_point = len(capacity)
    load = np.bincount(arc_point, weights=flow, minlength=n_point)
    full = load >= capacity
    price = np.zeros(n_point)
    used = np.flatnonzero(flow > 0)
    if not len(used) or not full.any():
        return price
    p, q, w = _moves(arc_place, arc_point, arc_km, used, n_point, into=full)
    for _ in range(int(full.sum()) + 1):
        candidate = np.zeros(n_point)
        np.maximum.at(candidate, q, price[p] - w)
        new = np.where(full, candidate, 0.0)
        if np.array_equal(new, price):
            break
        price = new
    return price


def _moves(arc_place: np.ndarray, arc_point: np.ndarray, arc_km: np.ndarray,
           used: np.ndarray, n_point: int, into: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cheapest move per pair of points (p, q): a household on a `used` arc to p goes
    to q, another point its home reaches (one of `into` if given); its detour in km."""
    place_start, place_arcs = runs(arc_place, int(arc_place.max(initial=-1)) + 1)
    if into is not None:  # only homes with an arc into one of them can move there
        reaches = np.zeros(len(place_arcs), bool)
        reaches[arc_place[into[arc_point]]] = True
        used = used[reaches[arc_place[used]]]
    degree = place_arcs[arc_place[used]]
    start = place_start[arc_place[used]]
    source = np.repeat(used, degree)
    target = np.repeat(start, degree) + np.arange(degree.sum()) - \
        np.repeat(np.cumsum(degree) - degree, degree)
    p, q = arc_point[source], arc_point[target]
    move = p != q
    if into is not None:
        move &= into[q]
    p, q, w = p[move], q[move], (arc_km[target] - arc_km[source])[move]
    pair = p.astype(np.int64) * n_point + q
    order = np.lexsort((w, pair))
    first = order[np.r_[True, pair[order][1:] != pair[order][:-1]]] if len(order) else order
    return p[first], q[first], w[first]
