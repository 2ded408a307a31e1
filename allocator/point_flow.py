"""Households sent from where they live to points with room, at least cost: a min-cost
flow used by the greedy start and by the re-route between keep stages."""

from __future__ import annotations

import numpy as np
from ortools.graph.python import min_cost_flow


def to_points(tail: np.ndarray, point: np.ndarray, supply: np.ndarray, cost: np.ndarray,
              room: np.ndarray, *, everyone: bool) -> np.ndarray | None:
    """Flow on each arc `tail[i] -> point[i]` (cost `cost[i]` a household), sources holding
    `supply` households and points `room` places each.

    With `everyone`, every household must be sent (None if they cannot be); without,
    as many as room allows, at least cost among those.
    """
    n_source, n_point = len(supply), len(room)
    sink = n_source + n_point
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate([tail, n_source + np.arange(n_point)]),
        np.concatenate([n_source + point, np.full(n_point, sink)]),
        np.concatenate([supply[tail], np.maximum(room, 0)]).astype(np.int64),
        np.concatenate([cost, np.zeros(n_point, np.int64)]).astype(np.int64))
    supplies = np.zeros(sink + 1, np.int64)
    supplies[:n_source] = supply
    supplies[sink] = -int(supply.sum())
    flow.set_nodes_supplies(np.arange(sink + 1), supplies)
    status = flow.solve() if everyone else flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        return None
    return np.asarray(flow.flows(np.arange(len(tail))), np.int64)
