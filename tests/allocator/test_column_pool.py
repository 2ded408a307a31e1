"""An LP solved on a pool of its columns and priced out is the whole LP's optimum."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import allocator.column_pool as column_pool
from allocator.column_pool import restricted, solve_on_pool
from allocator.lp_rounding import priced_bound
from allocator.milp import Milp, SolveStatus, solve_lp


def _transport(seed: int, maximize: bool) -> Milp:
    """Supplies to demands over random arcs, each demand met exactly (lower bound 0 on
    every arc, so any arc may be left out of a pool)."""
    rng = np.random.default_rng(seed)
    n_supply, n_demand = int(rng.integers(2, 6)), int(rng.integers(2, 8))
    arcs = [(s, d) for s in range(n_supply) for d in range(n_demand) if rng.random() < 0.7]
    arcs += [(int(rng.integers(n_supply)), d) for d in range(n_demand)]  # each demand reached
    tail = np.array([a[0] for a in arcs])
    head = np.array([a[1] for a in arcs])
    demand = rng.integers(1, 10, n_demand).astype(float)
    milp = Milp()
    x = milp.add_vars(0.0, 50.0, len(arcs), integer=False)
    milp.add_rows(tail, x, 1.0, -np.inf, float(demand.sum()), n_supply)
    milp.add_rows(head, x, 1.0, demand, demand, n_demand)
    cost = rng.integers(1, 20, len(arcs)).astype(float)
    milp.set_objective(-cost if maximize else cost, maximize)
    return milp


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.booleans(), st.integers(0, 2**32 - 1))
def test_a_pool_priced_out_reaches_the_whole_lps_optimum(seed: int, maximize: bool,
                                                         pool_seed: int) -> None:
    milp = _transport(seed, maximize)
    pool = np.random.default_rng(pool_seed).random(milp.n_vars) < 0.4
    pooled = solve_on_pool(milp, pool, 30.0)
    whole = solve_lp(milp, 30.0)
    assert whole.status is SolveStatus.OPTIMAL and pooled.lp.status is SolveStatus.OPTIMAL
    x = pooled.lp.values
    assert float(x @ milp.objective) == pytest.approx(whole.objective, abs=1e-6)
    bound = priced_bound(milp, pooled.lp)[0]  # over every column, the pool's prices
    assert bound == pytest.approx(whole.objective, abs=1e-6)
    assert (x[np.setdiff1d(np.arange(milp.n_vars), pooled.columns)] == 0).all()


def test_a_pool_that_cannot_meet_the_rows_gives_way_to_the_whole_model() -> None:
    milp = _transport(3, False)
    one = np.zeros(milp.n_vars, bool)
    one[0] = True  # one arc cannot meet every demand
    pooled = solve_on_pool(milp, one, 30.0)
    assert pooled.lp.status is SolveStatus.OPTIMAL
    assert len(pooled.columns) == milp.n_vars
    assert pooled.lp.objective == pytest.approx(solve_lp(milp, 30.0).objective, abs=1e-6)


def test_columns_left_out_must_be_able_to_stay_at_zero() -> None:
    milp = _transport(5, False)
    milp.lb[0][0] = 1.0
    pool = np.ones(milp.n_vars, bool)
    pool[0] = False
    with pytest.raises(ValueError, match="lower bound of 0"):
        solve_on_pool(milp, pool, 30.0)


def test_the_restricted_model_keeps_every_row_and_only_the_pools_entries() -> None:
    milp = _transport(7, False)
    columns = np.array([0, 2, 3])
    sub = restricted(milp, columns)
    assert sub.n_rows == milp.n_rows and sub.n_vars == 3
    rows, cols, vals = milp.entries()
    keep = np.isin(cols, columns)
    sub_rows, sub_cols, _ = sub.entries()
    assert np.array_equal(np.sort(sub_rows), np.sort(rows[keep]))
    assert np.array_equal(np.sort(columns[sub_cols]), np.sort(cols[keep]))
    assert sub.objective is not None and milp.objective is not None
    assert np.array_equal(sub.objective, milp.objective[columns])


def _larger(seed: int) -> Milp:
    """A transport model with a few hundred arcs, so pricing joins columns in steps."""
    rng = np.random.default_rng(seed)
    n_supply, n_demand = 15, 25
    tail = np.repeat(np.arange(n_supply), n_demand)
    head = np.tile(np.arange(n_demand), n_supply)
    demand = rng.integers(1, 10, n_demand).astype(float)
    milp = Milp()
    x = milp.add_vars(0.0, 20.0, len(tail), integer=False)
    milp.add_rows(tail, x, 1.0, -np.inf, float(demand.sum()) / 3, n_supply)
    milp.add_rows(head, x, 1.0, demand, demand, n_demand)
    milp.set_objective(rng.integers(1, 100, len(tail)).astype(float), False)
    return milp


@pytest.mark.parametrize("solver", ["glop", "highs"])
@pytest.mark.parametrize("presolve", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_columns_join_the_most_promising_first_and_still_reach_the_optimum(
        seed: int, presolve: bool, solver: str, monkeypatch: pytest.MonkeyPatch) -> None:
    milp = _larger(seed)
    monkeypatch.setattr(column_pool, "MIN_JOINS", 1)
    monkeypatch.setattr(column_pool, "JOIN_SHARE", 0.05)
    monkeypatch.setattr(column_pool, "MAX_PRICINGS", 200)
    solved: list[int] = []
    real = column_pool.solve_lp

    def counting(model: Milp, *args: Any, **kwargs: Any) -> Any:
        solved.append(model.n_vars)
        assert kwargs["presolve"] is presolve  # (each LP with its solver's presolve or not)
        assert kwargs["solver"] == solver
        return real(model, *args, **kwargs)

    monkeypatch.setattr(column_pool, "solve_lp", counting)
    pool = np.zeros(milp.n_vars, bool)
    first = np.random.default_rng(seed).choice(15, 5, replace=False)
    pool[np.isin(np.arange(milp.n_vars) // 25, first)] = True  # 5 supplies: enough
    pooled = solve_on_pool(milp, pool, 60.0, presolve=presolve, solver=solver)
    whole = real(milp, 60.0)  # (HiGHS, on every column)
    assert pooled.lp.status is SolveStatus.OPTIMAL
    assert float(pooled.lp.values @ milp.objective) == pytest.approx(whole.objective, abs=1e-6)
    assert pooled.bound == pytest.approx(whole.objective, abs=1e-6)  # (its prices prove it)
    # Joined a few at a time: each pricing adds at most 5% of the pool (at least one).
    assert len(solved) > 2
    assert all(b - a <= max(int(0.05 * a), 1) for a, b in zip(solved, solved[1:]))


def test_pricing_stops_when_few_would_join_with_a_bound_that_still_holds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    milp = _larger(4)
    whole = solve_lp(milp, 60.0)
    monkeypatch.setattr(column_pool, "FEW_JOINS", 10.0)  # stop at the first pricing
    pool = np.zeros(milp.n_vars, bool)
    pool[::3] = True
    pooled = solve_on_pool(milp, pool, 60.0)
    assert len(pooled.columns) == int(pool.sum())  # solved once, on the pool given
    priced_in = pooled.pool & ~pool
    assert priced_in.any()  # those that would join are kept for next time
    assert priced_bound(milp, pooled.lp)[0] <= whole.objective + 1e-6
    assert float(pooled.lp.values @ milp.objective) >= whole.objective - 1e-6


def test_the_columns_that_join_are_those_whose_reduced_cost_gains_most(
        monkeypatch: pytest.MonkeyPatch) -> None:
    milp = _larger(5)
    monkeypatch.setattr(column_pool, "MIN_JOINS", 1)
    monkeypatch.setattr(column_pool, "JOIN_SHARE", 0.05)
    monkeypatch.setattr(column_pool, "MAX_PRICINGS", 1)  # one pricing, its joins kept
    pool = np.zeros(milp.n_vars, bool)
    pool[: 5 * 25] = True
    pooled = solve_on_pool(milp, pool, 60.0)
    _, rc = priced_bound(milp, pooled.lp)  # the prices the joins were chosen by
    joined = pooled.pool & ~pool
    left = ~pooled.pool & (rc < -1e-9)
    assert joined.sum() == max(int(0.05 * pool.sum()), 1) and left.any()
    assert rc[joined].max() <= rc[left].min()
