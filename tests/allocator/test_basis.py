"""A basis carried from one LP to another is one the solver takes, and changes no optimum."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from ortools.math_opt import parameters_pb2

from allocator import solver_process
from allocator.basis import (
    AT_LOWER,
    AT_UPPER,
    BASIC,
    FIXED,
    FREE,
    Basis,
    carried,
    completed,
    fits,
    for_model,
)
from allocator.milp import INF, Milp, SolveStatus, solve_lp

GLOP = parameters_pb2.SOLVER_TYPE_GLOP


def _lp(seed: int) -> Milp:
    """Supplies sent to demands along random arcs with a side row on their weight (the
    shape of stage 3's site models), some arcs fixed, one free column, equality rows;
    infeasible where the demands ask for more than the supplies hold."""
    rng = np.random.default_rng(seed)
    n_supply, n_demand = int(rng.integers(2, 7)), int(rng.integers(2, 7))
    tail = np.repeat(np.arange(n_supply), n_demand)
    head = np.tile(np.arange(n_demand), n_supply)
    milp = Milp()
    upper = rng.integers(1, 6, len(tail)).astype(float)
    lower = np.where(rng.random(len(tail)) < 0.1, upper, 0.0)  # a few fixed
    x = milp.add_vars(lower, upper, len(tail), integer=False)
    free = milp.add_vars(-INF, INF, 1, integer=False)
    supply = np.maximum(rng.integers(2, 12, n_supply), 0).astype(float)
    milp.add_rows(tail, x, 1.0, -INF, supply + np.bincount(tail, lower, n_supply), n_supply)
    demand = rng.integers(0, 3, n_demand).astype(float)
    milp.add_rows(head, x, 1.0, demand, INF, n_demand)
    weight = rng.integers(1, 4, len(x)).astype(float)
    milp.add_row(np.r_[x, free], np.r_[weight, -1.0], 0.0, 0.0)  # free = the weight
    milp.add_row(free, 1.0, -INF, float(weight @ upper))
    milp.set_objective(np.r_[rng.integers(1, 30, len(x)).astype(float), 0.0], False)
    return milp


def _bounds(milp: Milp) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    return ((np.concatenate(milp.lb), np.concatenate(milp.ub)),
            (np.concatenate(milp.row_lb), np.concatenate(milp.row_ub)))


def _glop_calls(monkeypatch: pytest.MonkeyPatch) -> list[bool | None]:
    """Per solve: for GLOP's, whether it was given a basis; None for HiGHS's."""
    calls: list[bool | None] = []
    binding_solve = solver_process.solve_binding

    def recording(model: Any, params: Any, model_params: Any, solver_type: int) -> Any:
        calls.append(model_params.HasField("initial_basis") if solver_type == GLOP else None)
        return binding_solve(model, params, model_params, solver_type)

    monkeypatch.setattr(solver_process, "solve_binding", recording)
    return calls


def _assert_complete(basis: Basis, milp: Milp) -> None:
    (lb, ub), (row_lb, row_ub) = _bounds(milp)
    for status, lower, upper in ((basis.columns, lb, ub), (basis.rows, row_lb, row_ub)):
        assert set(np.unique(status)) <= {FREE, AT_LOWER, AT_UPPER, FIXED, BASIC}
        assert np.isfinite(lower[status == AT_LOWER]).all()
        assert np.isfinite(upper[status == AT_UPPER]).all()
        assert (lower[status == FIXED] == upper[status == FIXED]).all()
        assert (np.isinf(lower[status == FREE]) & np.isinf(upper[status == FREE])).all()
    basic = np.count_nonzero(basis.columns == BASIC) + np.count_nonzero(basis.rows == BASIC)
    assert basic == milp.n_rows


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 2**32 - 1), st.integers(0, 2))
@example(363, 0, 0)  # an infeasible one
def test_any_statuses_are_completed_into_a_basis_glop_takes_to_the_same_optimum(
        seed: int, status_seed: int, rows_added: int) -> None:
    # Statuses of every kind, as many basic as may be, and maybe fewer rows than the
    # model has (rows added since): solve_lp completes them, and GLOP starts there.
    milp = _lp(seed)
    rng = np.random.default_rng(status_seed)
    guess = Basis(rng.integers(1, 6, milp.n_vars).astype(np.int8),
                  rng.integers(1, 6, milp.n_rows - rows_added).astype(np.int8))
    _assert_complete(for_model(guess, *_bounds(milp)), milp)
    with pytest.MonkeyPatch.context() as monkeypatch:
        calls = _glop_calls(monkeypatch)
        cold = solve_lp(milp, 30.0, solver="glop")
        warm = solve_lp(milp, 30.0, solver="glop", basis=guess)
    assert calls == [False, True]  # GLOP took the basis (no second try, no HiGHS)
    assert warm.status is cold.status  # (some of these models are infeasible)
    assert cold.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE)
    if cold.status is SolveStatus.OPTIMAL:
        assert warm.objective == pytest.approx(cold.objective, abs=1e-6)
        assert warm.basis is not None
        _assert_complete(warm.basis, milp)


def test_an_lp_started_from_its_own_optimal_basis_ends_there() -> None:
    milp = _lp(7)
    first = solve_lp(milp, 30.0, solver="glop")
    assert first.basis is not None
    again = solve_lp(milp, 30.0, solver="glop", basis=first.basis)
    assert again.status is SolveStatus.OPTIMAL
    assert again.objective == pytest.approx(first.objective, abs=1e-9)
    assert again.basis is not None
    assert np.array_equal(again.basis.columns, first.basis.columns)
    assert np.array_equal(again.basis.rows, first.basis.rows)


def test_a_basis_of_another_model_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    milp = _lp(3)
    calls = _glop_calls(monkeypatch)
    for other in (Basis(np.full(milp.n_vars + 1, AT_LOWER, np.int8),
                        np.full(milp.n_rows, BASIC, np.int8)),
                  Basis(np.full(milp.n_vars, AT_LOWER, np.int8),
                        np.full(milp.n_rows + 1, BASIC, np.int8))):
        lp = solve_lp(milp, 30.0, solver="glop", basis=other)
        assert lp.status is SolveStatus.OPTIMAL
    assert calls == [False, False]  # GLOP from nothing, both times


def test_a_basis_fits_a_model_of_its_columns_and_as_many_rows_or_more() -> None:
    basis = Basis(np.full(3, AT_LOWER, np.int8), np.full(2, BASIC, np.int8))
    assert fits(basis, 3, 2) and fits(basis, 3, 4)
    assert not fits(basis, 4, 2) and not fits(basis, 3, 1) and not fits(None, 3, 2)
    grown = for_model(basis, (np.zeros(3), np.ones(3)), (np.zeros(4), np.ones(4)))
    assert grown.rows.tolist() == [BASIC] * 4


def test_too_many_or_too_few_basic_are_evened_out_first_ones_first() -> None:
    lower, upper = np.array([0.0, 0.0, 1.0, -INF]), np.array([5.0, INF, 1.0, INF])
    rows = (np.array([0.0, -INF]), np.array([0.0, 3.0]))
    many = completed(np.array([BASIC, BASIC, BASIC, AT_UPPER]), np.array([BASIC, AT_UPPER]),
                     (lower, upper), rows)
    # Two rows: the first two basic columns leave the basis, at their lower bound; the
    # free column can sit at no bound.
    assert many.columns.tolist() == [AT_LOWER, AT_LOWER, BASIC, FREE]
    assert many.rows.tolist() == [BASIC, AT_UPPER]
    few = completed(np.array([AT_UPPER, AT_UPPER, AT_LOWER, FREE]),
                    np.array([AT_LOWER, AT_LOWER]), (lower, upper), rows)
    assert few.columns.tolist() == [AT_UPPER, AT_LOWER, FIXED, FREE]
    assert few.rows.tolist() == [BASIC, BASIC]


def test_statuses_are_carried_by_what_their_items_stand_for() -> None:
    old_keys, old = np.array([1, 4, 6, 9]), np.array([BASIC, AT_UPPER, FIXED, AT_LOWER])
    new_keys = np.array([0, 4, 5, 9, 12])
    assert carried(old_keys, old, new_keys, BASIC).tolist() == \
        [BASIC, AT_UPPER, BASIC, AT_LOWER, BASIC]
    assert carried(np.zeros(0, np.int64), np.zeros(0, np.int8), new_keys,
                   AT_LOWER).tolist() == [AT_LOWER] * 5
