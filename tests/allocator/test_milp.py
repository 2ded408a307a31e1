"""The one private OR-Tools call: fails here, loudly, the day OR-Tools changes it."""

from __future__ import annotations

import re

import numpy as np
from ortools.math_opt import model_parameters_pb2, parameters_pb2, result_pb2
from ortools.math_opt.core.python import solver as binding
from ortools.math_opt.python import solve as public_solve

from allocator.milp import BINDING_PARAMETERS, INF, Milp, SolveStatus, solve_proto
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
