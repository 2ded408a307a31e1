"""Stage 3's linear relaxation with the capacity of the points that bind, and its rounding.

The price rounds (distance.py) bound stage 3 by one price per point at a time. The
linear relaxation of the whole stage, households routed to points within capacity,
bounds it at least as well as any such price, but on national it has 6.4 million arcs
and 1.7 million homes. Most of them do not matter: only a few hundred points fill up.
So, for a set B of points (those the best routing fills or prices):

- a home's households may go, at no limit, to its nearest point outside B, at that
  distance m (the *free* arc), or along an arc to a point of B shorter than m;
- the points of B keep their capacity; the others have none.

Every allocation maps into this model at no more than its distance (its households
at a point outside B cost at least m), so the model's LP optimum, and any bound its
prices prove (lp_rounding.priced_bound), bounds stage 3. Homes with no arc into B
shorter than m send everyone along the free arc: their households cost m each, a
term of the objective, and need no row. If the LP's optimum sends more households
to a point outside B than it holds, that point joins B and the LP is solved again.
Once none does, the optimum meets every capacity: it is the relaxation's own.

On national (B from the start's routing at 1,471,206 km, then joined twice), the
bound is 1,375,319.21 km, where six price rounds of the lot side's own relaxation
proved 1,375,318.6, and the LP's optimum, rounded (pool_rounding.py) and routed
exactly, is an allocation of 1,375,319.41 km, shorter than any the rounds found. The
LPs are GLOP's (milp.solve_lp): about 4 s for the first on national, where HiGHS took
13, and about 1 s for each after it, which starts from the last one's basis (basis.py).

The last LP's prices then hold most columns at their bound for any allocation shorter
than the best routed (reduced-cost fixing, `closed_stage`), and the MIP of what is
left bounds the stage: on national, about 380,000 of 1,017,943 columns, and in about
3 s (its presolve cut short, PRESOLVE_REDUCTIONS) it proves 1,375,319.41 km optimal.

Stage K2 (households kept at their point) is left out: a relaxation still.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from allocator.basis import AT_LOWER, BASIC, Basis, carried
from allocator.column_pool import Pooled, restricted, solve_on_pool
from allocator.lot_side import LotSide
from allocator.lp_rounding import whole
from allocator.milp import Milp, Presolve, SolveStatus, solve_lp
from allocator.pool_rounding import rounded_pool

JOINS = 6  # rounds of points joining B before the relaxation gives up
REPRICINGS = 4
# HiGHS's presolve of the closed stage's MIP, cut short. The presolve stays on: without
# any, HiGHS has called a model of this engine infeasible that was not (distance.py,
# cut_rounds), and this bound is a proof. A presolve cut short only leaves the model
# larger. On national's closed MIP (382,138 columns, 125,988 rows; HiGHS 1.12, as
# OR-Tools 9.15 carries it), alone on the machine, the same optimum each time:
# - whole, 10.7 s: the fast reductions take 1.3 s and leave 16,613 rows, then its
#   dominated columns step takes 6.5 s (no option but the reduction limit reaches it)
#   and fixes 4 columns, and the root LP is presolved again (1.5 s);
# - stopped after a quarter as many reductions as the model has rows and columns
#   (PRESOLVE_REDUCTIONS), before that step, and the root LP not presolved again:
#   2.3 to 3.1 s;
# - probing, which comes after that step, is left out as well, should a model's fast
#   reductions not reach the limit (rule 15 of HiGHS 1.12, bit 15 of its
#   `presolve_rule_off`; a test checks that HiGHS names it so): on national it took
#   14 s of the whole presolve.
PRESOLVE_REDUCTIONS = 0.25
NO_PROBING = 1 << 15


@dataclass
class Arcs:
    """The open arcs (place -> point, sorted by place) and the points' capacity."""

    place: np.ndarray
    point: np.ndarray
    km: np.ndarray
    capacity: np.ndarray
    n_places: int


@dataclass
class Relaxed:
    """What the relaxation proves and chooses."""

    bound: float                # km, a lower bound on stage 3 (-inf if none)
    values: np.ndarray | None   # a whole solution of `side` (its columns), or None
    binding: np.ndarray         # the points B ended with (a mask)
    # The last LP, whose optimum met every capacity: its model, its solution on the pool
    # (with the bound and reduced costs its prices prove) and the constant its
    # objective leaves out.
    last: tuple[Milp, Pooled, float] | None = None


