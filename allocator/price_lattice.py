"""A stage's last gap closed by counting: which values an integer point can take.

On national's class model the LP optimum rounds to 95,189,385 against a bound of
95,189,440, and HiGHS's branch and bound does not close that gap on half a million
columns. The LP's own prices close it, with integers.

Scale the LP's row prices y by the least D that makes them integers (D = 119 on
national: the budget's price is 60/119), giving integer prices Y and integer
reduced costs R = D c - A'Y (the model's coefficients are integers). For every
integer point x of the model (maximising; a minimised stage is the maximum of -c):

    D c.x = top - sum_j |R_j| dev_j - sum_i |Y_i| slack_i

where `top` = sum_i Y_i b_i + sum_j R_j bound_j is D times the bound the prices
prove, dev_j is how far column j sits from the bound its reduced cost leans on,
and slack_i how far row i sits from the side its price leans on. Every dev and
slack is a non-negative integer, so a value v is reachable only if top - D v is a
sum of these pens |R_j| and |Y_i|, each taken at most as often as its columns and
rows can move. Near the bound the pens are few and large (national: 25, 60, 600,
1,160, ...), so a value splits into a handful of ways (how many units of each pen),
often none.

Each way is checked on the model restricted to it: every priced column and row
held where its price leans, except those of the way's pens, which move by exactly
the way's counts. An infeasible LP there excludes the way (HiGHS's verdict is
trusted as everywhere else in the engine); a feasible one is searched for an
integer point (the LP point if integral, RENS, then the MIP). Values are tried from
the bound down, so the first one with an integer point is optimal.
"""

from __future__ import annotations

import enum
import math
import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from allocator.basis import Basis, fits
from allocator.lp_rounding import meets_rows, rens, whole
from allocator.milp import LpResult, Milp, SolveStatus, solve_lp

# The largest scale tried: prices at an LP vertex of a network with a budget row have
# the budget's price's denominator (a cost of the cycle it prices), in the hundreds.
MAX_SCALE = 1_000_000
# Ways checked in all before giving up: each is an LP on the whole model.
MAX_WAYS = 200
# The largest gap (in scaled pens) split into ways, and the most distinct pens under it:
# beyond them the ways are too many to check (national's gap is 6,660 over 200 pens).
MAX_REACH = 100_000
MAX_PENS = 500


@dataclass
class IntegerPrices:
    """Integer prices of a model and the pens they put on moving away from their sides."""

    scale: int            # D: the prices are D times the LP's, rounded
    sense: int            # +1 maximising, -1 minimising: values are sense * c.x
    top: int              # D * (the bound these prices prove on sense * c.x), exactly
    col_pen: np.ndarray   # |R_j| per column (0: free to move at no cost)
    col_at: np.ndarray    # the bound each priced column leans on
    row_pen: np.ndarray   # |Y_i| per inequality row (0 on equality rows)
    row_at: np.ndarray    # the (integer) side each priced row leans on
    col_up: np.ndarray    # the column leans on its lower bound (moves up from it)
    row_upper: np.ndarray  # the row leans on its upper side (its slack is side - a.x)
    col_room: np.ndarray  # how far each column can move (ub - lb)
    row_room: np.ndarray  # how far each row's slack can grow (inf if one-sided)


@dataclass
class Settled:
    """What counting gives a stage: an optimal point, or a bound tighter than the LP's."""

    values: np.ndarray | None  # an integer point better than the start, or None
    value: float               # its objective (nan without one)
    bound: float               # valid for every integer point
    proven: bool               # `values`, or the start when None, is optimal
    seconds: float


