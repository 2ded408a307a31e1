"""A small sparse mixed-integer program, solved by HiGHS through OR-Tools MathOpt.

Models are assembled from numpy arrays straight into MathOpt's ModelProto, so a
model with millions of non-zeros is built in a few vectorised steps instead of
one Python expression per term. Callers see only `MilpResult` and
`SolveStatus`, never OR-Tools codes.

HiGHS is reached through MathOpt's proto-level binding, the one its public
`mathopt.solve` calls, through `solve_proto` only; see there for why and for the
test that guards it.
"""

from __future__ import annotations

import datetime
import enum
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from ortools.math_opt import (
    model_parameters_pb2,
    model_pb2,
    parameters_pb2,
    result_pb2,
    solution_pb2,
)
from pybind11_abseil.status import StatusNotOk  # what the binding raises when HiGHS fails

from allocator import solver_process
from allocator.basis import Basis, fits, for_model
from allocator.ordering import order_by
from allocator.solver_process import SolverFailed  # the same, from the helper process

INF = float("inf")
LpSolver = Literal["highs", "glop"]
FALLBACK_MIN_S = 1.0  # HiGHS takes over an LP from GLOP only with this much time left
# The parameters of the internal binding, in order, as OR-Tools 9.15 declares them.
BINDING_PARAMETERS = ("model", "solver_type", "solver_initializer", "parameters",
                      "model_parameters", "message_callback", "callback_registration",
                      "user_cb", "interrupter")


class SolveStatus(enum.StrEnum):
    """Outcome of one solve, independent of the solver used."""

    OPTIMAL = "OPTIMAL"
    FEASIBLE = "FEASIBLE"  # stopped by the time limit with a solution and a gap
    INFEASIBLE = "INFEASIBLE"
    NO_SOLUTION = "NO_SOLUTION"  # stopped before any solution was found
    ERROR = "ERROR"


@dataclass(frozen=True)
class Presolve:
    """How much of HiGHS's MIP presolve runs (all of it, by default)."""

    rules_off: int = 0              # HiGHS's bit mask of rules not to try (presolve_rule_off)
    reductions: int | None = None   # stop after this many reductions (presolve_reduction_limit)
    root_only: bool = False         # no second presolve of the root LP (mip_root_presolve_only)


FULL_PRESOLVE = Presolve()


@dataclass
class MilpResult:
    status: SolveStatus
    values: np.ndarray  # one value per variable (empty when there is no solution)
    objective: float
    bound: float
    seconds: float
    out_of_time: bool = False  # stopped by the time limit (not by a work limit)


