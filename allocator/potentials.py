"""What one more place at each point is worth to a routing: the capacity prices of stage 3.

In a least-distance routing of a fixed set of households, a point with room prices
at 0. A full point prices at the cheapest chain of moves that frees one place there:
move a household handed over at p to another point q its home reaches, at
km(home, q) - km(home, p), then from q on if q is full too, until a point with room
takes it. These are shortest paths on the points, found by Bellman-Ford from the
points with room; only full points need edges, so the graph stays small. For the
routing they come from, every household is at its cheapest point (km + price), so
they are exact capacity duals: the distance is sum of cheapest - price . capacity.
"""

from __future__ import annotations

import numpy as np


def capacity_prices(arc_place: np.ndarray, arc_point: np.ndarray, arc_km: np.ndarray,
                    flow: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Price per point (km) for a routing `flow` on arcs (place -> point), sorted by place."""
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
        return np.zeros(n_point)
    start = np.searchsorted(arc_place, arc_place[used], side="left")
    end = np.searchsorted(arc_place, arc_place[used], side="right")
    degree = end - start
    source = np.repeat(used, degree)
    target = np.repeat(start, degree) + np.arange(degree.sum()) - \
        np.repeat(np.cumsum(degree) - degree, degree)
    p, q = arc_point[source], arc_point[target]
    move = p != q
    p, q, w = p[move], q[move], (arc_km[target] - arc_km[source])[move]
    # The cheapest move per (p, q) pair of points.
    pair = p.astype(np.int64) * n_point + q
    order = np.lexsort((w, pair))
    first = order[np.r_[True, pair[order][1:] != pair[order][:-1]]] if len(order) else order
    p, q, w = p[first], q[first], w[first]
    for _ in range(int(full.sum()) + 1):
        candidate = np.full(n_point, np.inf)
        np.minimum.at(candidate, p, w + price[q])
        new = np.minimum(price, np.maximum(candidate, 0.0))
        if np.array_equal(new, price):
            break
        price = new
    return price
