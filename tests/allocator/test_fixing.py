"""Stage 3's reduced-cost fixing from stage 2's own relaxation, as on national."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import allocator.distance as distance_module
import allocator.fixing as fixing_module
import allocator.solve as solve_module
from allocator.aggregate import Units
from allocator.check import check_allocation, pair_lookup
from allocator.fixing import _class_pairs, fixed_by_cost
from allocator.milp import SolveStatus
from allocator.model import solution_vector
from allocator.problem import Problem, build_problem
from allocator.validate import read_scenario
from scenarios.synthetic import synthetic


@pytest.fixture(scope="module")
def problem(tmp_path_factory: pytest.TempPathFactory) -> Problem:
    folder = tmp_path_factory.mktemp("round")
    synthetic(3_000, 20, 15, 30, seed=21, budget_share=0.3).write(folder)
    return build_problem(read_scenario(folder))


def _stage_three_inputs(problem: Problem) -> dict[str, Any]:
    """What stage 3 is handed on a round too large for the MIP root (national's path)."""
    seen: dict[str, Any] = {}
    real = distance_module.least_distance

    def spy(problem: Problem, classes: Any, model: Any, sites: Any, optimum: Any,
            *args: Any, **kwargs: Any) -> Any:
        seen.update(classes=classes, model=model, optimum=dict(optimum))
        return real(problem, classes, model, sites, optimum, *args, **kwargs)

    with patch.object(solve_module, "MIP_ROOT_MAX_COLUMNS", 0), \
            patch.object(solve_module, "least_distance", spy):
        seen["result"] = solve_module.solve(problem, time_limit_s=60)
    return seen


def test_stage_twos_relaxation_fixes_stage_three_without_solving_it_again(
        problem: Problem) -> None:
    seen = _stage_three_inputs(problem)
    model, classes, optimum = seen["model"], seen["classes"], seen["optimum"]
    assert 2 in model.relaxations  # stage 2 was settled from its relaxation
    solved: list[int] = []
    real = fixing_module.solve_lp

    def counting(*args: Any, **kwargs: Any) -> Any:
        solved.append(1)
        return real(*args, **kwargs)

    with patch.object(fixing_module, "solve_lp", counting):
        reused = fixed_by_cost(model, problem, classes, optimum[2], 60)
        assert not solved
        relaxations, model.relaxations = model.relaxations, {}
        fresh = fixed_by_cost(model, problem, classes, optimum[2], 60)
        model.relaxations = relaxations
        assert solved
    # Both prove the same LP bound on the public cost, and fix as many columns.
    assert reused.lp_bound == pytest.approx(fresh.lp_bound, abs=1e-6)
    assert int((reused.lb == reused.ub).sum()) == int((fresh.lb == fresh.ub).sum())
    # The fixing holds the exact optimum of every stage (the site model's allocation).
    with patch.object(solve_module, "PRICE_CAPACITY", False):
        exact = solve_module.solve(problem)
    assert exact.status is SolveStatus.OPTIMAL
    x = solution_vector(model, problem, classes, exact.lot_of, exact.point_of)
    assert (x >= reused.lb - 1e-9).all() and (x <= reused.ub + 1e-9).all()


def test_the_national_path_in_small_keeps_every_stage_and_a_true_bound(
        problem: Problem) -> None:
    # Stages 1 and 2 from their relaxations, stage 3 by the relaxation on the binding
    # points and its MIP: the same stages 1-2 as the exact solve, a stage 3 no shorter
    # than its optimum, and a bound no longer.
    with patch.object(solve_module, "PRICE_CAPACITY", False):
        exact = solve_module.solve(problem)
    with patch.object(solve_module, "SITE_MODEL_MAX_COLUMNS", 0), \
            patch.object(distance_module, "RELAXED_MIN_COLUMNS", 0):
        seen = _stage_three_inputs(problem)
    result = seen["result"]
    assert check_allocation(problem, result.lot_of, result.point_of)[0] == []
    assert result.values.as_tuple()[:3] == exact.values.as_tuple()[:3]
    third = result.stages[-1]
    assert third.stage == 3
    assert result.values.stage3 >= exact.values.stage3 - 1e-6
    assert third.bound <= exact.values.stage3 + 1e-6
    assert np.isfinite(third.bound)


def _pairs(runs: list[list[int]]) -> Units:
    """Units with only what a pair list needs: place i reaches the points runs[i]."""
    n = len(runs)
    empty = np.zeros(n, np.int64)
    return Units(group=empty, weight=empty, commune=empty, count=empty,
                 place=np.arange(n, dtype=np.int64),
                 pp_place=np.repeat(np.arange(n, dtype=np.int64), [len(r) for r in runs]),
                 pp_point=np.array([p for r in runs for p in r], np.int64),
                 pp_km=np.zeros(sum(len(r) for r in runs)), hh_unit=empty,
                 place_keep_point=np.full(n, -1), by_site=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sets(st.integers(0, 7), min_size=1), min_size=1, max_size=5),
       st.data())
def test_each_site_pair_is_found_among_its_class_places_pairs(
        class_points: list[set[int]], data: st.DataObject) -> None:
    # A home reaches its class place's points, all of them (found by position, checked)
    # or, held to its kept point, fewer; the rows are those of a search in every case.
    class_runs = [sorted(points) for points in class_points]
    class_of = data.draw(st.lists(st.integers(0, len(class_runs) - 1), min_size=1,
                                  max_size=8))
    home_runs = [sorted(data.draw(st.sets(st.sampled_from(class_runs[c]))))
                 if data.draw(st.booleans()) else class_runs[c] for c in class_of]
    classes, sites = _pairs(class_runs), _pairs(home_runs)
    class_place = np.array(class_of, np.int64)
    rows = _class_pairs(classes, sites, class_place)
    assert rows.tolist() == pair_lookup(classes.pp_place, classes.pp_point,
                                        class_place[sites.pp_place], sites.pp_point).tolist()
    assert (rows >= 0).all()
