"""Building small rounds by hand and running the engine on them in-process."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from allocator.problem import build_problem
from allocator.result import allocations_frame, unserved_frame
from allocator.solve import Allocation, solve
from allocator.validate import read_scenario
from tests.allocator.oracle import Round

# Two real units about 23 km apart, and a point 1 km north of the first.
SAIGON = {"commune_code": "26740", "name": "Phường Sài Gòn", "lat": 10.7805, "lon": 106.704}
PHU_LOI = {"commune_code": "25750", "name": "Phường Phú Lợi", "lat": 10.9861, "lon": 106.676}


def household(hid: str, commune: str = "26740", status: str = "poor", **extra: Any
              ) -> dict[str, Any]:
    row = {"household_id": hid, "commune_code": commune, "poverty_status": status,
           "members": 3, "twog_handsets": 1, "smartphones": 0, "flags": "", "needs": "",
           "lat": "", "lon": ""}
    row.update(extra)
    return row


def lot(lid: str, quantity: int = 10, price: int = 1_000_000, subsidy: int | None = None,
        **extra: Any) -> dict[str, Any]:
    row = {"lot_id": lid, "sponsor_id": f"sp-{lid}", "sponsor_name": "", "model": "Phone 4G",
           "network": "4G", "quantity": quantity, "unit_price_vnd": price,
           "sponsor_subsidy_vnd": price if subsidy is None else subsidy, "features": "",
           "allowed_communes": "", "allowed_statuses": ""}
    row.update(extra)
    return row


def point(pid: str, commune: str = "26740", capacity: int = 10, **extra: Any
          ) -> dict[str, Any]:
    row = {"point_id": pid, "name": "", "commune_code": commune, "lat": "", "lon": "",
           "capacity": capacity}
    row.update(extra)
    return row


def make_round(households: list[dict[str, Any]], lots: list[dict[str, Any]],
               points: list[dict[str, Any]], communes: list[dict[str, Any]] | None = None,
               **policy: Any) -> Round:
    return Round(households, lots, points, communes or [SAIGON, PHU_LOI], policy)


def write_round(folder: Path, rnd: Round) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("households.csv", rnd.households), ("lots.csv", rnd.lots),
                       ("points.csv", rnd.points), ("communes.csv", rnd.communes)):
        with open(folder / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else
                                    {"households.csv": ["household_id"],
                                     "lots.csv": ["lot_id"], "points.csv": ["point_id"],
                                     "communes.csv": ["commune_code"]}[name])
            writer.writeheader()
            writer.writerows(rows)
    if rnd.keep:
        with open(folder / "keep.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=["household_id", "lot_id", "point_id"])
            writer.writeheader()
            writer.writerows(rnd.keep)
    (folder / "round.json").write_text(json.dumps(rnd.policy), encoding="utf-8")
    return folder


def run_engine(folder: Path, method: str = "optimal") -> tuple[Allocation, list[dict[str, Any]],
                                                                dict[str, str]]:
    """Solve a folder; the allocation, its rows as dicts, and the reason per unserved id."""
    problem = build_problem(read_scenario(folder))
    allocation = solve(problem, method)
    rows = allocations_frame(problem, allocation).to_dict("records")
    reasons = dict(zip(*unserved_frame(problem, allocation)[["household_id", "reason"]]
                       .to_numpy().T))
    return allocation, rows, reasons


def solve_round(tmp_path: Path, rnd: Round, method: str = "optimal"
                ) -> tuple[Allocation, list[dict[str, Any]], dict[str, str]]:
    return run_engine(write_round(tmp_path / "scenario", rnd), method)


def served_ids(rows: list[dict[str, Any]]) -> set[str]:
    return {r["household_id"] for r in rows}