def relaxed_stage(side: LotSide, site_place: np.ndarray, forced: np.ndarray, arcs: Arcs,
                  binding: np.ndarray, pool: np.ndarray, start: np.ndarray,
                  deadline: float, gap: float) -> Relaxed:
    """Stage 3's LP over the lot side `side` (by key, its objective unused), free sites
    at homes `site_place` and `forced` households per home, with the capacity of the
    points `binding` (a mask, grown as needed); `pool`, a mask of `side`'s columns, is
    where its LP starts (column_pool.py). Its optimum rounded (pool_rounding.py, within
    `gap` km, `start` a whole solution of `side`) is the choice."""
    binding = binding.copy()
    site_ub = np.concatenate(side.milp.ub)[side.take]
    most = forced + np.bincount(site_place, weights=site_ub, minlength=arcs.n_places)
    model = _Model(side, site_place, forced, most, arcs, binding)
    pool_start = np.ones(model.milp.n_vars, bool)
    pool_start[:len(pool)] = pool
    joins = repricings = 0
    priced = float("-inf")  # the bound of the last pricing
    bound = float("-inf")  # every B's relaxation bounds the stage, overflowing or not
    basis: Basis | None = None  # where the next LP starts (basis.py)
    while time.perf_counter() < deadline:
        # GLOP's dual simplex (solve_on_pool's default), with its presolve for the first
        # LP (on national, 2.6 s and 2.8 s for LPs that took HiGHS 13.4 s and 13.7 s with
        # its presolve), and each after it from the basis of the one before.
        pooled = solve_on_pool(model.milp, pool_start, deadline - time.perf_counter(),
                               basis=basis)
        if pooled.lp.status is not SolveStatus.OPTIMAL:
            break
        bound = max(bound, pooled.bound + model.constant)
        basis = pooled.basis
        over = model.overflow(pooled.lp.values)
        if over.any():
            joins += 1
            if joins > JOINS:
                break
            binding |= over
            priced = float("-inf")
            last, model = model, _Model(side, site_place, forced, most, arcs, binding)
            basis = None if basis is None else model.carried(last, basis)
            pool_start = np.ones(model.milp.n_vars, bool)
            pool_start[:len(pool)] = pooled.pool[:len(pool)]  # (the sites priced in, kept)
            continue
        joined = np.count_nonzero(pooled.pool) > len(pooled.columns)
        if joined and pooled.lp.objective - pooled.bound > gap and repricings < REPRICINGS \
                and pooled.bound > priced + gap:
            # The pricing stops while a few columns left out would still improve the
            # LP (column_pool.FEW_JOINS), each lowering the bound by up to its reach:
            # solved again with them until the bound is the LP's optimum, or as near as
            # the floating point of its proof allows (vn-universal, 2.2 million
            # columns: more than `gap` short of it, priced four times more for nothing),
            # so only while a pricing brings columns in and the bound still rises.
            repricings += 1
            priced = pooled.bound
            pool_start = pooled.pool
            continue
        rounded = rounded_pool(side, pooled, start, gap, deadline)
        values = None if rounded is None else _on_side(side, pooled.columns, rounded)
        return Relaxed(bound, values, binding, (model.milp, pooled, model.constant))
    return Relaxed(bound, None, binding)


