"""windows.csv in the store: the pickup windows of the points that list their own.

An import replaces every window of each point the file names and leaves the
other points as they were, so a district can send its points' windows without
knowing the others'. It is all or nothing, with every problem located by file,
row and column (allocator.windows checks them). Rounds already approved keep
the windows they told households; the windows are read at each approval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from allocator.issues import InvalidInput
from allocator.limits import ColumnBounds, Limits
from allocator.store.audit import record
from allocator.store.imports import ImportReport, open_any
from allocator.store.limits import clip, column_length, column_maximum
from allocator.store.models import AuditEntry, PickupWindow, Point
from allocator.validate import check_all
from allocator.windows import WINDOW_COLUMNS, checked_windows

KIND = "windows"
# Headers as commune offices write them.
ALIASES = {"Mã điểm": "point_id", "Ngày": "date", "Giờ mở": "start", "Từ giờ": "start",
           "Giờ đóng": "end", "Đến giờ": "end", "Số suất": "capacity",
           "Công suất": "capacity"}


def import_windows(session: Session, path: Path | str, actor: str, name: str | None = None,
                   limits: Limits | None = None) -> ImportReport:
    """Check a windows file (CSV or XLSX) and replace the windows of the points it names.

    `inserted` counts the windows written, `updated` the windows they replaced.
    """
    path = Path(path)
    name = name or path.name
    report = ImportReport(KIND, name)
    issues = report.issues
    raw = open_any(path, KIND, issues, name, limits)
    if raw is None:
        return report
    bounds = ColumnBounds({"point_id": column_length(PickupWindow.point_id) or 64},
                          {"capacity": column_maximum(PickupWindow.capacity) or 2**31 - 1})
    table = check_all(raw, WINDOW_COLUMNS, issues, ALIASES, bounds=bounds)
    if table is None or raw.failed or issues:
        return report
    try:
        windows = checked_windows(table, issues, set(session.scalars(select(Point.id))), name)
    except InvalidInput:
        session.rollback()
        return report  # the problems are in `issues`
    points = sorted(set(windows["point_id"]))
    try:
        replaced = _replace(session, points, windows)
        report.inserted, report.updated = len(windows), replaced
        record(session, actor, f"import {KIND}", clip(name, AuditEntry.target),
               {"points": len(points), "windows": len(windows), "replaced": replaced})
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return report


def _replace(session: Session, points: list[str], windows: pd.DataFrame) -> int:
    replaced = 0
    for start in range(0, len(points), 1_000):  # parameter limits
        batch = points[start:start + 1_000]
        replaced += int(session.scalar(select(func.count()).select_from(PickupWindow)
                                       .where(PickupWindow.point_id.in_(batch))) or 0)
        session.execute(delete(PickupWindow).where(PickupWindow.point_id.in_(batch))
                        .execution_options(synchronize_session=False))
    rows: list[dict[str, Any]] = [
        {"point_id": p, "day": d, "opens": s, "closes": e, "capacity": int(c)}
        for p, d, s, e, c in zip(windows["point_id"], windows["date"], windows["start"],
                                 windows["end"], windows["capacity"], strict=True)]
    if rows:
        session.execute(insert(PickupWindow), rows)
    return replaced

