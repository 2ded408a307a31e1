"""A stage settled from its linear relaxation: the price bound, the rounding, the proof."""

from __future__ import annotations

import math
from itertools import product
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ortools.math_opt import parameters_pb2, result_pb2

import allocator.price_lattice as price_lattice
import allocator.solve as solve_module
from allocator import solver_process
from allocator.check import check_allocation
from allocator.lp_rounding import (
    lattice_bound,
    meets_rows,
    near_fractional,
    price_bound,
    rens,
    rounded_lp,
)
from allocator.milp import INF, LpResult, Milp, SolveStatus, solve_lp
from allocator.problem import Problem, build_problem
from allocator.validate import read_scenario
from scenarios.synthetic import synthetic
from tests.allocator.small_models import box_points, knapsack_flow, small_model


def _brute_force(milp: Milp) -> float:
    """The integer optimum of a model with a few 0/1 columns, by trying every point."""
    assert milp.objective is not None
    best = -INF if milp.maximize else INF
    for point in product((0.0, 1.0), repeat=milp.n_vars):
        x = np.array(point)
        if meets_rows(milp, x):
            value = float(x @ milp.objective)
            best = max(best, value) if milp.maximize else min(best, value)
    return best


def test_a_fractional_relaxation_is_rounded_and_bounded_by_its_prices() -> None:
    # LP: items 0 and 1 whole, item 2 at 0.5 (budget 25 of costs 10, 10, 10); the bound
    # rounds down to the step of the weights (5), and RENS finds the integer optimum.
    milp = knapsack_flow([30, 20, 15], [10, 10, 10], 25, 3)
    lp = solve_lp(milp)
    assert lp.objective == pytest.approx(57.5)
    assert price_bound(milp, lp) == pytest.approx(57.5)
    rounded = rounded_lp(milp, 5, 10.0, 0)
    assert rounded.bound == 55 and rounded.value == 50 and not rounded.proven
    assert rounded.values is not None and rounded.values.tolist() == [1.0, 1.0, 0.0]
    assert _brute_force(milp) == 50


def test_an_integral_relaxation_is_proven_without_the_mip() -> None:
    milp = knapsack_flow([30, 20, 15], [10, 10, 10], 30, 2)
    rounded = rounded_lp(milp, 5, 10.0, 0)
    assert rounded.proven and rounded.value == 50 and rounded.bound == 50


def test_the_bound_rounds_to_the_step_the_values_take() -> None:
    assert lattice_bound(57.5, 5, True) == 55
    assert lattice_bound(57.5, 5, False) == 60
    assert lattice_bound(55.0, 5, True) == 55
    assert lattice_bound(-INF, 5, True) == -INF


def test_rows_are_checked_exactly() -> None:
    milp = knapsack_flow([30, 20, 15], [10, 10, 10], 25, 3)
    assert meets_rows(milp, np.array([1.0, 1.0, 0.0]))
    assert not meets_rows(milp, np.array([1.0, 1.0, 1.0]))  # budget 30 > 25
    assert not meets_rows(milp, np.array([2.0, 0.0, 0.0]))  # beyond the column's box


@settings(max_examples=60, deadline=None)
@given(items=st.lists(st.tuples(st.integers(1, 40), st.integers(1, 30)), min_size=1,
                      max_size=8),
       budget=st.integers(0, 120), supply=st.integers(0, 8), maximize=st.booleans(),
       step=st.sampled_from([1, 5]))
def test_the_bound_never_cuts_off_the_optimum_and_a_proof_is_the_optimum(
        items: list[tuple[int, int]], budget: int, supply: int, maximize: bool,
        step: int) -> None:
    weights = [step * w for w, _ in items]
    costs = [c for _, c in items]
    milp = knapsack_flow(weights, costs, budget, supply, maximize)
    optimum = _brute_force(milp)
    rounded = rounded_lp(milp, step, 10.0, 0)
    if maximize:
        assert rounded.bound >= optimum
    else:
        assert rounded.bound <= optimum
    if rounded.values is not None:
        assert meets_rows(milp, rounded.values)
        assert rounded.value == float(rounded.values @ milp.objective)
    if rounded.proven:
        assert rounded.value == optimum