def closed_stage(relaxed: Relaxed, side: LotSide, upper: float, gap: float,
                 deadline: float) -> Relaxed:
    """The relaxation's MIP on what an allocation shorter than `upper` km (one routed)
    can use: its bound, and its optimum (a whole solution of `side`).

    By the last LP's prices (lp_rounding.priced_bound), every solution x costs at least
    its bound L plus |rc_j| for each unit column j lies away from the side its reduced
    cost rc_j leans on. One shorter than `upper` so lies less than (upper - L) / |rc_j|
    units from that side (reduced-cost fixing): at national, with L 198 m below `upper`,
    most columns are held at their side. An allocation's counts on the lot side and
    its sites are whole, so the MIP on what is left, with the counts and the sites in a
    room cut whole (as `_Model` marks them) and the other sites and the flows not,
    solved by HiGHS within `gap` km, bounds every allocation shorter than `upper`:
    stage 3 is at least the lesser of the two. With those held, the rest is a network,
    so marking every column whole changes no optimum, but it costs the MIP (national,
    with all of HiGHS's presolve: 60 s against 18). Its optimum is made whole by
    `_with_whole_flows`; `values` is None if that fails. Returns `relaxed` unchanged if
    it has no last LP, or the MIP no answer in time."""
    if relaxed.last is None:
        return relaxed
    milp, pooled, constant = relaxed.last
    rc = pooled.reduced
    room = upper - (pooled.bound + constant)
    if not room > 0:
        return relaxed
    lb, ub = np.concatenate(milp.lb), np.concatenate(milp.ub)
    moves = np.floor(room / np.maximum(np.abs(rc), 1e-300) + 1e-6)  # (a little more)
    low = np.where(rc < 0, np.maximum(lb, ub - moves), lb)
    high = np.where(rc > 0, np.minimum(ub, lb + moves), ub)
    columns = np.flatnonzero(high > 0)  # (the others are held at 0, their lower bound)
    sub = restricted(milp, columns)
    # (At least 10,000: this stage only runs on huge rounds, and a tiny model's presolve
    # is quick whole.)
    reductions = max(10_000, int(PRESOLVE_REDUCTIONS * (sub.n_vars + sub.n_rows)))
    limits = Presolve(rules_off=NO_PROBING, root_only=True, reductions=reductions)
    result = sub.solve(max(deadline - time.perf_counter(), 0.05), gap, 0,
                       box=(low[columns], high[columns]), limits=limits)
    if result.status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        return relaxed
    proven = min(upper, result.bound + constant)
    found = _with_whole_flows(sub, result.values, deadline)
    values = None if found is None else _on_side(side, columns, found)
    return Relaxed(max(relaxed.bound, proven), values, relaxed.binding, relaxed.last)


