"""What the public-cost optimum leaves no choice about, by reduced costs of its linear relaxation.

After stages 0-2 every allocation still open to stage 3 costs exactly the stage 2
optimum C*. Take any row prices y of the stage 2 linear relaxation (the class model
with every finished stage held). For every x in the model's box that meets its rows,

    cost(x) >= L(y) + sum_j |rc_j| * (distance of x_j from the bound that minimises rc_j x_j)

where rc = c - A'y and L(y) is the bound those prices prove. So a column whose
|rc_j| exceeds C* - L(y) cannot leave that bound by one unit in any allocation
stage 3 may choose: it is fixed there. The bound is computed from the prices as
they are (signs clipped to the rows' finite sides, by lp_rounding.priced_bound), not
trusted from the solver's report, so it holds however the linear solve ended; a poor
price only fixes less.

On hcmc-universal this fixes all but 11,827 of 235,758 sites and serves 106,633
households for certain, so the distance stage works on a small part of the round.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.aggregate import Units
from allocator.check import pair_lookup
from allocator.lp_rounding import priced_bound
from allocator.milp import LpResult, SolveStatus, solve_lp
from allocator.model import AllocationModel, stage_objective
from allocator.ordering import runs
from allocator.problem import Problem


@dataclass
class Fixed:
    """Bounds of the class model's columns that every allocation stage 3 may choose meets."""

    lb: np.ndarray
    ub: np.ndarray
    lp_bound: float  # what the prices prove about the public cost (cost units)


def fixed_by_cost(model: AllocationModel, problem: Problem, classes: Units, c_star: float,
                  time_limit_s: float) -> Fixed:
    """Column bounds of the class model after reduced-cost fixing against C* (cost units)."""
    milp = model.milp
    lb, ub = np.concatenate(milp.lb), np.concatenate(milp.ub)
    c, _ = stage_objective(model, problem, classes, 2)
    milp.set_objective(c, False)
    lp = model.relaxations.get(2)
    if lp is not None and len(lp.duals) <= milp.n_rows:
        # Stage 2's own relaxation: any row prices prove a bound, and rows added since
        # (stage 2's, held at C*) are priced at 0. They leave its optimum as it was, so
        # these prices are still optimal and fix as much (national: 6.5 s saved).
        lp = LpResult(lp.status, lp.values, lp.objective,
                      np.r_[lp.duals, np.zeros(milp.n_rows - len(lp.duals))])
    else:
        # Without presolve: the class model is a network flow and a few rows, and HiGHS's
        # presolve costs more than it saves (hcmc-universal: 0.30 s of CPU against 0.52 s).
        lp = solve_lp(milp, max(time_limit_s, 0.1), presolve=False)
    if lp.status is not SolveStatus.OPTIMAL:
        return Fixed(lb, ub, float("-inf"))
    # The stages' own price bound (lp_rounding.py), floating-point error allowed for;
    # minimising, rc_j > 0 holds column j at its lower bound there and rc_j < 0 at its
    # upper. The room's own margin allows for the error in each rc_j and in C*.
    bound, rc = priced_bound(milp, lp)
    room = c_star - bound + 1e-6 + 1e-9 * abs(c_star)
    if room < 0:  # the prices claim more than the optimum: numerical trouble, fix nothing
        return Fixed(lb, ub, bound)
    at_lower, at_upper = rc > room, -rc > room
    ub, lb = np.where(at_lower, lb, ub), np.where(at_upper, ub, lb)
    return Fixed(lb, ub, bound)


@dataclass
class SiteBounds:
    """What the fixing means for sites: households served for certain, and open arcs."""

    site_class: np.ndarray  # class of each site
    forced: np.ndarray      # households of each site served in every allocation left
    free: np.ndarray        # sites whose count served is still open
    arc_open: np.ndarray    # per (place, point) pair of the sites: may carry handovers


def site_bounds(model: AllocationModel, classes: Units, sites: Units, fixed: Fixed) -> SiteBounds:
    """Carry the class bounds to sites.

    Summing a site allocation per class gives a class allocation with the same stage
    values, so a class fixed at none or at all of its households fixes every site of it,
    and a (class place, point) pair fixed at zero closes that pair for its sites.
    """
    members = np.flatnonzero(sites.hh_unit >= 0)
    site_class = np.zeros(len(sites), np.int64)
    site_class[sites.hh_unit[members]] = classes.hh_unit[members]
    take_lb, take_ub = fixed.lb[model.take][site_class], fixed.ub[model.take][site_class]
    full = (take_lb == take_ub) & (take_ub > 0)
    forced = np.where(full, sites.count, 0)
    free = np.flatnonzero(take_lb < take_ub)
    class_place = np.zeros(sites.n_places, np.int64)
    class_place[sites.place] = classes.place[site_class]
    pair = _class_pairs(classes, sites, class_place)
    send_ub = fixed.ub[model.send]
    arc_open = (pair < 0) | (send_ub[np.maximum(pair, 0)] > 0)
    return SiteBounds(site_class, forced, free, arc_open)


def _class_pairs(classes: Units, sites: Units, class_place: np.ndarray) -> np.ndarray:
    """Row of each site pair (home, point) in the class model's pairs (class place of
    the home, point), -1 if absent.

    A home reaches the points of its class place, in the same order, unless it is held to
    its kept point: so where a home's run of pairs is as long as its class place's, its
    rows are that run's (checked point by point; national: 6.4 million pairs in 0.06 s,
    where a sorted search took 0.6 s). The other pairs are searched.
    """
    c_start, c_len = runs(classes.pp_place, classes.n_places)
    s_start, s_len = runs(sites.pp_place, sites.n_places)
    # Per home, from its own run's rows to its class place's (by home, then repeated).
    alike = c_len[class_place] == s_len
    shift = c_start[class_place] - s_start
    same = np.repeat(alike, s_len)
    rows = np.where(same, np.arange(len(sites.pp_place)) + np.repeat(shift, s_len), 0)
    if len(classes.pp_point):
        same &= classes.pp_point[rows] == sites.pp_point
    other = np.flatnonzero(~same)
    rows[other] = pair_lookup(classes.pp_place, classes.pp_point,
                              class_place[sites.pp_place[other]], sites.pp_point[other])
    return rows

