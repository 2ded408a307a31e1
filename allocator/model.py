"""The aggregated allocation model, one named function per constraint.

Variables (all integer):
- give[r]:     devices of a lot sent along route r (to a hub or a lot group, see compat.py);
- pass[g]:     devices passed from lot group g's hub on to the group;
- take[u]:     households of unit u served;
- send[s, p]:  households setting out from place s served at point p;
- floor[c]:    served households of commune c counted towards its fairness floor.

Without the budget row this is a network flow (lots -> hubs -> lot groups ->
units -> places -> points), which is why the solver proves optimality quickly. With
units = classes the model is exact for stages 0-2; with units = sites it is
exact for stage 3 as well. Any integer solution turns into a per-household
allocation: within a lot group every compatible lot suits every household, and
from a place every household reaches every listed point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import gcd

import numpy as np

from allocator.aggregate import Units
from allocator.check import pair_lookup
from allocator.compat import route_of
from allocator.milp import INF, LpResult, Milp
from allocator.problem import Problem


@dataclass
class AllocationModel:
    milp: Milp
    give: np.ndarray   # column of each lot route of the problem
    passed: np.ndarray  # column of each lot group (hub -> group)
    take: np.ndarray   # column of each unit
    send: np.ndarray   # column of each (place, point) pair of the units
    floor: np.ndarray  # column of each commune's floor variable (empty if no floor)
    cost_unit: int     # costs in the model are in multiples of this many VND
    budget_row: int
    # Linear relaxations solved by a stage (stage -> LP, in the order solved) whose prices
    # or basis a later stage reuses: stage 2's, for stage 3's fixing, and on a huge model
    # the last one's basis for the next stage's LP (solve._from_relaxation keeps them).
    relaxations: dict[int, LpResult] = field(default_factory=dict)


def build_model(problem: Problem, units: Units) -> AllocationModel:
    """Variables and the hard constraints of a feasible allocation."""
    milp = Milp()
    routes = problem.routes
    group_size = np.bincount(units.group, weights=units.count,
                             minlength=len(problem.group_commune)).astype(np.int64)
    node_size = np.concatenate([np.bincount(routes.group_hub, weights=group_size,
                                            minlength=routes.n_hubs), group_size])
    give = milp.add_vars(0, np.minimum(problem.lot_quantity[routes.lot],
                                       node_size[routes.node]), len(routes.lot))
    passed = milp.add_vars(0, group_size, len(group_size))
    take = milp.add_vars(0, units.count, len(units))
    place_size = np.bincount(units.place, weights=units.count,
                             minlength=units.n_places).astype(np.int64)
    send = milp.add_vars(0, np.minimum(place_size[units.pp_place],
                                       problem.point_capacity[units.pp_point]),
                         len(units.pp_place))
    cost_unit = _cost_unit(problem)
    model = AllocationModel(milp, give, passed, take, send, np.zeros(0, np.int64), cost_unit,
                            -1)
    add_hub_balance(model, problem)
    add_lot_group_balance(model, problem, units)
    add_place_balance(model, units)
    add_stock_limit(model, problem)
    add_capacity_limit(model, problem, units)
    add_budget_limit(model, problem)
    if problem.policy.min_commune_share > 0:
        add_fairness_floor(model, problem, units)
    return model


def add_hub_balance(model: AllocationModel, problem: Problem) -> None:
    """Devices into a hub (open lots for one status and needs) = devices passed on to groups."""
    routes = problem.routes
    to_hub = routes.node < routes.n_hubs
    rows = np.concatenate([routes.node[to_hub], routes.group_hub])
    cols = np.concatenate([model.give[to_hub], model.passed])
    vals = np.concatenate([np.ones(int(to_hub.sum())), -np.ones(len(model.passed))])
    model.milp.add_rows(rows, cols, vals, 0.0, 0.0, routes.n_hubs)


def add_lot_group_balance(model: AllocationModel, problem: Problem, units: Units) -> None:
    """Devices reaching a lot group (from its hub or kept-to-commune lots) = households served."""
    routes = problem.routes
    direct = routes.node >= routes.n_hubs
    n = len(problem.group_commune)
    rows = np.concatenate([routes.node[direct] - routes.n_hubs, np.arange(n), units.group])
    cols = np.concatenate([model.give[direct], model.passed, model.take])
    vals = np.concatenate([np.ones(int(direct.sum()) + n), -np.ones(len(model.take))])
    model.milp.add_rows(rows, cols, vals, 0.0, 0.0, n)


def add_place_balance(model: AllocationModel, units: Units) -> None:
    """Households served from a place = handovers at the points that place reaches."""
    rows = np.concatenate([units.pp_place, units.place])
    cols = np.concatenate([model.send, model.take])
    vals = np.concatenate([np.ones(len(model.send)), -np.ones(len(model.take))])
    model.milp.add_rows(rows, cols, vals, 0.0, 0.0, units.n_places)


def add_stock_limit(model: AllocationModel, problem: Problem) -> None:
    """No lot gives more devices than its quantity."""
    model.milp.add_rows(problem.routes.lot, model.give, 1.0, -INF, problem.lot_quantity,
                        len(problem.lot_id))


def add_capacity_limit(model: AllocationModel, problem: Problem, units: Units) -> None:
    """No point hands over more devices than its capacity this round."""
    model.milp.add_rows(units.pp_point, model.send, 1.0, -INF, problem.point_capacity,
                        len(problem.point_id))


def add_budget_limit(model: AllocationModel, problem: Problem) -> None:
    """Total public cost stays within the round's budget."""
    model.budget_row = model.milp.add_row(model.give, problem.routes.cost / model.cost_unit, -INF,
                                          float(problem.budget // model.cost_unit))


def add_fairness_floor(model: AllocationModel, problem: Problem, units: Units) -> None:
    """floor[c] <= min(served_c, floor(share x eligible_c)), so stage 0 can maximise it."""
    target = problem.floor_target()
    model.floor = model.milp.add_vars(0, target, len(target))
    rows = np.concatenate([np.arange(len(target)), units.commune])
    cols = np.concatenate([model.floor, model.take])
    vals = np.concatenate([np.ones(len(target)), -np.ones(len(model.take))])
    model.milp.add_rows(rows, cols, vals, -INF, 0.0, len(target))


def stage_objective(model: AllocationModel, problem: Problem, units: Units,
                    stage: int) -> tuple[np.ndarray, bool]:
    """Objective coefficients of a stage, and whether it is maximised."""
    c = np.zeros(model.milp.n_vars)
    if stage in KEEP_STAGES:
        c[keep_columns(model, problem, units, stage)] = 1.0
        return c, True
    if stage == 0:
        c[model.floor] = 1.0
        return c, True
    if stage == 1:
        c[model.take] = units.weight
        return c, True
    if stage == 2:
        c[model.give] = problem.routes.cost / model.cost_unit
        return c, False
    c[model.send] = units.pp_km
    return c, False


KEEP_SERVED, KEEP_POINT, KEEP_LOT = -3, -2, -1  # stages K1, K2, K3, solved before stage 0
KEEP_STAGES = (KEEP_SERVED, KEEP_POINT, KEEP_LOT)


def keep_columns(model: AllocationModel, problem: Problem, units: Units,
                 stage: int) -> np.ndarray:
    """Columns counting keep.csv households served (K1), at their point (K2), with their lot (K3).

    Kept households have lot groups (and hubs) of their own per kept lot, and places of
    their own per kept point (see `build_problem`), so each count is a plain sum of takes,
    of sends to the place's kept point, or of gives of the group's or hub's kept lot.
    """
    if stage == KEEP_SERVED:
        return model.take[problem.group_keep_lot[units.group] >= 0]
    if stage == KEEP_POINT:
        kept = units.place_keep_point[units.pp_place]
        return model.send[(kept >= 0) & (kept == units.pp_point)]
    routes = problem.routes
    hub_keep_lot = np.full(routes.n_hubs, -1, np.int64)
    hub_keep_lot[routes.group_hub] = problem.group_keep_lot
    node_keep_lot = np.concatenate([hub_keep_lot, problem.group_keep_lot])
    kept = node_keep_lot[routes.node]
    return model.give[(kept >= 0) & (kept == routes.lot)]


def keep_bound(problem: Problem, units: Units, stage: int, served: int | None) -> int:
    """An upper bound on stage K1, K2 or K3 by counting; `served` is K1's optimum if known.

    K1 counts servable kept households; K2 and K3 count at most K1's optimum, and
    only households whose kept point is in reach (at most its capacity per point),
    or whose kept lot suits (at most its quantity per lot). A start that reaches
    this bound is optimal.
    """
    kept = units.hh_unit[problem.keep_hh] >= 0
    household = problem.keep_hh[kept]
    if served is None:
        served = int(kept.sum())
    if stage == KEEP_SERVED:
        return served
    if stage == KEEP_POINT:
        point = problem.keep_point[kept]
        fits = pair_lookup(problem.hp_home, problem.hp_point, problem.hh_home[household],
                           point) >= 0
        limit, per = problem.point_capacity, np.bincount(point[fits],
                                                         minlength=len(problem.point_id))
    else:
        lot = problem.keep_lot[kept]
        fits = route_of(problem.routes, problem.hh_group[household], lot) >= 0
        limit, per = problem.lot_quantity, np.bincount(lot[fits], minlength=len(problem.lot_id))
    return min(served, int(np.minimum(per, limit).sum()))


def fix_stage(model: AllocationModel, problem: Problem, units: Units, stage: int,
              value: float) -> None:
    """Keep a finished stage at its optimum while later stages are optimised.

    Stages K1-K3 and 0-2 have integer objectives, so a half-unit margin keeps exactly the
    optimal integer value while tolerating floating-point noise.
    """
    c, maximize = stage_objective(model, problem, units, stage)
    cols = np.flatnonzero(c)
    if stage == 3 or not len(cols):
        return
    if maximize:
        model.milp.add_row(cols, c[cols], value - 0.5, INF)
    else:
        model.milp.add_row(cols, c[cols], -INF, value + 0.5)


def solution_vector(model: AllocationModel, problem: Problem, units: Units,
                    lot_of: np.ndarray, point_of: np.ndarray) -> np.ndarray:
    """The model's variable values for a per-household allocation (used as a solver hint)."""
    x = np.zeros(model.milp.n_vars)
    served = np.flatnonzero(lot_of >= 0)
    group = problem.hh_group[served]
    give = route_of(problem.routes, group, lot_of[served])
    unit = units.hh_unit[served]
    send = pair_lookup(units.pp_place, units.pp_point, units.place[unit], point_of[served])
    if (give < 0).any() or (send < 0).any() or (unit < 0).any():
        raise ValueError("allocation uses a pair the model does not have")
    x[model.give] = np.bincount(give, minlength=len(model.give))
    via_hub = problem.routes.node[give] < problem.routes.n_hubs
    x[model.passed] = np.bincount(group[via_hub], minlength=len(model.passed))
    x[model.take] = np.bincount(unit, minlength=len(model.take))
    x[model.send] = np.bincount(send, minlength=len(model.send))
    if len(model.floor):
        per_commune = np.bincount(problem.hh_commune[served],
                                  minlength=len(problem.commune_code))
        x[model.floor] = np.minimum(per_commune, problem.floor_target())
    return x


def _cost_unit(problem: Problem) -> int:
    """The largest amount dividing every public cost, so budget rows hold small numbers."""
    g = 0
    for cost in np.unique(problem.routes.cost):
        g = gcd(g, int(cost))
    return max(g, 1)
