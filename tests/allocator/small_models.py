"""Small integer models whose every integer point can be tried: for the bound and proof tests."""

from __future__ import annotations

from itertools import product

import numpy as np
from hypothesis import strategies as st

from allocator.milp import INF, Milp


def highs_error_model() -> Milp:
    """x0 in 0..2, the rest fixed at 0, -3 x0 + x2 + 3 x3 = -1, between two empty rows:
    HiGHS's MIP stops with an internal error on this model, which has no integer point
    (found by hypothesis on a restricted model of price_lattice.py)."""
    milp = Milp()
    cols = milp.add_vars(0, np.array([2.0, 0.0, 0.0, 0.0]), 4)
    milp.add_row(cols, np.zeros(4), -INF, INF)
    milp.add_row(cols, np.array([-3.0, 0.0, 1.0, 3.0]), -1.0, -1.0)
    milp.add_row(cols, np.zeros(4), -INF, INF)
    milp.set_objective(np.array([-3.0, 0.0, 0.0, 0.0]), False)
    return milp


def knapsack_flow(weights: list[int], costs: list[int], budget: int, supply: int,
                  maximize: bool = True) -> Milp:
    """Serve items (0..1 each) from one supply of `supply` units within a budget."""
    milp = Milp()
    cols = milp.add_vars(0, 1, len(weights))
    milp.add_row(cols, 1.0, -INF, supply)
    milp.add_row(cols, np.array(costs, dtype=float), -INF, budget)
    sign = 1.0 if maximize else -1.0
    milp.set_objective(sign * np.array(weights, dtype=float), maximize)
    return milp


def small_model(data: st.DataObject, n: int, m: int, maximize: bool) -> Milp:
    """n columns in boxes of 0..2 and m rows of every kind (<=, >=, ranges, equalities)
    with coefficients of both signs, and an integer objective."""
    milp = Milp()
    cols = milp.add_vars(0, np.array(data.draw(st.lists(st.integers(0, 2), min_size=n,
                                                        max_size=n)), dtype=float), n)
    for _ in range(m):
        coefs = np.array(data.draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)),
                         dtype=float)
        low = data.draw(st.one_of(st.just(-INF), st.integers(-4, 4)))
        high = data.draw(st.one_of(st.just(INF), st.integers(-4, 6)))
        if low > high:
            low, high = high, low
        milp.add_row(cols, coefs, float(low), float(high))
    objective = np.array(data.draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n)),
                         dtype=float)
    milp.set_objective(objective, maximize)
    return milp


def box_points(milp: Milp) -> list[np.ndarray]:
    """Every integer point of the columns' box (rows not checked)."""
    boxes = [range(int(lo), int(hi) + 1) for lo, hi in zip(np.concatenate(milp.lb),
                                                           np.concatenate(milp.ub),
                                                           strict=True)]
    return [np.array(p, dtype=float) for p in product(*boxes)]
