"""The result folder: allocations.csv, unserved.csv and summary.json (contract section 3)."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocator import __version__
from allocator.check import allocation_costs, keep_values
from allocator.contract import ALLOCATION_COLUMNS, STATUSES, UNSERVED_COLUMNS
from allocator.explain import explain_unserved
from allocator.problem import Problem
from allocator.solve import Allocation

ALLOCATIONS = "allocations.csv"
UNSERVED = "unserved.csv"
SUMMARY = "summary.json"
DASHBOARD = "dashboard.json"


def allocations_frame(problem: Problem, allocation: Allocation) -> pd.DataFrame:
    """One row per served household, sorted by household_id."""
    served, gl_row, hp_row = allocation_costs(problem, allocation.lot_of, allocation.point_of)
    lot = allocation.lot_of[served]
    frame = pd.DataFrame({
        "household_id": problem.hh_id[served].astype(str),
        "lot_id": problem.lot_id[lot],
        "sponsor_id": problem.lot_sponsor[lot],
        "point_id": problem.point_id[allocation.point_of[served]],
        "priority_weight": problem.hh_weight[served],
        "public_cost_vnd": problem.routes.cost[gl_row],
        "copay_vnd": problem.routes.copay[gl_row],
        "distance_km": np.round(problem.hp_km[hp_row], 3),
    }, columns=list(ALLOCATION_COLUMNS))
    return frame.sort_values("household_id", kind="stable", ignore_index=True)


def unserved_frame(problem: Problem, allocation: Allocation) -> pd.DataFrame:
    frame = explain_unserved(problem, allocation.lot_of, allocation.point_of,
                             allocation.values.stage2)
    frame["household_id"] = frame["household_id"].astype(str)
    return frame[list(UNSERVED_COLUMNS)].sort_values("household_id", kind="stable",
                                                     ignore_index=True)


def summary(problem: Problem, allocation: Allocation, timings: dict[str, float],
            extra: dict[str, Any] | None = None) -> dict[str, Any]:
    values = allocation.values
    eligible = int((problem.hh_reason == "").sum())
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
        "eligible_by_status": {s: int(((problem.hh_reason == "") &
                                       (problem.hh_status == i)).sum())
                               for i, s in enumerate(STATUSES)},
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
    _atomic(out / ALLOCATIONS, allocations.to_csv(index=False, lineterminator="\n",
                                                  float_format="%.3f"))
    _atomic(out / UNSERVED, unserved.to_csv(index=False, lineterminator="\n"))
    _atomic(out / SUMMARY, json.dumps(summary_json, indent=1, ensure_ascii=False) + "\n")
    if dashboard is not None:
        _atomic(out / DASHBOARD, json.dumps(dashboard, indent=1, ensure_ascii=False) + "\n")


def _atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _number(x: float | None) -> float | None:
    """A finite number, or None (JSON has no NaN or infinity)."""
    return float(x) if x is not None and math.isfinite(x) else None


def _solver_version() -> str:
    from importlib.metadata import version
    return f"HiGHS via OR-Tools MathOpt {version('ortools')}"