def _on_side(side: LotSide, columns: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Values `x` of the relaxation's `columns` (sorted) as a solution of `side`, whose
    columns come first (the others are 0)."""
    values = np.zeros(side.milp.n_vars)
    inside = columns < side.milp.n_vars
    values[columns[inside]] = x[inside]
    return values


def _with_whole_flows(milp: Milp, x: np.ndarray, deadline: float) -> np.ndarray | None:
    """`x`, a solution of `milp` whole in its integer columns, made whole in the others:
    with the integer ones held (the counts, and the sites in a room cut), what is left
    of the relaxation (households of a key shared out to its sites, homes' households
    to points within capacity) is a network with whole sides, whose LP has a whole
    optimum at a vertex. The point is checked exactly (`whole`); None if it fails."""
    if (rounded := whole(milp, x)) is not None:
        return rounded
    integer = np.concatenate(milp.integer)
    held = milp.variant()
    held.lb[0][integer] = held.ub[0][integer] = np.rint(x[integer])
    lp = solve_lp(held, max(deadline - time.perf_counter(), 0.05), solver="glop")
    if lp.status is not SolveStatus.OPTIMAL:
        return None
    found = whole(held, lp.values)
    if found is None:  # (an optimum off a vertex: HiGHS's, which ends at one)
        lp = solve_lp(held, max(deadline - time.perf_counter(), 0.05))
        found = whole(held, lp.values) if lp.status is SolveStatus.OPTIMAL else None
    return found


class _Model:
    """The relaxation for one set B: the lot side's columns first, then one per arc into
    B shorter than its home's free arc, then one free arc per home with a row."""

    def __init__(self, side: LotSide, site_place: np.ndarray, forced: np.ndarray,
                 most: np.ndarray, arcs: Arcs, binding: np.ndarray) -> None:
        self.arcs, self.binding, self.side, self.site_place = arcs, binding, side, site_place
        n_places = arcs.n_places
        into = binding[arcs.point]
        # Per home, its nearest point outside B (the free arc) and that distance m.
        self.free_km = np.full(n_places, np.inf)
        np.minimum.at(self.free_km, arcs.place[~into], arcs.km[~into])
        outside = np.flatnonzero(~into & (arcs.km <= self.free_km[arcs.place]))
        self.free_point = np.full(n_places, -1, np.int64)
        self.free_point[arcs.place[outside]] = arcs.point[outside]
        short = np.flatnonzero(into & (arcs.km < self.free_km[arcs.place]))
        rowed = np.zeros(n_places, bool)
        rowed[arcs.place[short]] = True
        self.rowed = rowed
        # Homes with no arc at all serve nobody (their sites are closed), so a home
        # without a row and without a free arc has no households to send.
        free_cost = np.where(np.isfinite(self.free_km), self.free_km, 0.0)
        self.constant = float(forced[~rowed] @ free_cost[~rowed])
        milp = side.milp.variant()
        # The sites in a cut (distance.room_cut: homes that crowd their points take no
        # more than those points hold) are whole, as the counts are: with both held,
        # the rest is a network (see closed_stage). Only its MIP reads this.
        rows, cols, _ = side.milp.entries()
        in_cut = np.zeros(side.milp.n_vars, bool)
        in_cut[cols[rows >= side.own_rows]] = True
        milp.integer[0][side.take[in_cut[side.take]]] = True
        objective = np.zeros(milp.n_vars)
        objective[side.take] = np.where(rowed[site_place], 0.0, free_cost[site_place])
        homes = np.flatnonzero(rowed)
        row_of = np.full(n_places, -1, np.int64)
        row_of[homes] = np.arange(len(homes))
        self.flow = milp.add_vars(0.0, most[arcs.place[short]], len(short), integer=False)
        self.free_homes = homes[np.isfinite(self.free_km[homes])]
        self.free = milp.add_vars(0.0, most[self.free_homes], len(self.free_homes),
                                  integer=False)
        inside = rowed[site_place]
        milp.add_rows(
            np.concatenate([row_of[arcs.place[short]], row_of[self.free_homes],
                            row_of[site_place[inside]]]),
            np.concatenate([self.flow, self.free, side.take[inside]]),
            np.concatenate([np.ones(len(short) + len(self.free_homes)),
                            -np.ones(int(inside.sum()))]),
            forced[homes], forced[homes], len(homes))
        points = np.flatnonzero(binding)
        row_of_point = np.full(len(binding), -1, np.int64)
        row_of_point[points] = np.arange(len(points))
        milp.add_rows(row_of_point[arcs.point[short]], self.flow, 1.0, -np.inf,
                      arcs.capacity[points].astype(float), len(points))
        milp.set_objective(np.concatenate([objective, arcs.km[short],
                                           self.free_km[self.free_homes]]), False)
        self.milp = milp
        self.forced = forced
        # What each column and row stands for, increasing, the same in every B's model:
        # the lot side's own, then per arc (its flow), per home (its free arc; its row),
        # per point (its row).
        n_side, n_arcs = side.milp.n_vars, len(arcs.place)
        self.column_keys = np.concatenate([np.arange(n_side), n_side + short,
                                           n_side + n_arcs + self.free_homes])
        self.row_keys = np.concatenate([np.arange(side.milp.n_rows),
                                        side.milp.n_rows + homes,
                                        side.milp.n_rows + n_places + points])

    def carried(self, last: _Model, basis: Basis) -> Basis:
        """`basis`, of the model `last` (another B's), carried over to this one: what
        both have keeps its status, a new column starts at its bound and a new row's
        slack in the basis (milp.solve_lp completes it for this model)."""
        return Basis(carried(last.column_keys, basis.columns, self.column_keys, AT_LOWER),
                     carried(last.row_keys, basis.rows, self.row_keys, BASIC))

    def overflow(self, x: np.ndarray) -> np.ndarray:
        """Points outside B that this solution sends more households than they hold."""
        supply = self.forced + np.bincount(self.site_place, weights=x[self.side.take],
                                           minlength=self.arcs.n_places)
        load = np.zeros(len(self.binding))
        plain = ~self.rowed & (supply > 0) & (self.free_point >= 0)
        np.add.at(load, self.free_point[plain], supply[plain])
        np.add.at(load, self.free_point[self.free_homes], x[self.free])
        return ~self.binding & (load > self.arcs.capacity + 1e-6)
