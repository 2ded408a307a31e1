"""A stage proven from its linear relaxation: the LP optimum, a price bound and RENS.

The class model is a network flow with a budget row (and, after stage 1, rows
holding the finished stages), so its linear relaxation is integral or nearly
so: at national scale it has four fractional columns out of 497,499. HiGHS's
MIP root on such a model costs minutes (its cuts and heuristics on half a
million columns) where the LP takes seconds. So a stage first solves the LP:

1. The bound. Any row prices y prove, by weak duality, a bound on every x in
   the model's box that meets its rows: `bound(y)`. It is recomputed from the
   prices here (each price clipped to the side of its row that is finite, sums
   taken exactly), not taken from the solver's report, so it holds however the
   LP ended; a poor price only proves less.
2. The incumbent. If the LP optimum is integral and meets every row exactly, it
   is optimal. Otherwise RENS (relaxation enforced neighbourhood search) solves
   the MIP with each column boxed between the floor and the ceiling of its LP
   value, a model HiGHS's presolve reduces to a handful of columns.
3. The proof. Objective values of stages 0-2 are multiples of their
   coefficients' greatest common divisor (the `step`), so the bound rounds to
   the step below it (maximising) or above it (minimising), and an incumbent
   there is optimal.

When the incumbent falls short of the bound, the caller goes on to the full MIP
from it, or, on a model too large for HiGHS's root to finish, keeps it with its
bound as a FEASIBLE stage whose gap is stated.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from allocator.basis import Basis, fits
from allocator.milp import LpResult, Milp, SolveStatus, solve_lp

# A column counts as integral within this distance of an integer; the rounded
# point is then checked against every row exactly, so this only decides whether
# the rounded LP optimum is tried as it is.
INTEGRAL = 1e-6


@dataclass
class Rounded:
    """What the linear relaxation gives a stage: a bound and, if found, an incumbent."""

    bound: float                # valid for every integer solution (+-inf if none proven)
    values: np.ndarray | None   # an integer solution meeting every row, or None
    value: float                # its objective (nan without one)
    proven: bool                # the incumbent reaches the bound: it is optimal
    seconds: float
    lp: LpResult | None = None  # the relaxation solved, with its row prices


def rounded_lp(milp: Milp, step: int, time_limit_s: float, seed: int,
               presolve: bool = False, basis: Basis | None = None) -> Rounded:
    """Solve the LP of `milp` (objective set), bound it, and round its optimum.

    `step` divides every objective coefficient (all integers), hence every value.
    `presolve` runs HiGHS's presolve on the LP (see solve._from_relaxation for when).
    `basis`, the optimal one of an earlier objective's LP on this model (rows may have
    been added since, which that optimum meets), is where GLOP's primal simplex starts
    instead (solve._from_relaxation says when); anything but its optimum, an
    infeasible verdict included (the stage's model never is), goes to HiGHS as without.
    """
    started = time.perf_counter()
    objective = milp.objective if milp.objective is not None else np.zeros(milp.n_vars)
    maximize = milp.maximize
    worst = -math.inf if maximize else math.inf
    lp = None
    if fits(basis, milp.n_vars, milp.n_rows):
        lp = solve_lp(milp, max(time_limit_s, 0.05), solver="glop", basis=basis, primal=True)
    if lp is None or lp.status is not SolveStatus.OPTIMAL:
        lp = solve_lp(milp, max(time_limit_s - (time.perf_counter() - started), 0.05),
                      presolve=presolve)
    if lp.status is not SolveStatus.OPTIMAL:
        return Rounded(-worst, None, math.nan, False, time.perf_counter() - started, lp)
    bound = lattice_bound(price_bound(milp, lp), step, maximize)
    gap = 0.5 * step
    values = whole(milp, lp.values)
    if values is None:
        values = rens(milp, lp.values, gap, time_limit_s - (time.perf_counter() - started),
                       seed)
    if values is None:
        return Rounded(bound, None, math.nan, False, time.perf_counter() - started, lp)
    value = math.fsum(values * objective)
    proven = value >= bound - gap if maximize else value <= bound + gap
    return Rounded(bound, values, value, proven, time.perf_counter() - started, lp)


def lattice_bound(bound: float, step: int, maximize: bool) -> float:
    """The bound rounded to the multiple of `step` that every objective value is."""
    if not math.isfinite(bound):
        return bound
    return step * (math.floor(bound / step) if maximize else math.ceil(bound / step))


def price_bound(milp: Milp, lp: LpResult) -> float:
    """The bound the LP's row prices prove on every point of the box meeting the rows."""
    return priced_bound(milp, lp)[0]


def priced_bound(milp: Milp, lp: LpResult) -> tuple[float, np.ndarray]:
    """The bound the LP's row prices prove, and the reduced costs rc that prove it.

    For any prices y, c.x = y.(Ax) + rc.x with rc = c - A'y. Bounding y_i (Ax)_i by
    the side of row i its price leans on, and rc_j x_j by the column's box, bounds
    c.x; a price whose side is infinite proves nothing and is dropped (set to 0).
    The reduced costs are those of the prices so clipped, so a column's |rc_j| is what
    each unit of it away from its bound adds beyond the bound (reduced-cost fixing).
    """
    assert milp.objective is not None
    maximize = milp.maximize
    rows, cols, vals = milp.entries()
    row_lb, row_ub = np.concatenate(milp.row_lb), np.concatenate(milp.row_ub)
    lb, ub = np.concatenate(milp.lb), np.concatenate(milp.ub)
    y = lp.duals.copy()
    # Maximising, a positive price holds a row at its upper side; minimising, at its lower.
    up_side, down_side = (row_ub, row_lb) if maximize else (row_lb, row_ub)
    y[(y > 0) & ~np.isfinite(up_side)] = 0.0
    y[(y < 0) & ~np.isfinite(down_side)] = 0.0
    held = np.where(y > 0, up_side, np.where(y < 0, down_side, 0.0))
    ay = vals * y[rows]
    rc = milp.objective - np.bincount(cols, weights=ay, minlength=milp.n_vars)
    # Each column sits where rc_j x_j is largest (maximising) or smallest (minimising).
    toward_ub = rc > 0 if maximize else rc < 0
    at = np.where(toward_ub, ub, lb)
    moved = rc != 0
    unbounded = math.inf if maximize else -math.inf
    if not np.isfinite(at[moved]).all():
        return unbounded, rc
    terms = np.concatenate([(y * held)[y != 0], rc[moved] * at[moved]])
    # Floating point: each product above is rounded once (relative error 2**-53), and
    # each reduced cost is a sum of its column's entries, off by at most (entries + 1)
    # * 2**-53 * (|c_j| + sum |a_ij y_i|), which the column's reach |x_j| multiplies.
    # 2**-50 allows for all of that eight times over.
    reach = np.maximum(np.abs(lb), np.abs(ub))
    entries = np.bincount(cols, minlength=milp.n_vars)
    sizes = (entries + 2) * (np.abs(milp.objective)
                             + np.bincount(cols, weights=np.abs(ay), minlength=milp.n_vars))
    if not np.isfinite(reach[sizes > 0]).all():
        return unbounded, rc
    slack = 2.0 ** -50 * (math.fsum(np.abs(terms)) + math.fsum(sizes[sizes > 0]
                                                                * reach[sizes > 0]))
    total = math.fsum(terms)
    return (total + slack if maximize else total - slack), rc


def whole(milp: Milp, x: np.ndarray) -> np.ndarray | None:
    """`x` rounded, if each value is within INTEGRAL of a whole number and the rounded
    point meets the box and every row of `milp` exactly; else None."""
    rounded = np.rint(x)
    if np.abs(x - rounded).max(initial=0.0) > INTEGRAL or not meets_rows(milp, rounded):
        return None
    return rounded


def meets_rows(milp: Milp, x: np.ndarray) -> bool:
    """Whether integer values `x` meet the box and every row exactly.

    The model's coefficients are integers, so A x is computed exactly in floating
    point while its sums stay below 2**53.
    """
    lb, ub = np.concatenate(milp.lb), np.concatenate(milp.ub)
    if (x < lb).any() or (x > ub).any():
        return False
    rows, cols, vals = milp.entries()
    if (vals != np.rint(vals)).any():
        return False
    terms = vals * x[cols]
    if np.bincount(rows, weights=np.abs(terms), minlength=milp.n_rows).max(initial=0) \
            >= 2.0 ** 53:
        return False  # sums beyond exact integers in floating point: not vouched for
    ax = np.bincount(rows, weights=terms, minlength=milp.n_rows)
    row_lb, row_ub = np.concatenate(milp.row_lb), np.concatenate(milp.row_ub)
    return bool(((ax >= row_lb) & (ax <= row_ub)).all())


def rens(milp: Milp, x: np.ndarray, gap: float, time_limit_s: float,
          seed: int, widen: np.ndarray | None = None) -> np.ndarray | None:
    """The best integer point with every column between the floor and ceiling of `x`,
    those of `widen` (a mask) one more either way."""
    lb, ub = np.concatenate(milp.lb), np.concatenate(milp.ub)
    low = np.maximum(lb, np.floor(x + INTEGRAL) - (widen if widen is not None else 0))
    high = np.minimum(ub, np.ceil(x - INTEGRAL) + (widen if widen is not None else 0))
    high = np.maximum(high, low)
    values = _in_box(milp, low, high, gap, max(time_limit_s, 0.05), seed)
    if values is None:
        return None
    values = np.rint(values)
    return values if meets_rows(milp, values) else None


def _in_box(milp: Milp, low: np.ndarray, high: np.ndarray, gap: float, time_limit_s: float,
            seed: int) -> np.ndarray | None:
    """The MIP of `milp` with each column between `low` and `high`, the columns held at
    one value taken out first (their share of each row moved to its sides), and the
    rows left without a column checked here: None if those fail or HiGHS finds nothing.

    RENS's box leaves few columns free (national's stage 1: 4 of 497,499), and handing
    HiGHS the whole model cost more than its solve (0.6 s to pass, 0.35 s to presolve
    it all away). Only a model of integer coefficients is ever vouched for (meets_rows),
    so the moved shares, whole numbers, are exact.
    """
    free = high > low
    at = np.where(free, 0.0, low)
    rows, cols, vals = milp.entries()
    share = np.bincount(rows, weights=vals * at[cols], minlength=milp.n_rows)
    row_lb = np.concatenate(milp.row_lb) - share
    row_ub = np.concatenate(milp.row_ub) - share
    touched = free[cols]
    used = np.zeros(milp.n_rows, bool)
    used[rows[touched]] = True
    if ((row_lb[~used] > 0) | (row_ub[~used] < 0)).any():
        return None  # a row of held columns only, which they do not meet
    column = np.flatnonzero(free)
    row = np.flatnonzero(used)
    new_column = np.full(milp.n_vars, -1, np.int64)
    new_column[column] = np.arange(len(column))
    new_row = np.full(milp.n_rows, -1, np.int64)
    new_row[row] = np.arange(len(row))
    sub = Milp()
    sub.add_vars(low[column], high[column], len(column))
    sub.integer[0] = np.concatenate(milp.integer)[column]
    sub.add_rows(new_row[rows[touched]], new_column[cols[touched]], vals[touched],
                 row_lb[row], row_ub[row], len(row))
    if milp.objective is not None:
        sub.set_objective(milp.objective[column], milp.maximize)
    result = sub.solve(time_limit_s, gap, seed)
    if result.status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        return None
    values = at.copy()
    values[column] = result.values
    return values


def near_fractional(milp: Milp, x: np.ndarray, largest_row: int = 5_000) -> np.ndarray:
    """Columns sharing a row of at most `largest_row` entries with a fractional column of
    `x`: where a rounding that RENS's box cannot hold may find room (a mask)."""
    rows, cols, _ = milp.entries()
    fractional = np.abs(x - np.rint(x)) > INTEGRAL
    size = np.bincount(rows, minlength=milp.n_rows)
    touched = np.zeros(milp.n_rows, bool)
    touched[rows[fractional[cols]]] = True
    touched &= size <= largest_row
    near = np.zeros(milp.n_vars, bool)
    near[cols[touched[rows]]] = True
    return near
