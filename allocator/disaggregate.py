"""From counts per unit back to named households, with ties broken from the seed.

Within a site every household is identical for all four stages, and within a
lot group every lot suits every household at the same cost, so which household
gets which of the counted devices is a tie. Ties follow a seeded random order
of the household ids: the same folder and seed always give the same rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from ortools.graph.python import min_cost_flow

from allocator.aggregate import Units
from allocator.ordering import order_by
from allocator.problem import Problem


def tie_rank(problem: Problem) -> np.ndarray:
    """A seeded random rank per household that depends only on the ids and the seed."""
    n = len(problem.hh_id)
    # Arrow sorts UTF-8 bytes, which is code point order, as numpy's str sort.
    by_id = pc.sort_indices(problem.hh_id).to_numpy()
    rank = np.empty(n, np.int64)
    rank[by_id] = np.random.default_rng(int(problem.policy.seed) % 2**64).permutation(n)
    return rank


def served_households(units: Units, take: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """The first take[u] households of each unit in tie order."""
    members = np.flatnonzero(units.hh_unit >= 0)
    members = members[order_by(units.hh_unit[members], rank[members])]
    unit = units.hh_unit[members]
    start = np.searchsorted(unit, np.arange(len(units)))
    position = np.arange(len(members)) - start[unit]
    return members[position < take[unit]]


def assign_points(problem: Problem, units: Units, take: np.ndarray, send: np.ndarray,
                  rank: np.ndarray) -> np.ndarray:
    """Point of each household (-1 if unserved) from a solution of the model.

    For sites, households of a place share a home, so the counted handovers per
    (place, point) go to them in tie order. For classes (when the exact distance
    stage could not run), see `route_classes`.
    """
    if not units.by_site:
        return route_classes(problem, units, take, send, rank)
    served = served_households(units, take, rank)
    point_of = np.full(len(problem.hh_id), -1, np.int64)
    place = units.place[units.hh_unit[served]]
    served = served[order_by(place, rank[served])]
    points = np.repeat(units.pp_point, send)
    if len(points) != len(served) or \
            not np.array_equal(np.repeat(units.pp_place, send), np.sort(place)):
        raise RuntimeError("handovers per place do not match households served")
    point_of[served] = points
    return point_of


def route_classes(problem: Problem, units: Units, take: np.ndarray, send: np.ndarray,
                  rank: np.ndarray) -> np.ndarray:
    """Serve take[k] households of each class k at points with room, least total distance.

    A min-cost flow (distances in whole millimetres) chooses both which
    households of each class are served and where: the exact distance optimum
    for these served counts per class, though not over every choice of counts.
    Households handed over at their kept point in the model (stage K2) are
    placed there first, so the routing keeps that stage's value.
    """
    point_of = np.full(len(problem.hh_id), -1, np.int64)
    take = take.copy()
    room = problem.point_capacity.copy()
    _serve_kept_points(problem, units, take, send, rank, point_of, room)
    members = np.flatnonzero((units.hh_unit >= 0) & (point_of < 0))
    members = members[take[units.hh_unit[members]] > 0]
    if not len(members):
        return point_of
    members = members[order_by(units.hh_unit[members], rank[members])]
    arcs = pd.DataFrame({"member": np.arange(len(members)),
                         "home": problem.hh_home[members]}).merge(
        pd.DataFrame({"home": problem.hp_home, "point": problem.hp_point, "km": problem.hp_km}),
        on="home").sort_values(["member", "point"], kind="stable")
    n_unit, n_member, n_point = len(units), len(members), len(problem.point_id)
    member_node = n_unit + np.arange(n_member)
    point_node = n_unit + n_member + np.arange(n_point)
    sink = n_unit + n_member + n_point
    flow = min_cost_flow.SimpleMinCostFlow()
    tails = np.concatenate([units.hh_unit[members], member_node[arcs["member"].to_numpy()],
                            point_node])
    heads = np.concatenate([member_node, point_node[arcs["point"].to_numpy()],
                            np.full(n_point, sink)])
    caps = np.concatenate([np.ones(n_member + len(arcs), np.int64), room])
    costs = np.concatenate([np.zeros(n_member, np.int64),
                            np.rint(arcs["km"].to_numpy() * 1e6).astype(np.int64),
                            np.zeros(n_point, np.int64)])
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.zeros(sink + 1, np.int64)
    supplies[:n_unit] = take
    supplies[sink] = -int(take.sum())
    flow.set_nodes_supplies(np.arange(sink + 1), supplies)
    if flow.solve() != flow.OPTIMAL:
        raise RuntimeError("no routing of served households to points within capacity")
    used = flow.flows(n_member + np.arange(len(arcs))) > 0
    point_of[members[arcs["member"].to_numpy()[used]]] = arcs["point"].to_numpy()[used]
    return point_of


def _serve_kept_points(problem: Problem, units: Units, take: np.ndarray, send: np.ndarray,
                       rank: np.ndarray, point_of: np.ndarray, room: np.ndarray) -> None:
    """Send the model's count of each kept place's households to its kept point, in tie order.

    All households of such a place share the kept point, so any of its served ones
    will do. Updates point_of, and takes them off `take` and `room`.
    """
    kept = units.place_keep_point[units.pp_place]
    at_kept = np.flatnonzero((kept >= 0) & (kept == units.pp_point) & (send > 0))
    if not len(at_kept):
        return
    served = served_households(units, take, rank)
    place = units.place[units.hh_unit[served]]
    served = served[order_by(place, rank[served])]
    place = units.place[units.hh_unit[served]]
    start = np.searchsorted(place, units.pp_place[at_kept])
    chosen = np.concatenate([served[a:a + n] for a, n in
                             zip(start.tolist(), send[at_kept].tolist())])
    point_of[chosen] = np.repeat(units.pp_point[at_kept], send[at_kept])
    np.subtract.at(take, units.hh_unit[chosen], 1)
    np.subtract.at(room, units.pp_point[at_kept], send[at_kept])


def assign_lots(problem: Problem, give: np.ndarray, point_of: np.ndarray,
                rank: np.ndarray) -> np.ndarray:
    """Lot of each served household from devices sent along each lot route.

    In each lot group the first households (in tie order) take the devices of
    lots kept to their commune; the rest take devices from their group's hub.
    """
    routes = problem.routes
    lot_of = np.full(len(problem.hh_id), -1, np.int64)
    served = np.flatnonzero(point_of >= 0)
    group = problem.hh_group[served]
    order = order_by(group, rank[served])
    served, group = served[order], group[order]
    n_groups = len(problem.group_commune)
    position = np.arange(len(served)) - np.searchsorted(group, group, side="left")
    direct = routes.node >= routes.n_hubs
    direct_count = np.bincount(routes.node[direct] - routes.n_hubs, weights=give[direct],
                               minlength=n_groups).astype(np.int64)
    takes_direct = position < direct_count[group]
    direct_lots = np.repeat(routes.lot[direct], give[direct])
    hub_lots = np.repeat(routes.lot[~direct], give[~direct])
    via_hub = served[~takes_direct]
    hub_of = routes.group_hub[group[~takes_direct]]
    via_hub = via_hub[np.argsort(hub_of, kind="stable")]
    expected_hubs = np.repeat(routes.node[~direct], give[~direct])
    if len(direct_lots) != int(takes_direct.sum()) or len(hub_lots) != len(via_hub) or \
            not np.array_equal(np.sort(hub_of), expected_hubs):
        raise RuntimeError("devices given do not match households served per lot group")
    lot_of[served[takes_direct]] = direct_lots
    lot_of[via_hub] = hub_lots
    return lot_of