@dataclass
class Milp:
    """Variables, linear rows and a linear objective, all as growing arrays."""

    lb: list[np.ndarray] = field(default_factory=list)
    ub: list[np.ndarray] = field(default_factory=list)
    integer: list[np.ndarray] = field(default_factory=list)
    row_lb: list[np.ndarray] = field(default_factory=list)
    row_ub: list[np.ndarray] = field(default_factory=list)
    entries_row: list[np.ndarray] = field(default_factory=list)
    entries_col: list[np.ndarray] = field(default_factory=list)
    entries_val: list[np.ndarray] = field(default_factory=list)
    n_vars: int = 0
    n_rows: int = 0
    objective: np.ndarray | None = None
    maximize: bool = False
    # Each row block's matrix entries, sorted and encoded once: a lexicographic solve
    # builds the proto once per stage and attempt, and only adds rows in between
    # (entry arrays are never changed in place; row and column bounds may be).
    _encoded: list[tuple[np.ndarray, np.ndarray, np.ndarray, bytes]] = field(
        default_factory=list, repr=False, compare=False)
    # Every block's entries concatenated, with the blocks they were made from: the
    # price bound and the exact row check read them several times a stage (a million
    # entries at national scale) while rows are added only between stages.
    _joined: tuple[list[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]] | None = \
        field(default=None, repr=False, compare=False)

    def add_vars(self, lb: np.ndarray | float, ub: np.ndarray | float, n: int,
                 integer: bool = True) -> np.ndarray:
        """Add n variables; returns their column indices."""
        lb_arr = np.broadcast_to(np.asarray(lb, dtype=np.float64), (n,))
        ub_arr = np.broadcast_to(np.asarray(ub, dtype=np.float64), (n,))
        self.lb.append(lb_arr.copy())
        self.ub.append(ub_arr.copy())
        self.integer.append(np.full(n, integer))
        cols = np.arange(self.n_vars, self.n_vars + n, dtype=np.int64)
        self.n_vars += n
        return cols

    def add_rows(self, row: np.ndarray, col: np.ndarray, val: np.ndarray | float,
                 lb: np.ndarray | float, ub: np.ndarray | float, n: int) -> np.ndarray:
        """Add n rows lb <= A x <= ub, with A's entries given by local row index."""
        rows = np.arange(self.n_rows, self.n_rows + n, dtype=np.int64)
        self.row_lb.append(np.broadcast_to(np.asarray(lb, dtype=np.float64), (n,)).copy())
        self.row_ub.append(np.broadcast_to(np.asarray(ub, dtype=np.float64), (n,)).copy())
        row = np.asarray(row, dtype=np.int64)
        self.entries_row.append(row + self.n_rows)
        self.entries_col.append(np.asarray(col, dtype=np.int64))
        self.entries_val.append(
            np.broadcast_to(np.asarray(val, dtype=np.float64), row.shape).copy())
        self.n_rows += n
        return rows

    def add_row(self, col: np.ndarray, val: np.ndarray | float, lb: float, ub: float) -> int:
        """Add one row lb <= sum(val * x[col]) <= ub."""
        col = np.asarray(col, dtype=np.int64)
        return int(self.add_rows(np.zeros(len(col), dtype=np.int64), col, val, lb, ub, 1)[0])

    def entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The matrix entries of every row block as one (rows, cols, vals), read-only.

        Made again whenever the blocks are not those it was made from (a row added, or
        a block list changed by hand), so it never describes rows the model lacks.
        """
        blocks = [*self.entries_row, *self.entries_col, *self.entries_val]
        if self._joined is not None and len(self._joined[0]) == len(blocks) and all(
                a is b for a, b in zip(self._joined[0], blocks, strict=True)):
            return self._joined[1]
        joined = (_cat(self.entries_row, np.int64), _cat(self.entries_col, np.int64),
                  _cat(self.entries_val))
        for array in joined:
            array.flags.writeable = False
        self._joined = (blocks, joined)
        return joined

    def variant(self) -> Milp:
        """A copy whose bounds may be changed and rows added without touching this model.

        The matrix entries (never changed in place) and their encodings are shared, so
        a variant of a national model costs its bound arrays, not its million entries.
        """
        return Milp(lb=[_cat(self.lb)], ub=[_cat(self.ub)], integer=[_cat(self.integer, bool)],
                    row_lb=[_cat(self.row_lb)], row_ub=[_cat(self.row_ub)],
                    entries_row=list(self.entries_row), entries_col=list(self.entries_col),
                    entries_val=list(self.entries_val), n_vars=self.n_vars,
                    n_rows=self.n_rows, objective=self.objective, maximize=self.maximize,
                    _encoded=list(self._encoded))

    def _row_block(self, row: int) -> tuple[int, int]:
        start = 0
        for block, bounds in enumerate(self.row_ub):
            if row < start + len(bounds):
                return block, row - start
            start += len(bounds)
        raise IndexError(row)

    def row_ub_of(self, row: int) -> float:
        block, offset = self._row_block(row)
        return float(self.row_ub[block][offset])

    def set_row_ub(self, row: int, value: float) -> None:
        block, offset = self._row_block(row)
        self.row_ub[block][offset] = value

    def set_objective(self, coefficients: np.ndarray, maximize: bool) -> None:
        self.objective = np.asarray(coefficients, dtype=np.float64)
        self.maximize = maximize

    def to_proto(self) -> model_pb2.ModelProto:
        """The model as MathOpt's ModelProto, its long fields written as packed wire bytes.

        Filling repeated fields from Python lists costs about 0.4 s per solve at 500,000
        columns; numpy writes the same bytes in a fraction of that, and protobuf parses
        them in C. The result equals field by field what `extend` would have built.
        """
        proto = model_pb2.ModelProto()
        proto.variables.MergeFromString(
            _packed_ints(1, np.arange(self.n_vars, dtype=np.int64))
            + _packed_doubles(2, _cat(self.lb)) + _packed_doubles(3, _cat(self.ub))
            + _packed_ints(4, _cat(self.integer, np.int64)))
        if self.objective is not None:
            nz = np.flatnonzero(self.objective)
            proto.objective.maximize = self.maximize
            proto.objective.linear_coefficients.MergeFromString(
                _packed_ints(1, nz) + _packed_doubles(2, self.objective[nz]))
        proto.linear_constraints.MergeFromString(
            _packed_ints(1, np.arange(self.n_rows, dtype=np.int64))
            + _packed_doubles(2, _cat(self.row_lb)) + _packed_doubles(3, _cat(self.row_ub)))
        # Blocks hold disjoint, increasing row ranges (see add_rows), so the entries
        # sorted block by block are sorted as a whole, and a parser appends the packed
        # fields of consecutive blocks in order.
        proto.linear_constraint_matrix.MergeFromString(b"".join(self._encoded_blocks()))
        return proto

    def _encoded_blocks(self) -> list[bytes]:
        blocks = list(zip(self.entries_row, self.entries_col, self.entries_val, strict=True))
        for i, (row, col, val) in enumerate(blocks):
            cached = self._encoded[i] if i < len(self._encoded) else None
            if cached and cached[0] is row and cached[1] is col and cached[2] is val:
                continue
            del self._encoded[i:]
            self._encoded.append((row, col, val, _encode_entries(row, col, val)))
        del self._encoded[len(blocks):]
        return [entry[3] for entry in self._encoded]

    def solve(self, time_limit_s: float, absolute_gap: float, seed: int = 0,
              hint: np.ndarray | None = None, presolve: bool = True,
              node_limit: int | None = None, feasibility_jump: bool = True,
              box: tuple[np.ndarray, np.ndarray] | None = None,
              integrality: float = 1e-9, limits: Presolve = FULL_PRESOLVE) -> MilpResult:
        """Solve with HiGHS; gaps are tightened so 'optimal' means what it says.

        `hint`, a feasible value for every variable, gives the solver a first incumbent.
        `presolve=False` skips HiGHS's MIP presolve, which on near-network models
        can cost more than the solve itself. `node_limit` bounds the branch-and-bound
        work deterministically (unlike time, it does not depend on the machine's load).
        `feasibility_jump=False` skips a heuristic HiGHS runs before the root to find a
        first solution: with a feasible hint it rarely finds a better one, and at 50,000
        columns it costs 0.4 s. `box`, (lower, upper) per column, replaces the columns'
        bounds for this solve only. `integrality` is HiGHS's MIP feasibility tolerance
        (how near an integer a value, and how near its side a row, must be); a caller
        that loosens it checks the rounded solution itself. `limits` leaves parts of
        HiGHS's presolve out (`Presolve`): a presolve stopped early leaves the model
        larger, never different in its optimum.
        """
        started = time.perf_counter()
        if self.n_vars == 0:  # nothing to decide (nobody can be served)
            return MilpResult(SolveStatus.OPTIMAL, np.zeros(0), 0.0, 0.0, 0.0)
        params = parameters_pb2.SolveParametersProto()
        seconds = min(max(time_limit_s, 0.001), 1e7)
        params.time_limit.FromTimedelta(datetime.timedelta(seconds=seconds))
        params.relative_gap_tolerance = 0.0
        params.absolute_gap_tolerance = absolute_gap
        params.random_seed = int(seed) % 2_147_483_647
        params.highs.double_options["mip_feasibility_tolerance"] = integrality
        params.highs.double_options["primal_feasibility_tolerance"] = 1e-9
        params.highs.double_options["dual_feasibility_tolerance"] = 1e-9
        if not presolve:
            params.highs.string_options["presolve"] = "off"
        if limits.rules_off:
            params.highs.int_options["presolve_rule_off"] = limits.rules_off
        if limits.reductions is not None:
            params.highs.int_options["presolve_reduction_limit"] = limits.reductions
        if limits.root_only:
            params.highs.bool_options["mip_root_presolve_only"] = True
        if node_limit is not None:
            params.node_limit = node_limit
        if not feasibility_jump:
            params.highs.bool_options["mip_heuristic_run_feasibility_jump"] = False
        model_params = model_parameters_pb2.ModelSolveParametersProto()
        if hint is not None:  # every variable, zeros included: HiGHS takes it as complete
            model_params.solution_hints.add().variable_values.MergeFromString(
                _packed_ints(1, np.arange(self.n_vars, dtype=np.int64))
                + _packed_doubles(2, np.asarray(hint, dtype=np.float64)))
        proto = self.to_proto()
        if box is not None:
            del proto.variables.lower_bounds[:]
            del proto.variables.upper_bounds[:]
            proto.variables.MergeFromString(
                _packed_doubles(2, box[0]) + _packed_doubles(3, box[1]))
        try:
            proto_result = solve_proto(proto, params, model_params)
        except (StatusNotOk, SolverFailed):  # HiGHS's error (seen on tiny MIPs, no integer point)
            return MilpResult(SolveStatus.ERROR, np.zeros(0), float("nan"), float("nan"),
                              time.perf_counter() - started)
        return _parse(proto_result, self.n_vars, time.perf_counter() - started)


@dataclass
class LpResult:
    """The linear relaxation's optimum, with one dual value per row."""

    status: SolveStatus
    values: np.ndarray
    objective: float
    duals: np.ndarray  # per row: change of the optimal objective per unit of its active bound
    basis: Basis | None = None  # the solver's, at its optimum


def solve_lp(milp: Milp, time_limit_s: float = 60.0, presolve: bool = True,
             solver: LpSolver = "highs", basis: Basis | None = None,
             primal: bool = False) -> LpResult:
    """Solve `milp` with integrality dropped, through the same proto path, with row duals.

    MathOpt's dual of a row is the derivative of the optimal objective by the row's
    active bound (for maximisation and minimisation alike), so a positive dual on a
    `<=` row of a maximisation is what one more unit of that limit is worth.
    `presolve=False` skips the solver's presolve, which on a class model of up to about
    a hundred thousand columns costs more than it saves (on national's it halves the LP).

    `solver` "glop" solves with GLOP's dual simplex instead of HiGHS. On stage 3's site
    models (a transport of households to sites with a few side rows) it is four to
    five times quicker (national's relaxation on its binding points, 508,012 columns:
    2.6 s against HiGHS's 13.4 s); on the class models of stages 0-2 it is four times
    slower, so those stay with HiGHS. Should GLOP end without an optimum or a proof of
    infeasibility (a numerical failure, its helper's death, a stop at its time limit)
    while at least FALLBACK_MIN_S of the time remains, HiGHS solves it.

    `basis`, one of this model or of it before rows were added (basis.fits; others are
    not used), completed for it (basis.for_model: the added rows' slacks basic), is
    where GLOP starts, without its presolve (MathOpt turns it off for a start); HiGHS,
    through MathOpt, takes none. A basis GLOP refuses goes to HiGHS like any other
    failure. The optimal basis comes
    back in the result, from either solver. `primal`: GLOP's primal simplex instead,
    for a basis that meets the rows but not yet the objective (the same model, a row
    added that it meets, a new objective).
    """
    if milp.n_vars == 0:
        return LpResult(SolveStatus.OPTIMAL, np.zeros(0), 0.0, np.zeros(milp.n_rows))
    started = time.perf_counter()
    proto = milp.to_proto()
    del proto.variables.integers[:]
    proto.variables.integers.extend([False] * milp.n_vars)
    if solver == "glop":
        lp = _lp(milp, proto, time_limit_s, presolve, parameters_pb2.SOLVER_TYPE_GLOP, basis,
                 primal)
        left = time_limit_s - (time.perf_counter() - started)
        if lp.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE) or left < FALLBACK_MIN_S:
            return lp
        time_limit_s = left
    return _lp(milp, proto, time_limit_s, presolve, parameters_pb2.SOLVER_TYPE_HIGHS)