@pytest.fixture(scope="module")
def problem(tmp_path_factory: pytest.TempPathFactory) -> Problem:
    folder = tmp_path_factory.mktemp("round")
    synthetic(3_000, 20, 15, 30, seed=21, budget_share=0.3).write(folder)
    return build_problem(read_scenario(folder))


def test_a_round_too_large_for_the_mip_root_is_counted_to_its_optimum(
        problem: Problem, monkeypatch: pytest.MonkeyPatch) -> None:
    # As on the national round: the MIP is not tried; the rounding stops short of its
    # bound, and counting the values between them (price_lattice.py) reaches the optimum.
    exact = solve_module.solve(problem)
    monkeypatch.setattr(solve_module, "MIP_ROOT_MAX_COLUMNS", 0)
    counted = solve_module.solve(problem, time_limit_s=60)
    assert check_allocation(problem, counted.lot_of, counted.point_of)[0] == []
    for stage in (1, 2):
        report = next(r for r in counted.stages if r.stage == stage)
        optimum = next(r for r in exact.stages if r.stage == stage).value
        assert report.status is SolveStatus.OPTIMAL
        assert report.value == optimum and report.bound == optimum


def test_a_later_stage_of_a_huge_round_starts_from_the_last_stages_basis(
        problem: Problem, monkeypatch: pytest.MonkeyPatch) -> None:
    # Stage 2's LP, with stage 1's value kept by a row that stage 1's optimum meets,
    # starts where stage 1's LP ended: GLOP's primal simplex from its basis. The
    # optima are those of the exact solve.
    exact = solve_module.solve(problem)
    monkeypatch.setattr(solve_module, "MIP_ROOT_MAX_COLUMNS", 0)
    from_basis: list[bool] = []  # per stage's LP: whether it was given a basis
    real = solve_module.rounded_lp

    def spy(*args: Any, **kwargs: Any) -> Any:
        from_basis.append(kwargs.get("basis") is not None)
        return real(*args, **kwargs)

    warm: list[tuple[int, int]] = []  # per GLOP solve from a basis: algorithm, verdict
    binding_solve = solver_process.solve_binding

    def recording(model: Any, params: Any, model_params: Any, solver_type: int) -> Any:
        result = binding_solve(model, params, model_params, solver_type)
        if solver_type == parameters_pb2.SOLVER_TYPE_GLOP and \
                model_params.HasField("initial_basis"):
            warm.append((params.lp_algorithm, result.termination.reason))
        return result

    monkeypatch.setattr(solve_module, "rounded_lp", spy)
    monkeypatch.setattr(solver_process, "solve_binding", recording)
    counted = solve_module.solve(problem, time_limit_s=60)
    assert from_basis[:2] == [False, True]  # stage 1 from nothing, stage 2 from stage 1's
    # GLOP took the basis and ended at the optimum (no HiGHS solve in its place)
    assert (parameters_pb2.LP_ALGORITHM_PRIMAL_SIMPLEX,
            result_pb2.TERMINATION_REASON_OPTIMAL) in warm
    for stage in (1, 2):
        report = next(r for r in counted.stages if r.stage == stage)
        optimum = next(r for r in exact.stages if r.stage == stage).value
        assert report.status is SolveStatus.OPTIMAL and report.value == optimum


