"""A simplex basis, carried from one LP to a related one as the start of its solve.

Stage 3's relaxation on the binding points (binding_points.py) solves a few LPs in a
row that differ little: a few points join B (their rows, and arcs into them, are
added), or a few columns join the pool. Started from the last LP's basis, GLOP's dual
simplex has little left to do (national's relaxation LP: 0.6 s from its own optimal
basis, 2.6 s from nothing).

A basis gives each column and row one of MathOpt's statuses (BasisStatusProto). The
solver takes only a complete one: every column and row, as many basic as there are
rows, and a non-basic status that names a finite bound. `completed` makes any
assignment so (milp.solve_lp completes every basis it is given, `for_model`); which
basis it starts from changes how long the solve takes, never its optimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FREE, AT_LOWER, AT_UPPER, FIXED, BASIC = 1, 2, 3, 4, 5


@dataclass
class Basis:
    """A status per column and per row (FREE, AT_LOWER, AT_UPPER, FIXED or BASIC)."""

    columns: np.ndarray
    rows: np.ndarray


def fits(basis: Basis | None, columns: int, rows: int) -> bool:
    """Whether `basis` is one of a model of `columns` columns and at least its rows (the
    model may have rows added since, which `for_model` makes basic)."""
    return basis is not None and len(basis.columns) == columns and len(basis.rows) <= rows


def for_model(basis: Basis, col_bounds: tuple[np.ndarray, np.ndarray],
              row_bounds: tuple[np.ndarray, np.ndarray]) -> Basis:
    """`basis` (`fits` its model) completed for it: the slacks of rows added since
    basic, and `completed`."""
    added = np.full(len(row_bounds[0]) - len(basis.rows), BASIC, np.int8)
    return completed(basis.columns, np.concatenate([basis.rows, added]), col_bounds,
                     row_bounds)


def completed(columns: np.ndarray, rows: np.ndarray, col_bounds: tuple[np.ndarray, np.ndarray],
              row_bounds: tuple[np.ndarray, np.ndarray]) -> Basis:
    """Statuses a solver takes, as near `columns` and `rows` as may be: each non-basic
    one at a bound its column or row has, and as many basic as there are rows (rows
    made basic, or columns and then rows made non-basic, the first ones first)."""
    columns = _at_bounds(columns, *col_bounds)
    rows = _at_bounds(rows, *row_bounds)
    short = len(rows) - int(np.count_nonzero(columns == BASIC)) - int(
        np.count_nonzero(rows == BASIC))
    if short > 0:
        rows[np.flatnonzero(rows != BASIC)[:short]] = BASIC
    elif short < 0:
        cut = np.flatnonzero(columns == BASIC)[:-short]
        columns[cut] = 0
        columns = _at_bounds(columns, *col_bounds)
        short += len(cut)
        if short < 0:
            rows[np.flatnonzero(rows == BASIC)[:-short]] = 0
            rows = _at_bounds(rows, *row_bounds)
    return Basis(columns, rows)


def carried(old_keys: np.ndarray, old_status: np.ndarray, new_keys: np.ndarray,
            default: int) -> np.ndarray:
    """The statuses of items `new_keys` (increasing), each its old one where `old_keys`
    (increasing) has it, else `default`."""
    at = np.minimum(np.searchsorted(old_keys, new_keys), max(len(old_keys) - 1, 0))
    found = (old_keys[at] == new_keys) if len(old_keys) else np.zeros(len(new_keys), bool)
    return np.where(found, old_status[at] if len(old_keys) else default, default).astype(
        np.int8)


def _at_bounds(status: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Non-basic statuses moved onto a finite bound (FIXED where both are one value)."""
    status = np.asarray(status, np.int8).copy()
    off = status != BASIC
    has_lower, has_upper = np.isfinite(lower), np.isfinite(upper)
    keep_upper = (status == AT_UPPER) & has_upper
    status[off] = np.where(lower[off] == upper[off], FIXED,
                  np.where(keep_upper[off], AT_UPPER,
                  np.where(has_lower[off], AT_LOWER,
                  np.where(has_upper[off], AT_UPPER, FREE))))
    return status