def _lp(milp: Milp, proto: model_pb2.ModelProto, time_limit_s: float, presolve: bool,
        solver_type: int, basis: Basis | None = None, primal: bool = False) -> LpResult:
    params = parameters_pb2.SolveParametersProto()
    params.time_limit.FromTimedelta(datetime.timedelta(seconds=min(max(time_limit_s, 0.001),
                                                                   1e7)))
    if solver_type == parameters_pb2.SOLVER_TYPE_GLOP:
        params.lp_algorithm = parameters_pb2.LP_ALGORITHM_PRIMAL_SIMPLEX if primal \
            else parameters_pb2.LP_ALGORITHM_DUAL_SIMPLEX
        if not presolve:
            params.presolve = parameters_pb2.EMPHASIS_OFF
    elif not presolve:
        params.highs.string_options["presolve"] = "off"
    model_params = model_parameters_pb2.ModelSolveParametersProto()
    # Only what is read comes back: values but the zeros (by id), no reduced costs
    # (priced_bound computes its own). A smaller answer to copy out of the solver and
    # between processes: national's relaxation LP, 14.2 MB to 5.7 MB.
    model_params.variable_values_filter.skip_zero_values = True
    model_params.reduced_costs_filter.filter_by_ids = True
    if solver_type == parameters_pb2.SOLVER_TYPE_GLOP and fits(basis, milp.n_vars,
                                                               milp.n_rows):
        assert basis is not None
        start = for_model(basis, (_cat(milp.lb), _cat(milp.ub)),
                          (_cat(milp.row_lb), _cat(milp.row_ub)))
        model_params.initial_basis.MergeFromString(
            _packed(1, _statuses(start.rows)) + _packed(2, _statuses(start.columns)))
    try:
        result = solve_proto(proto, params, model_params, solver_type)
    except (StatusNotOk, SolverFailed):  # the solver's own error: no optimum to report
        return LpResult(SolveStatus.ERROR, np.zeros(0), float("nan"), np.zeros(milp.n_rows))
    parsed = _parse(result, milp.n_vars, 0.0)
    duals = np.zeros(milp.n_rows)
    found = None
    if parsed.status is SolveStatus.OPTIMAL and result.solutions[0].HasField("dual_solution"):
        dual = result.solutions[0].dual_solution.dual_values
        duals[np.asarray(dual.ids, dtype=np.int64)] = np.asarray(dual.values)
    if parsed.status is SolveStatus.OPTIMAL and result.solutions[0].HasField("basis"):
        found = Basis(_read_statuses(result.solutions[0].basis.variable_status, milp.n_vars),
                      _read_statuses(result.solutions[0].basis.constraint_status, milp.n_rows))
    return LpResult(parsed.status, parsed.values, parsed.objective, duals, found)


