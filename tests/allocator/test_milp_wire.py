"""The ModelProto written as wire bytes equals the one `extend` builds, field by field."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from ortools.math_opt import model_pb2

from allocator.milp import INF, Milp, _cat


def _built_by_extend(milp: Milp) -> model_pb2.ModelProto:
    proto = model_pb2.ModelProto()
    proto.variables.ids.extend(range(milp.n_vars))
    proto.variables.lower_bounds.extend(_cat(milp.lb).tolist())
    proto.variables.upper_bounds.extend(_cat(milp.ub).tolist())
    proto.variables.integers.extend(_cat(milp.integer, bool).tolist())
    if milp.objective is not None:
        nz = np.flatnonzero(milp.objective)
        proto.objective.maximize = milp.maximize
        proto.objective.linear_coefficients.ids.extend(nz.tolist())
        proto.objective.linear_coefficients.values.extend(milp.objective[nz].tolist())
    proto.linear_constraints.ids.extend(range(milp.n_rows))
    proto.linear_constraints.lower_bounds.extend(_cat(milp.row_lb).tolist())
    proto.linear_constraints.upper_bounds.extend(_cat(milp.row_ub).tolist())
    row, col, val = (_cat(milp.entries_row, np.int64), _cat(milp.entries_col, np.int64),
                     _cat(milp.entries_val))
    order = np.lexsort((col, row))
    row, col, val = row[order], col[order], val[order]
    keep = np.concatenate(([True], (row[1:] != row[:-1]) | (col[1:] != col[:-1])))
    val = np.bincount(np.cumsum(keep) - 1, weights=val)
    row, col = row[keep], col[keep]
    nz = val != 0
    proto.linear_constraint_matrix.row_ids.extend(row[nz].tolist())
    proto.linear_constraint_matrix.column_ids.extend(col[nz].tolist())
    proto.linear_constraint_matrix.coefficients.extend(val[nz].tolist())
    return proto


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 400), st.integers(1, 5))
def test_wire_proto_equals_extend_proto(seed: int, n: int, blocks: int) -> None:
    rng = np.random.default_rng(seed)
    milp = Milp()
    milp.add_vars(rng.integers(-3, 1, n), np.where(rng.random(n) < 0.1, INF, 2.0 ** 40), n)
    milp.add_vars(0, 1, 3, integer=False)
    milp.set_objective(np.where(rng.random(milp.n_vars) < 0.5, 0.0,
                                rng.normal(size=milp.n_vars)), bool(seed % 2))
    for _ in range(blocks):
        rows = int(rng.integers(1, 30))
        k = int(rng.integers(1, 3 * n))
        val = rng.choice([0.0, 1.0, -1.0, 0.5, 1e-300], k)  # zeros and duplicates too
        milp.add_rows(rng.integers(0, rows, k), rng.integers(0, milp.n_vars, k), val,
                      -INF, rng.integers(0, 2**40, rows).astype(float), rows)
        assert milp.to_proto() == _built_by_extend(milp)
    milp.set_row_ub(milp.n_rows - 1, 7.0)  # a bound changed between solves
    milp.lb[0][0] = -1.0
    assert milp.to_proto() == _built_by_extend(milp)
    assert milp.to_proto().SerializeToString() == _built_by_extend(milp).SerializeToString()
