"""Better starts for keep stages K2 and K3: the same households served, routed again by a flow.

A solver's optimum of stage K1 (or K2) serves the right number of households per
class but routes them anyhow: to any point in reach, with any lot that suits. With
the households served per class held, the point side of the model is a plain
transportation problem, and so is the lot side apart from the budget row. A
min-cost flow then routes them to as many kept points (K2), or gives as many
kept lots (K3), as those served counts allow. The result keeps every finished
stage (served counts, and with them weight and fairness, do not change), so it is
a valid start; when it reaches the counting bound the stage is proven at once.
"""

from __future__ import annotations

import numpy as np
from ortools.graph.python import min_cost_flow

from allocator.aggregate import Units
from allocator.model import KEEP_LOT, KEEP_POINT, AllocationModel, keep_columns
from allocator.point_flow import to_points
from allocator.problem import Problem


def rerouted(model: AllocationModel, problem: Problem, units: Units, stage: int,
             hint: np.ndarray) -> np.ndarray:
    """`hint` routed again for stage K2 (points) or K3 (lots); the hint itself if no better."""
    if stage == KEEP_POINT:
        x = _points(model, problem, units, hint)
    elif stage == KEEP_LOT:
        x = _lots(model, problem, units, hint)
    else:
        return hint
    columns = keep_columns(model, problem, units, stage)
    if x is None or x[columns].sum() <= hint[columns].sum():
        return hint
    return x


def _points(model: AllocationModel, problem: Problem, units: Units,
            hint: np.ndarray) -> np.ndarray | None:
    """Households served per place sent to points with room, most to their kept point."""
    take = np.rint(hint[model.take]).astype(np.int64)
    supply = np.bincount(units.place, weights=take, minlength=units.n_places).astype(np.int64)
    kept = units.place_keep_point[units.pp_place]
    moved = ((kept < 0) | (kept != units.pp_point)).astype(np.int64)
    sent = to_points(units.pp_place, units.pp_point, supply, moved,
                     np.asarray(problem.point_capacity, np.int64), everyone=True)
    if sent is None:
        return None
    x = np.rint(hint)
    x[model.send] = sent
    return x


def _lots(model: AllocationModel, problem: Problem, units: Units,
          hint: np.ndarray) -> np.ndarray | None:
    """Devices per lot group as served, from lots giving as many kept lots as the budget allows.

    The flow first maximises kept lots, then minimises the public cost among those; if
    even that overspends the budget row, no routing with as many kept lots fits and the
    hint stands.
    """
    routes = problem.routes
    n_lot, n_hub, n_group = len(problem.lot_id), routes.n_hubs, len(problem.group_commune)
    take = np.rint(hint[model.take]).astype(np.int64)
    demand = np.bincount(units.group, weights=take, minlength=n_group).astype(np.int64)
    source = n_lot + n_hub + n_group  # nodes: lots, hubs, lot groups, the source
    cost = routes.cost // model.cost_unit
    kept = np.zeros(len(routes.lot), bool)
    kept[np.searchsorted(model.give, keep_columns(model, problem, units, KEEP_LOT))] = True
    # A kept lot must be worth more than any saving in cost.
    weight = int(demand.sum()) * int(cost.max(initial=0)) + 1
    upper = np.concatenate(model.milp.ub)
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate([routes.lot, n_lot + routes.group_hub, np.full(n_lot, source)]),
        np.concatenate([n_lot + routes.node, n_lot + n_hub + np.arange(n_group),
                        np.arange(n_lot)]),
        np.concatenate([upper[model.give], upper[model.passed],
                        np.maximum(problem.lot_quantity, 0)]).astype(np.int64),
        np.concatenate([cost - weight * kept, np.zeros(n_group + n_lot, np.int64)]))
    supplies = np.zeros(source + 1, np.int64)
    supplies[n_lot + n_hub:source] = -demand
    supplies[source] = int(demand.sum())
    flow.set_nodes_supplies(np.arange(source + 1), supplies)
    if flow.solve() != flow.OPTIMAL:
        return None
    give = flow.flows(np.arange(len(routes.lot)))
    if int(give @ cost) > model.milp.row_ub_of(model.budget_row):
        return None
    x = np.rint(hint)
    x[model.give] = give
    x[model.passed] = flow.flows(len(routes.lot) + np.arange(n_group))
    return x