def _statuses(status: np.ndarray) -> bytes:
    """A SparseBasisStatusVector of every item, in order."""
    return _packed_ints(1, np.arange(len(status), dtype=np.int64)) + _packed(2, _varints(status))


def _read_statuses(vector: solution_pb2.SparseBasisStatusVector, n: int) -> np.ndarray:
    status = np.zeros(n, np.int8)
    status[np.asarray(vector.ids, dtype=np.int64)] = np.asarray(vector.values, dtype=np.int8)
    return status


def solve_proto(model: model_pb2.ModelProto, params: parameters_pb2.SolveParametersProto,
                model_params: model_parameters_pb2.ModelSolveParametersProto,
                solver_type: int = parameters_pb2.SOLVER_TYPE_HIGHS
                ) -> result_pb2.SolveResultProto:
    """Solve a ModelProto with HiGHS (or `solver_type`, GLOP for some LPs) through
    MathOpt's internal binding: the one private call.

    The public `mathopt.solve` takes a `mathopt.Model` and turns the hint and the result
    into dicts with one Python object per variable: about 0.4 s more per solve at 80,000
    variables, several solves per round. The binding beneath it takes and returns protos,
    which numpy fills and reads in milliseconds. It is not public API, so it is called
    only in `solver_process.solve_binding`, by keyword (a renamed or reordered parameter
    fails at once instead of binding the wrong argument); tests/allocator/test_milp.py
    checks its parameters against BINDING_PARAMETERS and solves a tiny model through it.
    Large models are solved in a helper process that is stopped if the solver runs past
    its time limit (solver_process.py).
    """
    return solver_process.solve(model, params, model_params, solver_type)