def integer_prices(milp: Milp, lp: LpResult) -> IntegerPrices | None:
    """The LP's prices scaled to integers, or None when the model or prices do not allow it.

    Validity does not rest on the LP: any integer prices Y give the identity in the
    module's docstring exactly, since R is computed from Y in integers. The LP only
    makes them good (its bound) and makes the pens near the bound large.
    """
    objective = milp.objective
    assert objective is not None
    if not all(block.all() for block in milp.integer):
        return None  # a continuous column's move is no integer: the count says nothing
    rows, cols, vals = milp.entries()
    if not (np.array_equal(vals, np.rint(vals)) and np.array_equal(objective,
                                                                   np.rint(objective))):
        return None
    sense = 1 if milp.maximize else -1
    y = sense * lp.duals
    scale = _scale(y)
    if scale is None:
        return None
    prices = np.rint(scale * y).astype(np.int64)
    row_lb, row_ub = np.concatenate(milp.row_lb), np.concatenate(milp.row_ub)
    # An integer row's activity is an integer, so its sides tighten to integers.
    up_side, down_side = np.floor(row_ub), np.ceil(row_lb)
    prices[(prices > 0) & ~np.isfinite(up_side)] = 0
    prices[(prices < 0) & ~np.isfinite(down_side)] = 0
    row_at = np.where(prices > 0, up_side, np.where(prices < 0, down_side, 0.0))
    weight = np.abs(vals).astype(np.int64) * np.abs(prices[rows])
    if int(weight.max(initial=0)) * max(1, int(np.bincount(cols).max(initial=0))) >= 2 ** 60:
        return None  # int64 sums could overflow
    reduced = (scale * sense * objective).astype(np.int64)
    np.subtract.at(reduced, cols, vals.astype(np.int64) * prices[rows])
    lb, ub = np.concatenate(milp.lb), np.concatenate(milp.ub)
    col_at = np.where(reduced > 0, ub, np.where(reduced < 0, lb, 0.0))
    priced = reduced != 0
    if not (np.isfinite(col_at[priced]).all() and np.isfinite(row_at[prices != 0]).all()):
        return None
    if not (np.array_equal(col_at, np.rint(col_at)) and np.array_equal(lb[np.isfinite(lb)],
                                                                       np.rint(lb[np.isfinite(lb)]))
            and np.array_equal(ub[np.isfinite(ub)], np.rint(ub[np.isfinite(ub)]))):
        return None
    top = _dot(prices, row_at) + _dot(reduced, col_at)
    row_pen = np.where(row_lb < row_ub, np.abs(prices), 0)
    return IntegerPrices(scale, sense, top, np.abs(reduced), col_at, row_pen, row_at,
                         reduced < 0, prices > 0, ub - lb, up_side - down_side)


