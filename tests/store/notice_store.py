"""A small approved round for the tests of SMS notices: eight households at one point,
two sharing a phone, one with a landline (so: a visit), one written +84."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.store.campaign import approve_round
from allocator.store.models import AllocationRow
from allocator.store.rounds import import_folder_as_round, solve_round

PHONES = {"H00": "0901234500", "H01": "0901234501", "H02": "0901234502",
          "H03": "0901234503", "H04": "+84 91 234 5604", "H05": "0988000111",
          "H06": "0988.000.111", "H07": "028 3829 1234"}
LANDLINE = "H07"
SHARED = ("H05", "H06")  # one phone, written two ways


def write_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([{"household_id": h, "commune_code": "26740", "poverty_status": "poor",
                   "members": 3, "twog_handsets": 1, "smartphones": 0, "flags": "", "needs": "",
                   "lat": 10.7806, "lon": 106.7038, "head_name": f"Nguyễn Văn {h}",
                   "phone": phone, "national_id": f"0797000000{n:02d}"}
                  for n, (h, phone) in enumerate(PHONES.items())]
                 ).to_csv(folder / "households.csv", index=False)
    pd.DataFrame([{"point_id": "UB-26740", "name": "UBND Phường Sài Gòn",
                   "commune_code": "26740", "lat": 10.7805, "lon": 106.7037, "capacity": 20}]
                 ).to_csv(folder / "points.csv", index=False)
    pd.DataFrame([{"lot_id": "LOT-A", "sponsor_id": "S1", "sponsor_name": "Viettel",
                   "model": "Nokia C32", "network": "4G", "quantity": 20,
                   "unit_price_vnd": 2_000_000, "sponsor_subsidy_vnd": 2_000_000,
                   "features": "", "allowed_communes": "", "allowed_statuses": ""}]
                 ).to_csv(folder / "lots.csv", index=False)
    (folder / "round.json").write_text(json.dumps({"budget_vnd": 100_000_000, "seed": 1}))
    return folder


def approved_round(session: Session, folder: Path) -> int:
    """Import the folder as a round, solve and approve it (approval gives codes and windows)."""
    row = import_folder_as_round(session, write_folder(folder), "notices", "planner")
    solve_round(session, row.id, "planner")
    approve_round(session, row.id, "planner")
    served = list(session.scalars(select(AllocationRow).where(AllocationRow.round_id == row.id)))
    assert sorted(a.household_id for a in served) == sorted(PHONES)
    assert all(a.pickup_code and a.window_day for a in served)
    return row.id
