"""The figures a planner looks at before approving a round (`dashboard.json`).

Counts only: no household appears here, so the same figures can feed pages
for planners and, suppressed, for sponsors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from allocator.contract import STATUSES
from allocator.explain import unserved_causes
from allocator.lot_use import idle_reasons
from allocator.problem import Problem
from allocator.solve import Allocation


def dashboard(problem: Problem, allocation: Allocation, communes: pd.DataFrame,
              lots: pd.DataFrame, points: pd.DataFrame, unserved: pd.DataFrame
              ) -> dict[str, Any]:
    """KPIs, coverage by commune, unserved by reason, and the use of each lot and point."""
    served = allocation.lot_of >= 0
    eligible = problem.hh_reason == ""
    n_communes = len(problem.commune_code)
    eligible_in = np.bincount(problem.hh_commune[eligible], minlength=n_communes)
    served_in = np.bincount(problem.hh_commune[served], minlength=n_communes)
    by_status = {}
    for i, status in enumerate(STATUSES):
        mine = problem.hh_status == i
        by_status[status] = {"eligible": int((eligible & mine).sum()),
                             "served": int((served & mine).sum())}
    given = np.bincount(allocation.lot_of[served], minlength=len(problem.lot_id))
    handed = np.bincount(allocation.point_of[served], minlength=len(problem.point_id))
    where = communes.set_index("commune_code")
    commune_rows = []
    for c in np.flatnonzero(eligible_in > 0):
        code = str(problem.commune_code[c])
        commune_rows.append({
            "commune_code": code, "name": str(where.at[code, "name"]) if code in where.index
            else code, "lat": _num(where.at[code, "lat"]) if code in where.index else None,
            "lon": _num(where.at[code, "lon"]) if code in where.index else None,
            "eligible": int(eligible_in[c]), "served": int(served_in[c])})
    lot_info = lots.set_index("lot_id")
    point_info = points.set_index("point_id")
    idle = idle_reasons(problem, lots, allocation.lot_of, allocation.point_of)
    return {
        "kpis": {
            "status": allocation.status.value, "eligible": int(eligible.sum()),
            "served": int(served.sum()), "by_status": by_status,
            "budget_vnd": problem.budget, "budget_used_vnd": allocation.values.stage2,
            "devices": int(problem.lot_quantity.sum()),
            "devices_left": int(problem.lot_quantity.sum() - served.sum()),
        },
        "communes": commune_rows,
        "unserved_by_reason": {str(k): int(v) for k, v in
                               unserved["reason"].value_counts().sort_index().items()},
        # Not eligible by rule, eligible left unserved by what stopped them.
        "unserved_causes": unserved_causes(problem, unserved, allocation.values.stage2),
        "lots": [{"lot_id": str(lot), "sponsor_id": str(problem.lot_sponsor[i]),
                  "sponsor_name": _text(lot_info, lot, "sponsor_name"),
                  "model": str(lot_info.at[lot, "model"]),
                  "quantity": int(problem.lot_quantity[i]), "given": int(given[i]),
                  # why its idle devices stay idle (allocator.lot_use): counts of devices
                  "idle_reasons": [{"reason": r, "devices": n} for r, n in idle[i]]}
                 for i, lot in enumerate(problem.lot_id)],
        "points": [{"point_id": str(p), "name": str(point_info.at[p, "name"]),
                    "capacity": int(problem.point_capacity[i]), "handed": int(handed[i])}
                   for i, p in enumerate(problem.point_id)],
    }


def _text(table: pd.DataFrame, key: str, column: str) -> str:
    if column not in table.columns:
        return ""
    value = str(table.at[key, column])
    return "" if value in ("nan", "None", "<NA>") else value


def _num(x: object) -> float | None:
    value = float(str(x))
    return None if value != value else value
