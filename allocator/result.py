"""The result folder: allocations.csv, unserved.csv and summary.json (contract section 3)."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from allocator import __version__
from allocator.check import keep_values, pair_lookup
from allocator.compat import route_of
from allocator.contract import ALLOCATION_COLUMNS, STATUSES, UNSERVED_COLUMNS
from allocator.explain import explain_unserved
from allocator.problem import Problem
from allocator.solve import Allocation
from allocator.writing import Chunk, csv_chunks

ALLOCATIONS = "allocations.csv"
UNSERVED = "unserved.csv"
SUMMARY = "summary.json"
DASHBOARD = "dashboard.json"


def allocations_frame(problem: Problem, allocation: Allocation) -> pd.DataFrame:
    """One row per served household, sorted by household_id."""
    served = np.flatnonzero(allocation.lot_of >= 0)
    ids = _texts(problem.hh_id, served)
    order = _id_order(ids)
    if order is not None:
        served, ids = served[order], ids.take(order)
    lot, point = allocation.lot_of[served], allocation.point_of[served]
    gl_row, hp_row = _cost_rows(problem, served, lot, point)
    return pd.DataFrame({
        "household_id": _column(ids),
        "lot_id": _column(_texts(problem.lot_id, lot)),
        "sponsor_id": _column(_texts(problem.lot_sponsor, lot)),
        "point_id": _column(_texts(problem.point_id, point)),
        "priority_weight": problem.hh_weight[served],
        "public_cost_vnd": problem.routes.cost[gl_row],
        "copay_vnd": problem.routes.copay[gl_row],
        "distance_km": np.round(problem.hp_km[hp_row], 3),
    }, columns=list(ALLOCATION_COLUMNS))


def unserved_frame(problem: Problem, allocation: Allocation) -> pd.DataFrame:
    """One row per household not served, with reason and detail, sorted by household_id."""
    explained = explain_unserved(problem, allocation.lot_of, allocation.point_of,
                                 allocation.values.stage2)
    ids = _texts(problem.hh_id, explained.households)
    order = _id_order(ids)
    reason, detail = explained.reason, explained.detail
    if order is not None:
        ids, reason, detail = ids.take(order), reason[order], detail[order]
    return pd.DataFrame({
        "household_id": _column(ids),
        "reason": _column(pa.array(explained.reasons, _TEXT).take(reason)),
        "detail": _column(pa.array(explained.details, _TEXT).take(detail)),
    }, columns=list(UNSERVED_COLUMNS))


_TEXT = pa.large_string()
_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default text dtype


def _texts(values: Any, index: np.ndarray) -> pa.Array:
    """values[index] as Arrow text, without making a Python string per row."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.take(pa.array(index)).cast(_TEXT)
    if len(index) > len(values):  # small tables (lots, points): convert each name once
        return pa.array(np.asarray(values, dtype=object), pa.string()).cast(_TEXT).take(
            pa.array(index))
    return pa.array(np.asarray(values, dtype=object)[index], pa.string()).cast(_TEXT)


def _column(values: pa.Array) -> pd.Series:
    return pd.Series(values, dtype=_STR)


def _id_order(ids: pa.Array) -> np.ndarray | None:
    """The stable order of household ids (code point order, as pandas sorts), None if kept.

    Households files usually come sorted by id, so a check saves the sort.
    """
    if len(ids) < 2 or not pc.any(pc.less(ids[1:], ids[:-1])).as_py():
        return None
    return pc.sort_indices(ids).to_numpy()


def _cost_rows(problem: Problem, served: np.ndarray, lot: np.ndarray,
               point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each served household's lot route and (home, point) pair, -1 if there is none."""
    group = problem.hh_group[served]
    eligible = group >= 0
    gl_row = np.full(len(served), -1, np.int64)
    gl_row[eligible] = route_of(problem.routes, group[eligible], lot[eligible])
    return gl_row, pair_lookup(problem.hp_home, problem.hp_point, problem.hh_home[served],
                               point)


def summary(problem: Problem, allocation: Allocation, timings: dict[str, float],
            extra: dict[str, Any] | None = None) -> dict[str, Any]:
    values = allocation.values
    eligible_mask = problem.hh_reason == ""
    eligible = int(eligible_mask.sum())
    by_status = np.bincount(problem.hh_status[eligible_mask], minlength=len(STATUSES))
    served = int((allocation.lot_of >= 0).sum())
    keep_served, keep_point, keep_lot = keep_values(problem, allocation.lot_of,
                                                    allocation.point_of)
    return {
        "status": allocation.status.value,
        "method": allocation.method,
        "keep_served": keep_served,
        "keep_point": keep_point,
        "keep_lot": keep_lot,
        "stage0": values.stage0,
        "stage1": values.stage1,
        "stage2": values.stage2,
        "stage3": round(values.stage3, 6),
        "best_bound": _number(allocation.best_bound),
        "gap": _number(allocation.gap),
        "served": served,
        "eligible": eligible,
        "households": len(problem.hh_id),
        "budget_vnd": problem.budget,
        "budget_used_vnd": values.stage2,
        "eligible_by_status": {s: int(by_status[i]) for i, s in enumerate(STATUSES)},
        "devices_left": int(problem.lot_quantity.sum() - served),
        "solve_seconds": round(allocation.seconds, 3),
        "budget_repairs": allocation.budget_repairs,
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
        "stages": [{"stage": r.stage, "status": r.status.value, "seconds": round(r.seconds, 3),
                    "value": _number(r.value), "bound": _number(r.bound),
                    "variables": r.variables, "rows": r.rows,
                    "budget_repairs": r.budget_repairs}
                   for r in allocation.stages],
        "seed": problem.policy.seed,
        "engine_version": __version__,
        "solver": _solver_version(),
        **(extra or {}),
    }


def write_result(out: Path | str, allocations: pd.DataFrame, unserved: pd.DataFrame,
                 summary_json: dict[str, Any], dashboard: dict[str, Any] | None = None) -> None:
    """Write the result files; each appears whole or not at all."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _atomic(out / ALLOCATIONS, csv_chunks(allocations, float_format="%.3f"))
    _atomic(out / UNSERVED, csv_chunks(unserved))
    _atomic(out / SUMMARY, [_json(summary_json)])
    if dashboard is not None:
        _atomic(out / DASHBOARD, [_json(dashboard)])


def _json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def _atomic(path: Path, chunks: Iterable[Chunk]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _number(x: float | None) -> float | None:
    """A finite number, or None (JSON has no NaN or infinity)."""
    return float(x) if x is not None and math.isfinite(x) else None


def _solver_version() -> str:
    # The package's own version string: the same text as its installed metadata, without
    # importlib.metadata, whose import and search cost about 10 ms of every solve.
    import ortools

    return f"HiGHS via OR-Tools MathOpt {ortools.__version__}"  # type: ignore[attr-defined]
