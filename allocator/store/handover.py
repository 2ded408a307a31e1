"""Handover lists a commune office prints: who comes to collect which phone, when, with
which pickup code, and a signature."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.pickup_codes import display_code
from allocator.store.models import AllocationRow, Round
from allocator.store.rounds import get_round, unpack_inputs
from allocator.tabular import frame_csv, frame_xlsx
from allocator.validate import Scenario, read_scenario

COLUMNS = {"stt": "STT", "household_id": "Mã hộ", "pickup_code": "Mã nhận",
           "head_name": "Họ tên chủ hộ", "phone": "Số điện thoại", "commune_code": "Mã xã",
           "model": "Mẫu máy", "lot_id": "Mã lô", "sponsor_name": "Nhà tài trợ",
           "copay_vnd": "Hộ đóng góp (VND)", "point_id": "Mã điểm", "point_name": "Điểm nhận",
           "window": "Ngày giờ nhận", "handed": "Đã nhận", "imei": "IMEI", "note": "Ghi chú",
           "signature": "Ký nhận"}
# Filled in by hand at the point, then typed back and uploaded (allocator.store.paper_list).
FILLED_IN = ("handed", "imei", "note", "signature")
WIDTHS = (5, 16, 11, 24, 14, 8, 22, 10, 28, 12, 16, 28, 18, 9, 17, 16, 18)  # COLUMNS order
NO_WINDOW = "Chưa có lịch"  # the point's windows were full: the household is told later


def handover_list(session: Session, round_id: int, point_id: str | None = None
                  ) -> pd.DataFrame:
    """One row per served household (of one point, if given), ordered by point, window
    (those without one last) and id, numbered from 1 at each point.

    Contacts come from the round's frozen inputs, so the list of an approved
    round never changes when the registry does.
    """
    row: Round = get_round(session, round_id)
    table = handover_rows(session, row, frozen_scenario(row), point_id=point_id)
    return table[list(COLUMNS)].rename(columns=COLUMNS)


def frozen_scenario(row: Round) -> Scenario:
    """The round's inputs as they were when it was made."""
    with tempfile.TemporaryDirectory() as tmp:
        return read_scenario(unpack_inputs(row, Path(tmp)))


def handover_rows(session: Session, row: Round, scenario: Scenario, *,
                  point_id: str | None = None, commune_code: str | None = None
                  ) -> pd.DataFrame:
    """The list's rows under their keys (COLUMNS' and `when`), of one point or one
    commune if given, in the order of `handover_list`."""
    query = select(AllocationRow).where(AllocationRow.round_id == row.id)
    if point_id:
        query = query.where(AllocationRow.point_id == point_id)
    if commune_code:
        query = query.where(AllocationRow.commune_code == commune_code)
    served = pd.DataFrame([{"household_id": a.household_id, "lot_id": a.lot_id,
                            "point_id": a.point_id, "copay_vnd": a.copay_vnd,
                            "commune_code": a.commune_code,
                            "pickup_code": display_code(a.pickup_code) if a.pickup_code else "",
                            "window": _window(a), "when": _when(a)}
                           for a in session.scalars(query)],
                          columns=["household_id", "lot_id", "point_id", "copay_vnd",
                                   "commune_code", "pickup_code", "window", "when"])
    contacts = scenario.households.set_index("household_id")[["head_name", "phone"]]
    lots = scenario.lots.set_index("lot_id")[["model", "sponsor_name", "sponsor_id"]]
    points = scenario.points.set_index("point_id")[["name"]].rename(columns={"name": "point_name"})
    table = served.join(contacts, on="household_id").join(lots, on="lot_id") \
        .join(points, on="point_id")
    table["sponsor_name"] = table["sponsor_name"].where(table["sponsor_name"] != "",
                                                        table["sponsor_id"])
    # The day's list at a point reads in the order households are told to come.
    table = table.sort_values(["point_id", "when", "household_id"], ignore_index=True)
    # Each point signs its own list: its households are numbered from 1.
    table["stt"] = table.groupby("point_id").cumcount() + 1
    for column in FILLED_IN:
        table[column] = ""
    return table


def _window(row: AllocationRow) -> str:
    """The household's window as "02/12 08:00–11:00"; blank before approval."""
    if row.window_day is None or row.window_start is None or row.window_end is None:
        return NO_WINDOW if row.pickup_code else ""
    return f"{row.window_day:%d/%m} {row.window_start:%H:%M}–{row.window_end:%H:%M}"


def _when(row: AllocationRow) -> str:
    """A key sorting households by window, those without one last."""
    if row.window_day is None or row.window_start is None:
        return "~"
    return f"{row.window_day.isoformat()} {row.window_start:%H:%M}"


def as_csv(table: pd.DataFrame) -> bytes:
    """UTF-8 with a BOM, so that Excel shows Vietnamese names; names kept as text."""
    return frame_csv(table)


def as_xlsx(table: pd.DataFrame) -> bytes:
    """One sheet, every name and phone a text cell (never a formula)."""
    return frame_xlsx(table, "Danh sách bàn giao", WIDTHS)