def test_a_round_too_large_for_the_mip_root_keeps_the_rounding_with_its_bound(
        problem: Problem, monkeypatch: pytest.MonkeyPatch) -> None:
    # When counting settles nothing (as when its time runs out), the rounded relaxation
    # stands with its bound, which holds the true optimum.
    exact = solve_module.solve(problem)
    monkeypatch.setattr(solve_module, "MIP_ROOT_MAX_COLUMNS", 0)
    monkeypatch.setattr(solve_module, "settle", lambda *args: price_lattice.Settled(
        None, math.nan, math.nan, False, 0.0))
    rounded = solve_module.solve(problem, time_limit_s=30)
    assert check_allocation(problem, rounded.lot_of, rounded.point_of)[0] == []
    assert exact.status is SolveStatus.OPTIMAL
    first = next(r for r in rounded.stages if r.stage == 1)
    assert first.bound >= exact.values.stage1
    assert rounded.values.stage1 <= exact.values.stage1
    assert rounded.values.stage1 >= solve_module.solve(problem, "greedy").values.stage1
    assert first.status is SolveStatus.FEASIBLE  # this round's relaxation stops short
    assert rounded.status is SolveStatus.FEASIBLE
    assert rounded.gap == pytest.approx((first.bound - rounded.values.stage1) / first.bound)
    # Later stages are optimal only given stage 1's value: FEASIBLE. Stage 2's value still
    # bounds its true optimum (it was allowed more); stage 3's says nothing and is dropped.
    second, third = rounded.stages[-2], rounded.stages[-1]
    assert second.stage == 2 and second.status is SolveStatus.FEASIBLE
    assert second.bound <= exact.stages[-2].value
    assert third.stage == 3 and third.status is SolveStatus.FEASIBLE
    assert third.bound != third.bound  # nan


def test_the_distance_stage_never_takes_the_relaxation_path(
        problem: Problem, monkeypatch: pytest.MonkeyPatch) -> None:
    # Its km are not integers, so it has no step to round a bound to: on a site model
    # above the size limit it goes to the MIP, and its bound stays below its value.
    monkeypatch.setattr(solve_module, "PRICE_CAPACITY", False)
    exact = solve_module.solve(problem)
    calls: list[int] = []
    real = solve_module._from_relaxation

    def spy(model, stage, seconds, seed, hint):  # type: ignore[no-untyped-def]
        calls.append(stage)
        return real(model, stage, seconds, seed, hint)

    monkeypatch.setattr(solve_module, "_from_relaxation", spy)
    monkeypatch.setattr(solve_module, "MIP_ROOT_MAX_COLUMNS", 0)
    large = solve_module.solve(problem, time_limit_s=60)
    assert 3 in calls  # it was asked, and declined
    third = large.stages[-1]
    assert third.stage == 3 and third.value == pytest.approx(exact.values.stage3)
    assert not third.bound > third.value + 1e-9


def test_the_bound_allows_for_the_rounding_of_reduced_costs() -> None:
    # max x with 41 rows x <= 1, priced so that the exact sum of the prices is below 1
    # by 2.2e-15 while a floating-point sum gives exactly 1: the reduced cost computes as
    # 0 where it is 2.2e-15, and a bound without the allowance would be below 1.
    k = 41
    milp = Milp()
    milp.add_vars(0, 1, 1)
    milp.add_rows(np.arange(k), np.zeros(k, np.int64), 1.0, -INF, 1.0, k)
    milp.set_objective(np.array([1.0]), True)
    ulp = 2.0 ** -53
    y = np.full(k, ulp * (0.5 + 2 ** -20))
    y[0] = 1 - (k - 1) * ulp
    bound = price_bound(milp, LpResult(SolveStatus.OPTIMAL, np.ones(1), 1.0, y))
    assert bound >= 1.0
    assert lattice_bound(bound, 1, True) == 1


def test_the_relaxation_path_gives_the_same_optimum_as_the_mip(
        problem: Problem, monkeypatch: pytest.MonkeyPatch) -> None:
    exact = solve_module.solve(problem)
    monkeypatch.setattr(solve_module, "_from_relaxation",
                        lambda model, stage, seconds, seed, hint: (None, hint))
    by_mip = solve_module.solve(problem)
    assert by_mip.status is SolveStatus.OPTIMAL
    assert by_mip.values.as_tuple()[:3] == exact.values.as_tuple()[:3]
    assert abs(by_mip.values.stage3 - exact.values.stage3) < 1e-6


