"""The one private OR-Tools call: fails here, loudly, the day OR-Tools changes it."""

from __future__ import annotations

import re
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ortools.math_opt import model_parameters_pb2, parameters_pb2, result_pb2
from ortools.math_opt.core.python import solver as binding
from ortools.math_opt.python import solve as public_solve

from allocator import solver_process
from allocator.binding_points import NO_PROBING
from allocator.lp_rounding import price_bound
from allocator.milp import (
    BINDING_PARAMETERS,
    INF,
    Milp,
    Presolve,
    SolveStatus,
    solve_lp,
    solve_proto,
)
from allocator.solver_process import SolverFailed
from tests.allocator.small_models import highs_error_model


def _binding_parameters() -> tuple[str, ...]:
    """Parameter names of the binding, from the signature line pybind11 writes."""
    line = (binding.solve.__doc__ or "").strip().splitlines()[0]
    match = re.fullmatch(r"solve\((.*)\) -> .*SolveResultProto", line)
    assert match, f"the MathOpt binding's signature changed: {line!r}"
    return tuple(re.findall(r"(?:^|, )(\w+): ", match.group(1)))


def test_the_binding_takes_the_parameters_we_pass() -> None:
    assert _binding_parameters() == BINDING_PARAMETERS
    # It is still what MathOpt's public solve calls, so it stays maintained.
    assert public_solve.solver is binding


def _small() -> Milp:
    """max 3x + 2y with x + y <= 4, 2x + y <= 6, x and y integers in 0..5: x = y = 2."""
    milp = Milp()
    x, y = milp.add_vars(0, 5, 2)
    milp.add_row(np.array([x, y]), 1.0, -INF, 4)
    milp.add_row(np.array([x, y]), np.array([2.0, 1.0]), -INF, 6)
    milp.set_objective(np.array([3.0, 2.0]), maximize=True)
    return milp


def test_a_tiny_model_solves_through_the_binding() -> None:
    result = _small().solve(10, 0.5)
    assert result.status is SolveStatus.OPTIMAL
    assert result.values.tolist() == [2.0, 2.0]
    assert result.objective == 10 and result.bound == 10 and not result.out_of_time


def test_hint_node_limit_and_no_presolve_reach_the_solver() -> None:
    result = _small().solve(10, 0.5, seed=7, hint=np.array([2.0, 2.0]), presolve=False,
                            node_limit=1)
    assert result.status is SolveStatus.OPTIMAL and result.values.tolist() == [2.0, 2.0]


def test_infeasible_model_is_reported_as_such() -> None:
    milp = _small()
    x, y = 0, 1
    milp.add_row(np.array([x, y]), 1.0, 11, INF)
    assert milp.solve(10, 0.5).status is SolveStatus.INFEASIBLE


def test_an_error_inside_highs_is_a_status_not_an_exception() -> None:
    milp = highs_error_model()
    result = milp.solve(10.0, 0.5)
    assert result.status in (SolveStatus.ERROR, SolveStatus.INFEASIBLE)
    assert len(result.values) == 0


def test_solve_proto_returns_the_binding_result() -> None:
    milp = _small()
    params = parameters_pb2.SolveParametersProto()
    params.time_limit.seconds = 10
    result = solve_proto(milp.to_proto(), params,
                         model_parameters_pb2.ModelSolveParametersProto())
    assert isinstance(result, result_pb2.SolveResultProto)
    assert result.termination.reason == result_pb2.TERMINATION_REASON_OPTIMAL
    assert result.solutions[0].primal_solution.objective_value == 10