def _cat(parts: list[np.ndarray], dtype: type = np.float64) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def _encode_entries(row: np.ndarray, col: np.ndarray, val: np.ndarray) -> bytes:
    """One block's entries as SparseDoubleMatrixProto bytes, sorted by (row, column),
    duplicates summed and zeros dropped, as MathOpt wants them."""
    row, col = np.asarray(row, np.int64), np.asarray(col, np.int64)
    val = np.asarray(val, np.float64)
    order = order_by(row, col)
    row, col, val = row[order], col[order], val[order]
    if len(row) > 1:
        dup = (row[1:] == row[:-1]) & (col[1:] == col[:-1])
        if dup.any():
            keep = np.concatenate(([True], ~dup))
            group = np.cumsum(keep) - 1
            val = np.bincount(group, weights=val)
            row, col = row[keep], col[keep]
    nz = val != 0
    return _packed_ints(1, row[nz]) + _packed_ints(2, col[nz]) + _packed_doubles(3, val[nz])


def _varints(values: np.ndarray) -> bytes:
    """Protobuf varints of non-negative integers, 7 bits a byte, low bits first."""
    a = np.asarray(values).astype(np.uint64)
    size = np.ones(len(a), dtype=np.int64)
    for k in range(1, 10):
        size += a >= np.uint64(1 << (7 * k))
    start = np.cumsum(size) - size
    out = np.empty(int(size.sum()), dtype=np.uint8)
    for k in range(int(size.max(initial=0))):
        at = np.flatnonzero(size > k)
        byte = (a[at] >> np.uint64(7 * k)) & np.uint64(0x7F)
        byte |= np.where(size[at] - 1 > k, np.uint64(0x80), np.uint64(0))
        out[start[at] + k] = byte
    return out.tobytes()


