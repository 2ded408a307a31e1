"""A lot side's LP optimum, solved on a pool of its columns, rounded to whole households.

Stage 3's relaxation on the binding points (binding_points.py) solves an LP whose
lot-side columns must then be whole: a network with a few side rows (the stage rows
that hold weight served and cost, room rows, and the capacity of the points that
bind), so only a handful of its columns are fractional. Three ways are tried, each
where the one before finds nothing:

1. RENS: the best whole point between the floors and ceilings of the LP's values.
2. RENS with the columns that share a small row with a fractional one free to move by
   one more (vn-universal, with two room rows and 7 fractional columns: 9,528 columns
   so, 1.5 s).
3. The stage rows' knapsack taken out. National (from stage 2's LP with presolve)
   meets the weight and cost rows with a fractional mix of households of 60 and 85
   points, and no whole point near it does. Each stage row's mix is then held at the
   start's (LotSide.mix_rows) and the LP solved again: what is left is the network the
   lot side is, and on national an LP with no fractional column at all.
"""

from __future__ import annotations

import time

import numpy as np

from allocator.column_pool import Pooled
from allocator.lot_side import LotSide
from allocator.lp_rounding import near_fractional, rens, whole
from allocator.milp import SolveStatus, solve_lp


def rounded_pool(side: LotSide, pooled: Pooled, start: np.ndarray, gap: float,
                 deadline: float) -> np.ndarray | None:
    """`pooled`'s LP optimum (a model whose first columns are `side`'s) rounded to a
    point of the pool's model with `side`'s sites whole, within `gap` of the best in
    its box; None if none is found. `start`, a whole solution of `side`, gives the mix
    of the stage rows for the third way. Marks the pool model's site columns integer."""
    model = pooled.model
    model.integer[0][np.isin(pooled.columns, side.take)] = True
    x = pooled.lp.values[pooled.columns]
    rounded = whole(model, x)
    if rounded is None:
        rounded = rens(model, x, gap, deadline - time.perf_counter(), 0)
    if rounded is None:
        rounded = rens(model, x, gap, deadline - time.perf_counter(), 0,
                       near_fractional(model, x))
    if rounded is not None:
        return rounded
    if not side.mix_rows(model, pooled.columns, start):
        return None
    lp = solve_lp(model, max(deadline - time.perf_counter(), 0.05), solver="glop")
    if lp.status is not SolveStatus.OPTIMAL:
        return None
    rounded = whole(model, lp.values)
    if rounded is not None:
        return rounded
    return rens(model, lp.values, gap, deadline - time.perf_counter(), 0)