def test_the_joined_entries_follow_every_added_row() -> None:
    # Stages add rows between solves; the joined entries must never miss one, and are
    # made once per set of blocks, not once per reader.
    milp = _small()
    first = milp.entries()
    assert milp.entries() is first
    assert [a.tolist() for a in first] == [[0, 0, 1, 1], [0, 1, 0, 1], [1.0, 1.0, 2.0, 1.0]]
    assert not any(a.flags.writeable for a in first)  # shared: nobody may change them
    milp.add_row(np.array([1]), 3.0, -INF, 9)
    rows, cols, vals = milp.entries()
    assert rows.tolist() == [0, 0, 1, 1, 2] and cols.tolist()[-1] == 1 and vals[-1] == 3.0
    milp.entries_val[0] = np.array([5.0, 5.0])  # a block replaced by hand
    assert milp.entries()[2].tolist() == [5.0, 5.0, 2.0, 1.0, 3.0]
    assert milp.entries_val[0].flags.writeable  # the blocks themselves stay the caller's
    assert all(len(a) == 0 for a in Milp().entries())


def _transport(seed: int, maximize: bool) -> Milp:
    """Supplies sent to demands along random arcs, with one side row on the arcs' weight:
    the shape of stage 3's site models, which GLOP solves."""
    rng = np.random.default_rng(seed)
    n_supply, n_demand = int(rng.integers(2, 8)), int(rng.integers(2, 8))
    tail = np.repeat(np.arange(n_supply), n_demand)
    head = np.tile(np.arange(n_demand), n_supply)
    keep = rng.random(len(tail)) < 0.7
    tail, head = tail[keep], head[keep]
    milp = Milp()
    x = milp.add_vars(0, rng.integers(1, 6, len(tail)).astype(float), len(tail))
    milp.add_rows(tail, x, 1.0, -INF, rng.integers(1, 9, n_supply).astype(float), n_supply)
    milp.add_rows(head, x, 1.0, rng.integers(0, 3, n_demand).astype(float), INF, n_demand)
    milp.add_row(x, rng.integers(1, 5, len(x)).astype(float), -INF, float(rng.integers(5, 40)))
    milp.set_objective(rng.integers(1, 50, len(x)).astype(float), maximize)
    return milp


def _asking(monkeypatch: pytest.MonkeyPatch, answer: Any = None) -> list[int]:
    """The solver types each solve asks the binding for, in order; `answer`, if given,
    answers a GLOP solve in its place (model, params) -> result."""
    asked: list[int] = []
    binding_solve = solver_process.solve_binding

    def recording(model: Any, params: Any, model_params: Any, solver_type: int) -> Any:
        asked.append(solver_type)
        if answer is not None and solver_type == parameters_pb2.SOLVER_TYPE_GLOP:
            return answer(model, params)
        return binding_solve(model, params, model_params, solver_type)

    monkeypatch.setattr(solver_process, "solve_binding", recording)
    return asked


GLOP, HIGHS = parameters_pb2.SOLVER_TYPE_GLOP, parameters_pb2.SOLVER_TYPE_HIGHS


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.booleans(), st.booleans())
def test_glop_reaches_highs_optimum_with_prices_that_prove_it(seed: int, maximize: bool,
                                                              presolve: bool) -> None:
    milp = _transport(seed, maximize)
    with pytest.MonkeyPatch.context() as monkeypatch:
        asked = _asking(monkeypatch)
        glop = solve_lp(milp, 30.0, presolve=presolve, solver="glop")
        assert asked == [GLOP]  # GLOP answered, optimal or infeasible, on its own
    highs = solve_lp(milp, 30.0, presolve=presolve)
    assert glop.status is highs.status
    if highs.status is not SolveStatus.OPTIMAL:
        assert highs.status is SolveStatus.INFEASIBLE
        return
    assert glop.objective == pytest.approx(highs.objective, abs=1e-6)
    assert float(glop.values @ milp.objective) == pytest.approx(highs.objective, abs=1e-6)
    # (the bound recomputed from GLOP's row prices alone is the optimum)
    assert price_bound(milp, glop) == pytest.approx(highs.objective, abs=1e-6)


