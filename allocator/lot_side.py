"""The lot side of stage 3: who of the still-open sites is served, with which devices.

Stage 3 with the points left out: lots, hubs and lot groups (devices to households),
every finished stage held at its optimum, the fairness floor, and one column per
*free* site (one whose count served the reduced-cost fixing left open). Households
served for certain enter as constants. Distance enters only through the objective
(or the cuts) that distance.py puts on the site columns.

Two shapes:
- *by key*: free sites of one lot group and weight are alike for every row here, so
  the model chooses how many of them are served (integer, one per key) and continuous
  site columns share that count out. With a separable objective the cheapest go first,
  which is what `site_takes` computes exactly.
- *per site*: one integer column per free site, for objectives that are not separable
  (the cuts of distance.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.aggregate import Units
from allocator.fixing import Fixed, SiteBounds
from allocator.milp import Milp
from allocator.model import (
    KEEP_POINT,
    KEEP_SERVED,
    AllocationModel,
    add_budget_limit,
    add_fairness_floor,
    add_hub_balance,
    add_lot_group_balance,
    add_stock_limit,
    fix_stage,
)
from allocator.problem import Problem


@dataclass
class Lots:
    """Devices per lot route, passes per lot group and floors per commune of a solution."""

    give: np.ndarray
    passed: np.ndarray
    floor: np.ndarray


def class_lots(model: AllocationModel, x: np.ndarray) -> Lots:
    """The lot side of a class-model solution."""
    return Lots(np.rint(x[model.give]).astype(np.int64), x[model.passed], x[model.floor])


@dataclass
class LotSide:
    milp: Milp
    model: AllocationModel  # its `take` holds one column per key (or per free site)
    free: np.ndarray        # the free sites
    key_of: np.ndarray      # key of each free site
    take: np.ndarray        # column of each free site
    by_key: bool            # shaped by key (see the module's docstring), else per site
    stage_rows: np.ndarray  # the rows holding the finished stages at their optima
    own_rows: int           # the rows it was built with; rows after them are cuts

    def lots(self, x: np.ndarray) -> Lots:
        """The devices, passes and floors of a solution of this model."""
        return Lots(np.rint(x[self.model.give]).astype(np.int64), x[self.model.passed],
                    x[self.model.floor])

    def start(self, lots: Lots, site_take: np.ndarray) -> np.ndarray:
        """A solution in these columns: its lot side and households per site."""
        x = np.zeros(self.milp.n_vars)
        x[self.model.give] = lots.give
        x[self.model.passed] = lots.passed
        x[self.model.floor] = lots.floor
        x[self.model.take] = np.bincount(self.key_of, weights=site_take[self.free],
                                         minlength=len(self.model.take))
        x[self.take] = site_take[self.free]
        return x

    def close(self, sites: np.ndarray) -> None:
        """Free sites that may not be served (no point open to them)."""
        self._take_ub()[sites] = 0.0

    def _take_ub(self) -> np.ndarray:
        """Upper bounds of the site columns: the fourth block of columns by key (after
        devices, passes and counts), else the third (the counts are the site columns)."""
        return self.milp.ub[3 if self.by_key else 2]

    def site_takes(self, x: np.ndarray, site_cost: np.ndarray) -> np.ndarray:
        """Households served per free site from a solution: per site as solved, or by key
        with the cheapest sites first (what the continuous columns hold at a vertex,
        computed exactly so rounding never leaves a key one household short)."""
        chosen = np.rint(x[self.model.take]).astype(np.int64)
        if not self.by_key:
            return chosen
        return self.shared(chosen, site_cost)

    def mix_rows(self, model: Milp, columns: np.ndarray, x: np.ndarray) -> bool:
        """Add rows to `model` (this model on `columns`, sorted) holding, for each stage
        row and each of its coefficients, the total of the columns with that coefficient
        where `x` (a solution of this model) has it.

        A stage row then holds at x's value without a knapsack left in it: where a
        stage's optimum is one exact sum of weights or costs, the LP can meet it with a
        fractional mix that no integer point near it can (national's stage 3). False
        (and nothing added) if a stage row has a column outside `columns`."""
        rows, cols, vals = self.milp.entries()
        staged = np.isin(rows, self.stage_rows)
        rows, cols, vals = rows[staged], cols[staged], vals[staged]
        if not np.isin(cols, columns).all():
            return False
        classes, of = np.unique(np.stack([rows, vals]), axis=1, return_inverse=True)
        of = of.ravel()
        total = np.bincount(of, weights=x[cols], minlength=classes.shape[1])
        total = np.rint(total)  # (x is whole on these columns)
        model.add_rows(of, np.searchsorted(columns, cols), 1.0, total, total, len(total))
        return True

    def shared(self, chosen: np.ndarray, site_cost: np.ndarray) -> np.ndarray:
        """Households served per free site when each key serves `chosen` of them, the
        cheapest sites first (by key only)."""
        order = np.lexsort((np.arange(len(site_cost)), site_cost, self.key_of))
        size = self._take_ub()[order].astype(np.int64)
        key = self.key_of[order]
        before = np.cumsum(size) - size
        first = np.searchsorted(key, np.arange(len(chosen)))
        if len(key):
            before -= before[first][key]
        take = np.zeros(len(site_cost), np.int64)
        take[order] = np.clip(chosen[key] - before, 0, size)
        return take


def lot_side(problem: Problem, model: AllocationModel, sites: Units, bounds: SiteBounds,
             fixed: Fixed, optimum: dict[int, float], by_key: bool) -> LotSide:
    """The lot side over the free sites, every finished stage held (`optimum`: stage ->
    value), with the class model's fixed bounds on devices and floors."""
    free = bounds.free
    if by_key:
        keys, key_of = np.unique(np.stack([sites.group[free], sites.weight[free]]), axis=1,
                                 return_inverse=True)
        key_of = key_of.ravel()
        key_group, key_weight = keys[0].astype(np.int64), keys[1].astype(np.int64)
    else:
        key_of = np.arange(len(free))
        key_group, key_weight = sites.group[free], sites.weight[free]
    count = np.bincount(key_of, weights=sites.count[free], minlength=len(key_group))
    milp = Milp()
    give = milp.add_vars(fixed.lb[model.give], fixed.ub[model.give], len(model.give))
    passed = milp.add_vars(fixed.lb[model.passed], fixed.ub[model.passed], len(model.passed))
    chosen = milp.add_vars(0, count, len(count))
    take = chosen
    if by_key:
        take = milp.add_vars(0, sites.count[free], len(free), integer=False)
        milp.add_rows(np.concatenate([key_of, np.arange(len(count))]),
                      np.concatenate([take, chosen]),
                      np.concatenate([np.ones(len(take)), -np.ones(len(count))]), 0.0, 0.0,
                      len(count))
    part = Units(group=key_group, weight=key_weight, commune=problem.group_commune[key_group],
                 count=count.astype(np.int64), place=np.zeros(len(count), np.int64),
                 pp_place=np.zeros(0, np.int64), pp_point=np.zeros(0, np.int64),
                 pp_km=np.zeros(0), hh_unit=sites.hh_unit,
                 place_keep_point=np.zeros(0, np.int64), by_site=True)
    side = AllocationModel(milp, give, passed, chosen, np.zeros(0, np.int64),
                           np.zeros(0, np.int64), model.cost_unit, -1)
    forced = bounds.forced
    add_hub_balance(side, problem)
    add_lot_group_balance(side, problem, part)
    # Households served for certain take devices too: each group's row counts them.
    milp.row_lb[-1][:] = milp.row_ub[-1][:] = np.bincount(
        sites.group, weights=forced, minlength=len(problem.group_commune))
    add_stock_limit(side, problem)
    add_budget_limit(side, problem)
    milp.set_row_ub(side.budget_row, model.milp.row_ub_of(model.budget_row))
    if len(model.floor):
        add_fairness_floor(side, problem, part)
        milp.row_ub[-1][:] = np.bincount(sites.commune, weights=forced,
                                         minlength=len(problem.commune_code))
        milp.lb[-1][:] = fixed.lb[model.floor]
        milp.ub[-1][:] = fixed.ub[model.floor]
    held = {KEEP_SERVED: float(forced[problem.group_keep_lot[sites.group] >= 0].sum()),
            1: float(forced @ sites.weight)}
    first = milp.n_rows
    for stage, value in optimum.items():
        if stage not in (3, KEEP_POINT):  # K2 is on the point side: routings keep it
            fix_stage(side, problem, part, stage, value - held.get(stage, 0.0))
    return LotSide(milp, side, free, key_of, take, by_key, np.arange(first, milp.n_rows),
                   milp.n_rows)
