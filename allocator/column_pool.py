"""A linear relaxation solved on the columns that matter, and proven for them all.

National's stage 3 sub-problem has 842,647 columns, 802,303 of them sites, and its
optimum serves about 77,000 households of those sites: most site columns stay at
zero. So the LP is solved on a *pool* (every column but the sites, and the sites
likely to be used), and the pool's row prices price every column left out. A column
left out whose reduced cost would improve the objective joins the pool, and the pool
is solved again, until so few would (FEW_JOINS of the pool) that the pool's optimum
is, as near as matters, the whole model's; those few join it for the next solve.

Columns left out are held at their lower bound, which must be 0 (the pool's solution,
padded with zeros, then meets every row of the whole model). A pool that cannot meet
the rows on its own gives way to the whole model. The bound the prices prove is
computed over every column (lp_rounding.priced_bound), so it holds for the whole
model whether or not the pricing finished.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from allocator.basis import AT_LOWER, Basis
from allocator.lp_rounding import priced_bound
from allocator.milp import LpResult, LpSolver, Milp, SolveStatus, solve_lp

# Reduced costs within this of zero do not bring a column in: the bound allows for the
# floating-point error of each one, and a column this close changes the LP by nothing
# a proof could see.
PRICED_OUT = 1e-9
MAX_PRICINGS = 8
JOIN_SHARE = 0.25  # at most this share of the pool joins it at one pricing
MIN_JOINS = 1_000   # (so a small model takes every column priced in at once)
FEW_JOINS = 0.01   # pricing stops when fewer than this share of the pool would join


@dataclass
class Pooled:
    """The LP of the whole model from its pool: values and prices in the whole
    model's columns and rows, and the pool's own model (for rounding on it)."""

    lp: LpResult
    model: Milp          # the pool's own model, which `lp` solved
    columns: np.ndarray  # the whole model's column of each of its columns
    pool: np.ndarray     # mask of the whole model's columns: the pool to start from
                         # next time (its columns, and those priced in but not solved)
    bound: float         # proven by `lp`'s prices over every column (priced_bound),
                         # -inf if the LP has no optimum
    reduced: np.ndarray  # the reduced costs that prove it, per column (empty if none)
    # The last LP's basis in the whole model's columns (those left out at their lower
    # bound) and rows, to start a related LP from (basis.py); None without one.
    basis: Basis | None = None


def solve_on_pool(milp: Milp, pool: np.ndarray, time_limit_s: float,
                  presolve: bool = True, solver: LpSolver = "glop",
                  basis: Basis | None = None) -> Pooled:
    """The LP of `milp` (objective set), solved on the columns of `pool` (a mask),
    widened by pricing until (almost) no column left out would improve it, or time runs
    out: at most FEW_JOINS of the pool's size still would. `solver` and `presolve`: see
    solve_lp. Stage 3's site models are what this solves, and GLOP is the quicker there.
    `basis`, in the whole model's columns and rows, is where the first LP starts; each
    LP after it starts from the one before."""
    started = time.perf_counter()
    pool = pool.copy()
    lb, ub = np.concatenate(milp.lb), np.concatenate(milp.ub)
    if (lb[~pool] != 0).any():
        raise ValueError("columns left out of the pool must have a lower bound of 0")
    if not pool.any():
        pool[:] = True  # (a model of no columns would meet no row but report optimal)
    sense = 1.0 if milp.maximize else -1.0
    none = -math.inf if not milp.maximize else math.inf
    bound, rc = none, np.zeros(0)
    for _ in range(MAX_PRICINGS):
        columns = np.flatnonzero(pool)
        sub = restricted(milp, columns)
        start = None if basis is None else Basis(basis.columns[columns], basis.rows)
        lp = solve_lp(sub, max(time_limit_s - (time.perf_counter() - started), 0.05),
                      presolve=presolve, solver=solver, basis=start)
        values = np.zeros(milp.n_vars)
        if lp.status is SolveStatus.OPTIMAL:
            values[columns] = lp.values
        if lp.basis is not None:
            basis = Basis(np.full(milp.n_vars, AT_LOWER, np.int8), lp.basis.rows)
            basis.columns[columns] = lp.basis.columns
        whole = LpResult(lp.status, values, lp.objective, lp.duals,
                         basis if lp.basis is not None else None)
        if lp.status is SolveStatus.INFEASIBLE and not pool.all():
            pool[:] = True  # the pool alone cannot meet the rows: the whole model
            continue
        if lp.status is not SolveStatus.OPTIMAL:
            return Pooled(whole, sub, columns, pool, none, np.zeros(0), basis)
        bound, rc = priced_bound(milp, whole)
        if time.perf_counter() - started >= time_limit_s:
            return Pooled(whole, sub, columns, pool, bound, rc, basis)
        joins = np.flatnonzero(~pool & (sense * rc > PRICED_OUT) & (ub > lb))
        if len(joins) <= FEW_JOINS * len(columns):
            # So few that solving again would change little (national: 733 of 210,000):
            # the bound is proven over every column anyway. They join for next time.
            pool[joins] = True
            return Pooled(whole, sub, columns, pool, bound, rc, basis)
        most = max(int(JOIN_SHARE * len(columns)), MIN_JOINS)
        if len(joins) > most:
            # The most promising only: prices move as columns join, and most of the
            # others would not be used.
            joins = joins[np.argpartition(-sense * rc[joins], most - 1)[:most]]
        pool[joins] = True
    return Pooled(whole, sub, columns, pool, bound, rc, basis)  # (its last pricing's prices)


def restricted(milp: Milp, columns: np.ndarray) -> Milp:
    """`milp` with only `columns` (sorted), every row kept: the others held at 0."""
    new_index = np.full(milp.n_vars, -1, np.int64)
    new_index[columns] = np.arange(len(columns))
    rows, cols, vals = milp.entries()
    kept = new_index[cols] >= 0
    sub = Milp()
    sub.add_vars(np.concatenate(milp.lb)[columns], np.concatenate(milp.ub)[columns],
                 len(columns))
    sub.integer[0] = np.concatenate(milp.integer)[columns]
    sub.add_rows(rows[kept], new_index[cols[kept]], vals[kept], np.concatenate(milp.row_lb),
                 np.concatenate(milp.row_ub), milp.n_rows)
    if milp.objective is not None:
        sub.set_objective(milp.objective[columns], milp.maximize)
    return sub