def test_an_lp_glop_does_not_finish_goes_to_highs(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(model: Any, params: Any) -> Any:
        raise SolverFailed("numerical trouble")

    asked = _asking(monkeypatch, failing)
    milp = _transport(3, True)
    lp = solve_lp(milp, 30.0, solver="glop")
    assert asked == [GLOP, HIGHS]
    assert lp.status is SolveStatus.OPTIMAL
    assert price_bound(milp, lp) == pytest.approx(lp.objective, abs=1e-6)


def test_an_lp_glop_ends_without_an_optimum_goes_to_highs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # GLOP reports an infeasible model with free columns as infeasible or unbounded.
    def undecided(model: Any, params: Any) -> Any:
        result = result_pb2.SolveResultProto()
        result.termination.reason = result_pb2.TERMINATION_REASON_INFEASIBLE_OR_UNBOUNDED
        return result

    asked = _asking(monkeypatch, undecided)
    lp = solve_lp(_transport(3, False), 30.0, solver="glop")
    assert asked == [GLOP, HIGHS]
    assert lp.status is SolveStatus.OPTIMAL


def test_an_lp_glop_stopped_at_its_time_limit_is_not_solved_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(model: Any, params: Any) -> Any:
        time.sleep(0.3)
        return solver_process.stopped(model)

    asked = _asking(monkeypatch, slow)
    lp = solve_lp(_transport(3, False), 0.2, solver="glop")
    assert asked == [GLOP]  # no time left for HiGHS
    assert lp.status is SolveStatus.NO_SOLUTION


def test_an_lp_glop_proves_infeasible_is_not_solved_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _asking(monkeypatch)
    milp = _small()
    milp.add_row(np.array([0, 1]), 1.0, 11, INF)  # x + y >= 11 where x + y <= 4
    assert solve_lp(milp, 30.0, solver="glop").status is SolveStatus.INFEASIBLE
    assert asked == [GLOP]


def test_a_presolve_cut_short_reaches_highs_and_keeps_the_optimum(
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    # HiGHS must know every option the limits set (an unknown one fails the solve) and
    # act on them: with no reduction allowed, its log says the model was not reduced.
    binding_solve = solver_process.solve_binding

    def logged(model: Any, params: Any, model_params: Any, solver_type: int) -> Any:
        params.enable_output = True
        return binding_solve(model, params, model_params, solver_type)

    def reducible() -> Milp:
        milp = _small()  # and z fixed at 1 in a row of its own, which presolve removes
        z = milp.add_vars(1, 1, 1)
        milp.add_row(z, 1.0, -INF, 3)
        milp.set_objective(np.array([3.0, 2.0, 1.0]), maximize=True)
        return milp

    monkeypatch.setattr(solver_process, "solve_binding", logged)
    cut = reducible().solve(10, 0.5, limits=Presolve(NO_PROBING, reductions=0, root_only=True))
    assert "Not reduced" in capfd.readouterr().out
    whole = reducible().solve(10, 0.5)
    assert "Not reduced" not in capfd.readouterr().out
    assert cut.status is whole.status is SolveStatus.OPTIMAL
    assert cut.objective == whole.objective == 11.0
    assert list(cut.values) == [2.0, 2.0, 1.0]


def test_the_closed_stages_presolve_leaves_out_probing(capfd: pytest.CaptureFixture[str]
                                                       ) -> None:
    # binding_points.NO_PROBING is a bit of HiGHS's presolve_rule_off, whose numbering
    # moves between HiGHS versions: HiGHS itself must name the rule it turns off.
    params = parameters_pb2.SolveParametersProto()
    params.enable_output = True
    params.highs.int_options["presolve_rule_off"] = NO_PROBING
    result = solver_process.solve_binding(_small().to_proto(), params,
                                          model_parameters_pb2.ModelSolveParametersProto())
    assert result.termination.reason == result_pb2.TERMINATION_REASON_OPTIMAL
    said = [line for line in capfd.readouterr().out.splitlines()
            if f"(bit {NO_PROBING})" in line]
    assert said and all("Probing" in line for line in said)