def settle(milp: Milp, lp: LpResult, start_value: float, step: int, time_limit_s: float,
           seed: int) -> Settled:
    """Values from the prices' bound down to the start's, each excluded or reached.

    `start_value` is an integer point's objective; `step` divides every objective value.
    """
    started = time.perf_counter()
    prices = integer_prices(milp, lp)
    if prices is None:
        return Settled(None, math.nan, math.nan, False, time.perf_counter() - started)
    sense, checked = prices.sense, 0
    start = round(sense * start_value)
    best = step * (prices.top // (prices.scale * step))
    value = best
    objective = milp.objective
    assert objective is not None
    while value > start:
        if time.perf_counter() - started >= time_limit_s:
            return _stopped(value, sense, started)
        ways = _ways(prices, prices.top - prices.scale * value, MAX_WAYS - checked)
        if ways is None:
            break
        for way in ways:
            left = time_limit_s - (time.perf_counter() - started)
            if left <= 0:
                return _stopped(value, sense, started)
            checked += 1
            verdict, point = _try_way(milp, prices, way, left, seed, lp.basis)
            if verdict is _Verdict.UNKNOWN:
                return _stopped(value, sense, started)
            if point is not None:
                # A point of the restriction is one of the model with this value; checked
                # again on the model itself, as every answer of the engine is.
                if not (meets_rows(milp, point)
                        and math.fsum(point * objective) == float(sense * value)):
                    return _stopped(value, sense, started)
                return Settled(point, float(sense * value), float(sense * value), True,
                               time.perf_counter() - started)
        value -= step
    if value > start:
        return _stopped(value, sense, started)
    # Every value above the start is excluded: the start is optimal.
    return Settled(None, math.nan, float(sense * start), True, time.perf_counter() - started)


def _stopped(value: int, sense: int, started: float) -> Settled:
    return Settled(None, math.nan, float(sense * value), False, time.perf_counter() - started)


class _Verdict(enum.Enum):
    EXCLUDED = "no integer point carries these pens"
    REACHED = "an integer point carries them"
    UNKNOWN = "not decided in the time given"


def _try_way(milp: Milp, prices: IntegerPrices, way: dict[int, int], time_limit_s: float,
             seed: int, basis: Basis | None = None) -> tuple[_Verdict, np.ndarray | None]:
    """Exclude a way (its LP infeasible), reach it (an integer point), or neither.
    `basis` is the optimal one of the LP whose prices these are (or None)."""
    started = time.perf_counter()
    model = restricted(milp, prices, way)
    lp = _restricted_lp(model, basis, time_limit_s)
    if lp.status is SolveStatus.INFEASIBLE:
        return _Verdict.EXCLUDED, None
    if lp.status is not SolveStatus.OPTIMAL:
        return _Verdict.UNKNOWN, None
    rounded = whole(model, lp.values)
    if rounded is not None:
        return _Verdict.REACHED, rounded
    left = time_limit_s - (time.perf_counter() - started)
    point = rens(model, lp.values, 0.5, left, seed)
    if point is not None:
        return _Verdict.REACHED, point
    left = time_limit_s - (time.perf_counter() - started)
    if left <= 0:
        return _Verdict.UNKNOWN, None
    result = model.solve(left, 0.5, seed)
    if result.status is SolveStatus.INFEASIBLE:
        return _Verdict.EXCLUDED, None
    if result.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        point = np.rint(result.values)
        if meets_rows(model, point):
            return _Verdict.REACHED, point
    return _Verdict.UNKNOWN, None


def _restricted_lp(model: Milp, basis: Basis | None, time_limit_s: float) -> LpResult:
    """The LP of a way's restriction. It keeps the model's columns and rows, holds at
    their sides those the prices lean on (where the LP's optimum has them already),
    and adds a row per pen: from that optimum's basis, GLOP's dual simplex has a few
    pivots to make (national, stages 1 and 2: 0.9 s each, where HiGHS took 2.2 s from
    nothing). A way is excluded on HiGHS's word, as before: a restriction GLOP finds
    infeasible is solved again by HiGHS."""
    if not fits(basis, model.n_vars, model.n_rows):
        return solve_lp(model, time_limit_s, presolve=True)
    started = time.perf_counter()
    lp = solve_lp(model, time_limit_s, solver="glop", basis=basis)
    if lp.status is SolveStatus.INFEASIBLE:
        lp = solve_lp(model, time_limit_s - (time.perf_counter() - started), presolve=True)
    return lp


def restricted(milp: Milp, prices: IntegerPrices, way: dict[int, int]) -> Milp:
    """The model's integer points that carry exactly the pens of `way`.

    Priced columns and rows of other pens are held where their prices lean; those of
    the way's pens move at most its count away, and one row per pen makes their moves
    add up to the count exactly. Every row of `milp` stays (sides only tightened to
    integers), so a point of the restriction is a point of the model.
    """
    model = milp.variant()
    lb, ub = model.lb[0], model.ub[0]
    row_lb, row_ub = model.row_lb[0], model.row_ub[0]
    # Activities are integers, so every side tightens to one. Besides losing nothing,
    # this keeps sides off HiGHS's tolerances: a side of 1e-7 once made its presolve
    # call a feasible restriction infeasible, which would exclude a way wrongly.
    np.ceil(row_lb, out=row_lb)
    np.floor(row_ub, out=row_ub)
    col_pen, row_pen = prices.col_pen, prices.row_pen
    pens = np.fromiter(way, np.int64, len(way))
    held_cols = np.flatnonzero((col_pen > 0) & ~np.isin(col_pen, pens))
    lb[held_cols] = ub[held_cols] = prices.col_at[held_cols]
    held_rows = np.flatnonzero((row_pen > 0) & ~np.isin(row_pen, pens))
    row_lb[held_rows] = row_ub[held_rows] = prices.row_at[held_rows]
    rows, cols, vals = milp.entries()
    for pen, count in way.items():
        moved_cols = np.flatnonzero(col_pen == pen)
        at = prices.col_at[moved_cols]
        up = prices.col_up[moved_cols]
        lb[moved_cols] = np.where(up, at, np.maximum(lb[moved_cols], at - count))
        ub[moved_cols] = np.where(up, np.minimum(ub[moved_cols], at + count), at)
        col_sign = np.where(up, 1.0, -1.0)
        moved_rows = np.flatnonzero(row_pen == pen)
        side = prices.row_at[moved_rows]
        upper = prices.row_upper[moved_rows]
        row_lb[moved_rows] = np.where(upper, np.maximum(row_lb[moved_rows], side - count), side)
        row_ub[moved_rows] = np.where(upper, side, np.minimum(row_ub[moved_rows], side + count))
        row_sign = np.zeros(milp.n_rows)
        row_sign[moved_rows] = np.where(upper, 1.0, -1.0)
        # sum of col moves + sum of row slacks = count, as one row over the columns:
        # col_sign (x - at) + row_sign (side - a.x) summed.
        mask = row_sign[rows] != 0
        entry_cols = np.concatenate([moved_cols, cols[mask]])
        entry_vals = np.concatenate([col_sign, -row_sign[rows[mask]] * vals[mask]])
        target = count + float(col_sign @ at) - float(row_sign[moved_rows] @ side)
        model.add_row(entry_cols, entry_vals, target, target)
    return model


def _ways(prices: IntegerPrices, reach: int, limit: int) -> list[dict[int, int]] | None:
    """Every way to make `reach` from the pens within what their columns and rows can
    move, fewest moves first; None if there are more than `limit`."""
    if reach < 0:
        return []
    col_pen, row_pen = prices.col_pen, prices.row_pen
    near_cols = (col_pen > 0) & (col_pen <= reach)
    near_rows = (row_pen > 0) & (row_pen <= reach)
    # What each pen near enough can move in all: its columns' ranges and rows' slacks.
    pens, which = np.unique(np.concatenate([col_pen[near_cols], row_pen[near_rows]]),
                            return_inverse=True)
    spans = np.bincount(which, weights=np.concatenate([prices.col_room[near_cols],
                                                      prices.row_room[near_rows]]),
                        minlength=len(pens))
    room = dict(zip(pens.tolist(), spans.tolist(), strict=True))
    order = sorted(room, reverse=True)
    if reach > MAX_REACH or len(order) > MAX_PENS:
        return None
    # reachable[i][v]: v is a sum of pens order[i:] within their room (prunes the search).
    # Each pen's counts are split in powers of two, so a pen costs log(count) shifts.
    reachable = [np.zeros(reach + 1, bool) for _ in range(len(order) + 1)]
    reachable[-1][0] = True
    for i in range(len(order) - 1, -1, -1):
        pen, here = order[i], reachable[i + 1].copy()
        most, part = int(min(reach // pen, room[pen])), 1
        while most > 0:
            take = min(part, most)
            shift = take * pen
            here[shift:] |= here[:reach + 1 - shift].copy()
            most -= take
            part *= 2
        reachable[i] = here
    found: list[dict[int, int]] = []

    def extend(i: int, left: int, way: dict[int, int]) -> bool:
        if not reachable[i][left]:
            return True
        if left == 0:
            found.append(dict(way))
            return len(found) <= limit
        pen = order[i]
        most = min(left // pen, room[pen])
        for count in range(int(most), -1, -1):
            if count:
                way[pen] = count
            else:
                way.pop(pen, None)
            if not extend(i + 1, left - count * pen, way):
                return False
        way.pop(pen, None)
        return True

    if not extend(0, reach, {}):
        return None
    return sorted(found, key=lambda w: (sum(w.values()), sorted(w.items())))


def _scale(y: np.ndarray) -> int | None:
    """The least D <= MAX_SCALE making the prices integers within 1e-9, as far as that goes.

    A price no small fraction explains (a simplex's noise of 1e-11 on a row that has
    no price, or a true price with a large denominator) stops the search: the prices
    are rounded at the scale found, and rounded prices are as valid as any (the bound
    they prove is computed from them exactly), only weaker where they moved.
    """
    values = np.unique(np.abs(y[y != 0]))
    if not len(values):
        return 1
    scale = 1
    while True:
        scaled = scale * values
        off = np.abs(scaled - np.rint(scaled)) > 1e-9 * np.maximum(1.0, scaled)
        if not off.any():
            return scale
        value = float(values[np.argmax(off)])
        fraction = Fraction(value).limit_denominator(MAX_SCALE)
        grown = math.lcm(scale, fraction.denominator)
        if abs(float(fraction) - value) > 1e-9 or grown == scale or grown > MAX_SCALE:
            return scale if scale > 1 else None
        scale = grown


def _dot(a: np.ndarray, b: np.ndarray) -> int:
    """sum a_i b_i exactly, for integer arrays a and integer-valued b."""
    nz = np.flatnonzero(a)
    return sum(int(p) * int(q) for p, q in zip(a[nz].tolist(), b[nz].tolist(), strict=True))