def _packed(field_number: int, payload: bytes) -> bytes:
    """A packed repeated field: tag (wire type 2), length, payload; nothing when empty."""
    if not payload:
        return b""
    return _varints(np.array([(field_number << 3) | 2, len(payload)])) + payload


def _packed_ints(field_number: int, values: np.ndarray) -> bytes:
    if np.any(np.asarray(values) < 0):
        raise ValueError("packed ids must be non-negative")
    return _packed(field_number, _varints(values))


def _packed_doubles(field_number: int, values: np.ndarray) -> bytes:
    return _packed(field_number, np.asarray(values, dtype="<f8").tobytes())


def _parse(proto: result_pb2.SolveResultProto, n_vars: int, seconds: float) -> MilpResult:
    reason = proto.termination.reason
    values = np.zeros(0)
    objective = float("nan")
    if proto.solutions and proto.solutions[0].HasField("primal_solution"):
        primal = proto.solutions[0].primal_solution
        values = np.zeros(n_vars)
        values[np.asarray(primal.variable_values.ids, dtype=np.int64)] = \
            np.asarray(primal.variable_values.values)
        objective = primal.objective_value
    bound = proto.termination.objective_bounds.dual_bound
    if reason == result_pb2.TERMINATION_REASON_OPTIMAL:
        status = SolveStatus.OPTIMAL
    elif reason == result_pb2.TERMINATION_REASON_FEASIBLE and len(values):
        status = SolveStatus.FEASIBLE
    elif reason == result_pb2.TERMINATION_REASON_INFEASIBLE:
        status = SolveStatus.INFEASIBLE
    elif reason in (result_pb2.TERMINATION_REASON_FEASIBLE,
                    result_pb2.TERMINATION_REASON_NO_SOLUTION_FOUND):
        status = SolveStatus.NO_SOLUTION
    else:
        status = SolveStatus.ERROR
    if status is SolveStatus.OPTIMAL and len(values) != n_vars:
        status = SolveStatus.ERROR
    out_of_time = proto.termination.limit == result_pb2.LIMIT_TIME
    return MilpResult(status, values, objective, bound, seconds, out_of_time)