@settings(max_examples=80, deadline=None)
@given(data=st.data(), n=st.integers(1, 4), m=st.integers(1, 4), maximize=st.booleans())
def test_the_price_bound_holds_on_any_small_model(data: st.DataObject, n: int, m: int,
                                                  maximize: bool) -> None:
    # Rows of every kind (<=, >=, ranges, equalities) and signs, columns in small boxes:
    # whatever prices the LP gives, the bound recomputed from them never cuts off an
    # integer point of the model, and a proof is the integer optimum.
    milp = small_model(data, n, m, maximize)
    objective = milp.objective
    assert objective is not None
    points = box_points(milp)
    feasible = [float(p @ objective) for p in points if meets_rows(milp, p)]
    lp = solve_lp(milp)
    if lp.status is not SolveStatus.OPTIMAL:
        return
    bound = price_bound(milp, lp)
    rounded = rounded_lp(milp, 1, 10.0, 0)
    if feasible:
        best = max(feasible) if maximize else min(feasible)
        assert (bound >= best - 1e-9) if maximize else (bound <= best + 1e-9)
        if rounded.proven:
            assert rounded.value == best
    if rounded.values is not None:
        assert meets_rows(milp, rounded.values)


def test_a_rounding_the_box_cannot_hold_is_found_near_the_fractional_columns() -> None:
    # x1 = x2 (so the LP's 1.5 each rounds to 1 + 1 or 2 + 2), x1 + x2 + x3 = 3, and x3
    # costs, so the LP holds it at 0. Between floors and ceilings x3 stays 0 and no
    # integer point exists; x3 shares a row with the fractional columns, and with one
    # more unit of room there, x1 = x2 = 1 and x3 = 1. (vn-universal's stage 3 sub-problem
    # met this from its second round: 7 fractional columns, 9,528 near them.)
    milp = Milp()
    x = milp.add_vars(0, 5, 4)
    milp.add_row(x[:2], np.array([1.0, -1.0]), 0.0, 0.0)
    milp.add_row(x[:3], 1.0, 3.0, 3.0)
    milp.add_row(x[3:], 1.0, 0.0, 2.0)  # a row of its own, not near
    milp.set_objective(np.array([0.0, 0.0, 1.0, 1.0]), False)
    lp = solve_lp(milp, 10.0)
    assert lp.status is SolveStatus.OPTIMAL
    assert lp.values[:3] == pytest.approx([1.5, 1.5, 0.0])
    near = near_fractional(milp, lp.values)
    assert near.tolist() == [True, True, True, False]
    assert rens(milp, lp.values, 0.5, 10.0, 0) is None
    found = rens(milp, lp.values, 0.5, 10.0, 0, near)
    assert found is not None and found.tolist() == [1.0, 1.0, 1.0, 0.0]
    assert meets_rows(milp, found)


def test_rows_too_large_do_not_bring_their_columns_near() -> None:
    milp = Milp()
    x = milp.add_vars(0, 5, 4)
    milp.add_row(x, 1.0, 0.0, 3.0)  # 4 entries: too large at largest_row=3
    milp.add_row(x[:2], 1.0, 0.0, 3.0)
    values = np.array([0.5, 1.0, 2.0, 0.0])
    assert near_fractional(milp, values, largest_row=3).tolist() == [True, True, False, False]
    assert near_fractional(milp, values).tolist() == [True, True, True, True]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), n=st.integers(1, 5), m=st.integers(1, 4), maximize=st.booleans())
def test_rens_finds_the_best_point_between_floors_and_ceilings(
        data: st.DataObject, n: int, m: int, maximize: bool) -> None:
    # The columns the box holds at one value are taken out before HiGHS sees the model
    # (their share of each row moved to its sides); whatever the box, RENS still finds
    # the best integer point in it, or none when there is none, as trying every point does.
    milp = small_model(data, n, m, maximize)
    objective = milp.objective
    assert objective is not None
    ub = np.concatenate(milp.ub)
    x = np.array([data.draw(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0])) for _ in range(n)])
    x = np.minimum(x, ub)
    found = rens(milp, x, 0.5, 10.0, 0)
    inside = [p for p in box_points(milp)
              if (p >= np.floor(x)).all() and (p <= np.ceil(x)).all() and meets_rows(milp, p)]
    if not inside:
        assert found is None
        return
    best = max(float(p @ objective) for p in inside) if maximize \
        else min(float(p @ objective) for p in inside)
    assert found is not None and meets_rows(milp, found)
    assert float(found @ objective) == best
