"""A stage's last gap closed by counting the values integer prices allow."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ortools.math_opt import parameters_pb2, result_pb2

from allocator import solver_process
from allocator.lp_rounding import meets_rows
from allocator.milp import INF, Milp, SolveStatus, solve_lp
from allocator.price_lattice import integer_prices, restricted, settle
from tests.allocator.small_models import box_points, knapsack_flow, small_model


def test_the_values_between_the_start_and_the_bound_are_counted_out() -> None:
    # LP: items 0 and 1 whole, item 2 at a half (57.5). Prices scale by 2 to integers.
    # From a start of 35 (items 1 and 2), 55 is excluded and 50 reached: optimal.
    milp = knapsack_flow([30, 20, 15], [10, 10, 10], 25, 3)
    lp = solve_lp(milp)
    prices = integer_prices(milp, lp)
    assert prices is not None and prices.scale == 2 and prices.top == 115
    settled = settle(milp, lp, 35.0, 5, 10.0, 0)
    assert settled.proven and settled.value == 50 and settled.bound == 50
    assert settled.values is not None and meets_rows(milp, settled.values)
    assert float(settled.values @ milp.objective) == 50


def test_a_way_starts_from_the_lps_basis_and_is_excluded_only_on_highs_word(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # From a start of 0, five ways are excluded before 38 is reached: each way's LP is
    # GLOP's from the LP's basis, and each that GLOP finds infeasible is solved again by
    # HiGHS, whose verdict excludes it.
    milp = knapsack_flow([22, 26, 38, 30], [11, 10, 10, 14], 18, 3)
    lp = solve_lp(milp)
    asked: list[tuple[int, bool, bool, int]] = []  # solver, from a basis, a MIP, verdict
    binding_solve = solver_process.solve_binding

    def recording(model: Any, params: Any, model_params: Any, solver_type: int) -> Any:
        result = binding_solve(model, params, model_params, solver_type)
        asked.append((solver_type, model_params.HasField("initial_basis"),
                      any(model.variables.integers), result.termination.reason))
        return result

    monkeypatch.setattr(solver_process, "solve_binding", recording)
    settled = settle(milp, lp, 0.0, 1, 10.0, 0)
    assert settled.proven and settled.value == 38
    glop, highs = parameters_pb2.SOLVER_TYPE_GLOP, parameters_pb2.SOLVER_TYPE_HIGHS
    infeasible = result_pb2.TERMINATION_REASON_INFEASIBLE
    assert all(from_basis for solver, from_basis, _, _ in asked if solver == glop)
    checked = [i for i, (solver, _, _, verdict) in enumerate(asked)
               if solver == glop and verdict == infeasible]
    assert checked  # (four on HiGHS 1.12 and GLOP of OR-Tools 9.15)
    assert all(asked[i + 1] == (highs, False, False, infeasible) for i in checked)


def test_a_start_at_the_optimum_is_proven_without_a_new_point() -> None:
    milp = knapsack_flow([30, 20, 15], [10, 10, 10], 25, 3)
    settled = settle(milp, solve_lp(milp), 50.0, 5, 10.0, 0)
    assert settled.proven and settled.values is None and settled.bound == 50


def test_a_minimised_stage_is_counted_from_below() -> None:
    # min cost of serving at least 2 of 3 items, costs 7, 4, 6, from a start of 13
    # (items 0 and 2): the LP is integral at 10, so 10 is reached at once.
    milp = Milp()
    cols = milp.add_vars(0, 1, 3)
    milp.add_row(cols, 1.0, 2, INF)
    milp.set_objective(np.array([7.0, 4.0, 6.0]), False)
    settled = settle(milp, solve_lp(milp), 13.0, 1, 10.0, 0)
    assert settled.proven and settled.value == 10 and settled.bound == 10


def test_every_integer_point_carries_exactly_the_pens_its_value_leaves() -> None:
    # D c.x = top - pens(x) for every integer point, and a way's restriction holds
    # exactly the points with that way's pens.
    milp = knapsack_flow([30, 20, 15, 25], [10, 10, 10, 7], 25, 3)
    lp = solve_lp(milp)
    prices = integer_prices(milp, lp)
    assert prices is not None
    rows, cols, vals = milp.entries()
    for x in box_points(milp):
        if not meets_rows(milp, x):
            continue
        activity = np.bincount(rows, weights=vals * x[cols], minlength=milp.n_rows)
        dev = np.abs(x - prices.col_at) * (prices.col_pen > 0)
        slack = np.abs(prices.row_at - activity) * (prices.row_pen > 0)
        pens = int(round(float(prices.col_pen @ dev + prices.row_pen @ slack)))
        assert prices.scale * round(float(x @ milp.objective)) == prices.top - pens
        way: dict[int, int] = {}
        for pen, moved in ((prices.col_pen, dev), (prices.row_pen, slack)):
            for p, d in zip(pen.tolist(), moved.tolist(), strict=True):
                if p and d:
                    way[p] = way.get(p, 0) + int(round(d))
        assert meets_rows(restricted(milp, prices, way), x)


@settings(max_examples=80, deadline=None)
@given(data=st.data(), n=st.integers(1, 4), m=st.integers(1, 4), maximize=st.booleans(),
       from_basis=st.booleans())
def test_counting_on_any_small_model_is_exact(data: st.DataObject, n: int, m: int,
                                              maximize: bool, from_basis: bool) -> None:
    # Rows of every kind (<=, >=, ranges, equalities), columns in small boxes: the bound
    # never cuts off an integer point, a point found is a point of the model with its
    # stated value, and a proof is the optimum. Each way's LP starts from the LP's basis
    # (GLOP), or from nothing (HiGHS) where the LP has none.
    milp = small_model(data, n, m, maximize)
    objective = milp.objective
    assert objective is not None
    values = [float(p @ objective) for p in box_points(milp) if meets_rows(milp, p)]
    lp = solve_lp(milp)
    if not values or lp.status is not SolveStatus.OPTIMAL:
        return
    assert lp.basis is not None
    if not from_basis:
        lp = replace(lp, basis=None)
    best = max(values) if maximize else min(values)
    start = data.draw(st.sampled_from(values))
    settled = settle(milp, lp, start, 1, 10.0, 0)
    assert (settled.bound >= best) if maximize else (settled.bound <= best)
    if settled.values is not None:
        assert meets_rows(milp, settled.values)
        assert float(settled.values @ objective) == settled.value
        assert settled.proven and settled.value == best
    elif settled.proven:
        assert start == best


def test_prices_off_every_small_fraction_still_count_soundly() -> None:
    # Prices moved by pi/1000 have no small denominator: they are rounded at the scale
    # found, which proves less but never wrongly (the optimum is 50).
    milp = knapsack_flow([30, 20, 15], [10, 10, 10], 25, 3)
    lp = solve_lp(milp)
    lp.duals = lp.duals + np.pi * 1e-3
    settled = settle(milp, lp, 35.0, 5, 10.0, 0)
    assert settled.bound >= 50
    if settled.proven:
        assert settled.values is not None and settled.value == 50


def test_a_model_with_fractional_coefficients_is_declined() -> None:
    milp = knapsack_flow([30, 20, 15], [10, 10, 10], 25, 3)
    milp.add_row(np.array([0]), 0.5, -INF, 1.0)
    assert integer_prices(milp, solve_lp(milp)) is None


def test_no_time_leaves_the_start_unproven() -> None:
    milp = knapsack_flow([30, 20, 15], [10, 10, 10], 25, 3)
    settled = settle(milp, solve_lp(milp), 35.0, 5, 0.0, 0)
    assert not settled.proven and settled.values is None
    assert settled.bound >= 50
