"""A small approved round for the tests of the point desk: two communes, three points,
two lots (one with no spare device), pickup codes, and a point officer per point."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.device_ids import luhn_check_digit
from allocator.pickup_codes import draw_codes
from allocator.store import ledger
from allocator.store.campaign import approve_round, create_round
from allocator.store.imports import import_file
from allocator.store.models import AllocationRow, User
from allocator.store.rounds import solve_round
from allocator.store.users import add_user

POINTS = ("P-SG", "P-BT", "P-OTHER")
# 12 digits like a CCCD; each household's differs in its last 4 and elsewhere.
NAMES = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Đỗ Minh Đức",
         "Hoàng Thị Én", "Võ Văn Giang", "Bùi Thị Hà", "Đặng Văn Khoa")


UNSERVED, UNSERVED_NAME = "H90", "Lý Thị Chưa"  # of P-BT's commune, not served


def national_id(n: int) -> str:
    return f"0797{n:04d}{(1000 + 37 * n) % 10000:04d}"


def imei(n: int) -> str:
    payload = f"35{n:012d}"
    return payload + luhn_check_digit(payload)


def iccid(n: int) -> str:
    payload = f"8984{n:014d}"
    return payload + luhn_check_digit(payload)


def write_registry(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    homes = []
    for n, name in enumerate(NAMES):
        commune, lat, lon = (("26740", 10.7806, 106.7038) if n % 3 == 0 else
                             ("26743", 10.7716, 106.6940) if n % 3 == 1 else
                             ("26758", 10.7609, 106.6903))
        homes.append({"household_id": f"H{n:02d}", "commune_code": commune,
                      "poverty_status": "poor", "members": 3, "twog_handsets": 1,
                      "smartphones": 0, "flags": "", "needs": "", "lat": lat, "lon": lon,
                      "head_name": name, "phone": f"09012345{n:02d}",
                      "national_id": national_id(n)})
    # not served: it has a smartphone already (a "why not me?" case can be about it)
    homes.append({"household_id": UNSERVED, "commune_code": "26743", "poverty_status": "poor",
                  "members": 2, "twog_handsets": 0, "smartphones": 1, "flags": "", "needs": "",
                  "lat": 10.7716, "lon": 106.6940, "head_name": UNSERVED_NAME,
                  "phone": f"09012345{int(UNSERVED[1:]):02d}",
                  "national_id": national_id(int(UNSERVED[1:]))})
    pd.DataFrame(homes).to_csv(folder / "households.csv", index=False)
    pd.DataFrame([
        {"point_id": "P-SG", "name": "UBND Phường Sài Gòn", "commune_code": "26740",
         "lat": 10.7805, "lon": 106.7037, "capacity": 10},
        {"point_id": "P-BT", "name": "UBND Phường Bến Thành", "commune_code": "26743",
         "lat": 10.7716, "lon": 106.6939, "capacity": 10},
        {"point_id": "P-OTHER", "name": "UBND Phường Cầu Ông Lãnh", "commune_code": "26758",
         "lat": 10.7608, "lon": 106.6902, "capacity": 10},
    ]).to_csv(folder / "points.csv", index=False)
    pd.DataFrame([
        {"lot_id": "LOT-A", "sponsor_id": "S1", "sponsor_name": "Viettel", "model": "Nokia C32",
         "network": "4G", "quantity": 20, "unit_price_vnd": 2_000_000,
         "sponsor_subsidy_vnd": 2_000_000, "features": "", "allowed_communes": "",
         "allowed_statuses": ""},
    ]).to_csv(folder / "lots.csv", index=False)
    return folder


@dataclass
class PointStore:
    round_id: int
    officers: dict[str, User]  # point -> its officer
    planner: User
    codes: dict[str, str]  # household -> pickup code
    points: dict[str, str]  # household -> point
    tokens: dict[str, str]  # user name -> API token


def build(session: Session, folder: Path) -> PointStore:
    """Import, solve and approve the round; give codes; add a planner and an officer a point."""
    write_registry(folder)
    for kind in ("lots", "points", "households"):
        report = import_file(session, kind, folder / f"{kind}.csv", "setup")
        assert report.ok, report
    ledger.set_budget(session, 400_000_000, "setup")
    row = create_round(session, {}, "desk", "planner")
    solve_round(session, row.id, "planner")
    approve_round(session, row.id, "planner")
    rows = list(session.scalars(select(AllocationRow).where(AllocationRow.round_id == row.id)
                                .order_by(AllocationRow.household_id)))
    assert len(rows) == len(NAMES), [r.household_id for r in rows]
    missing = [a for a in rows if not a.pickup_code]
    for allocation, code in zip(missing, draw_codes(len(missing)), strict=True):
        allocation.pickup_code = code
    session.commit()
    tokens: dict[str, str] = {}
    planner, tokens["planner"] = add_user(session, "planner", "planner", None, "setup")
    officers = {}
    for point in POINTS:
        name = f"officer-{point}"
        officers[point], tokens[name] = add_user(session, name, "point", None, "setup",
                                                 points=[point])
    return PointStore(row.id, officers, planner,
                      {a.household_id: str(a.pickup_code) for a in rows},
                      {a.household_id: a.point_id for a in rows}, tokens)


def at_point(store: PointStore, point: str) -> list[str]:
    return sorted(h for h, p in store.points.items() if p == point)
