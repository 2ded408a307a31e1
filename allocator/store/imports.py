"""Importing registries (households, lots, points, communes) from CSV or XLSX.

The engine's own checks decide what is valid, so there is one source of truth.
Vietnamese column headers are accepted as aliases. An import is all or
nothing: one transaction, upsert by id, and any problem leaves the store as
it was, with a report naming every row and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.contract import (
    COMMUNE_COLUMNS,
    HOUSEHOLD_COLUMNS,
    LOT_COLUMNS,
    POINT_COLUMNS,
    Column,
)
from allocator.issues import InputIssue
from allocator.store.models import (
    AuditEntry,
    Commune,
    Household,
    HouseholdContact,
    Lot,
    Point,
    Sponsor,
)
from allocator.store.rows import records
from allocator.validate import check_table, read_table

KINDS: dict[str, tuple[Column, ...]] = {
    "households": HOUSEHOLD_COLUMNS, "lots": LOT_COLUMNS, "points": POINT_COLUMNS,
    "communes": COMMUNE_COLUMNS,
}

# Headers as commune offices write them.
ALIASES: dict[str, dict[str, str]] = {
    "households": {"Mã hộ": "household_id", "Mã xã": "commune_code",
                   "Hộ nghèo/cận nghèo": "poverty_status", "Phân loại hộ": "poverty_status",
                   "Số nhân khẩu": "members", "Số máy 2G": "twog_handsets",
                   "Số điện thoại thông minh": "smartphones", "Diện ưu tiên": "flags",
                   "Nhu cầu": "needs", "Vĩ độ": "lat", "Kinh độ": "lon",
                   "Họ tên chủ hộ": "head_name", "Số điện thoại": "phone",
                   "Số CCCD": "national_id"},
    "lots": {"Mã lô": "lot_id", "Mã nhà tài trợ": "sponsor_id",
             "Tên nhà tài trợ": "sponsor_name", "Mẫu máy": "model", "Mạng": "network",
             "Số lượng": "quantity", "Giá bán lẻ": "unit_price_vnd",
             "Mức tài trợ": "sponsor_subsidy_vnd", "Tính năng": "features",
             "Xã được nhận": "allowed_communes", "Đối tượng được nhận": "allowed_statuses"},
    "points": {"Mã điểm": "point_id", "Tên điểm": "name", "Mã xã": "commune_code",
               "Vĩ độ": "lat", "Kinh độ": "lon", "Công suất": "capacity"},
    "communes": {"Mã xã": "commune_code", "Tên xã": "name", "Vĩ độ": "lat", "Kinh độ": "lon"},
}
STATUS_WORDS = {"hộ nghèo": "poor", "nghèo": "poor", "hộ cận nghèo": "near_poor",
                "cận nghèo": "near_poor", "khác": "other"}


@dataclass
class ImportReport:
    kind: str
    file: str
    inserted: int = 0
    updated: int = 0
    issues: list[InputIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues


def read_any(path: Path, kind: str, issues: list[InputIssue]) -> pd.DataFrame | None:
    """A registry file (CSV or XLSX) checked as the engine checks it, aliases applied."""
    columns = KINDS[kind]
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            raw = pd.read_excel(path, dtype=str, keep_default_na=False, na_filter=False)
        except Exception as err:  # openpyxl raises many kinds for a damaged workbook
            issues.append(InputIssue(path.name, 0, "", f"cannot be read as XLSX: {err}"))
            return None
        raw = _status_words(raw, kind)
        return check_table(raw.astype(str), columns, path.name, issues, ALIASES[kind])
    return read_table(path, columns, issues, aliases=ALIASES[kind],
                      prepare=lambda raw: _status_words(raw, kind))


def _status_words(raw: pd.DataFrame, kind: str) -> pd.DataFrame:
    if kind != "households":
        return raw
    for col in raw.columns:
        if str(col).strip() in ("poverty_status", "Hộ nghèo/cận nghèo", "Phân loại hộ"):
            raw[col] = raw[col].map(lambda v: STATUS_WORDS.get(str(v).strip().lower(), v))
    return raw


def import_file(session: Session, kind: str, path: Path | str, actor: str) -> ImportReport:
    """Validate and upsert one registry file in one transaction; nothing changes on error."""
    path = Path(path)
    report = ImportReport(kind, path.name)
    if kind not in KINDS:
        report.issues.append(InputIssue(path.name, 0, "", f"unknown registry {kind!r}"))
        return report
    table = read_any(path, kind, report.issues)
    if table is None or report.issues:
        return report
    try:
        if kind != "communes":
            _check_communes(session, table, kind, path.name, report.issues)
        if report.issues:
            session.rollback()
            return report
        report.inserted, report.updated = _UPSERT[kind](session, table)
        session.add(AuditEntry(actor=actor, action=f"import {kind}", target=path.name,
                               detail={"inserted": report.inserted,
                                       "updated": report.updated}))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return report


def _check_communes(session: Session, table: pd.DataFrame, kind: str, file: str,
                    issues: list[InputIssue]) -> None:
    known = set(session.scalars(select(Commune.code)))
    if kind == "lots":
        for row, text in table["allowed_communes"].items():
            missing = [c for c in str(text).split(";") if c and c not in known]
            if missing:
                issues.append(InputIssue(file, int(str(row)), "allowed_communes",
                                         f"unknown commune {missing[0]!r}"))
        return
    for row, code in table["commune_code"].items():
        if code not in known:
            issues.append(InputIssue(file, int(str(row)), "commune_code",
                                     f"unknown commune {code!r} (import the commune first)"))


def _upsert(session: Session, model: type, key: str,
            rows: list[dict[str, Any]]) -> tuple[int, int]:
    ids = [r[key] for r in rows]
    existing: dict[Any, Any] = {}
    for start in range(0, len(ids), 10_000):  # stay under the databases' parameter limits
        found_rows: Any = session.scalars(select(model).where(
            getattr(model, key).in_(ids[start:start + 10_000])))
        existing.update({getattr(o, key): o for o in found_rows})
    inserted = updated = 0
    for row in rows:
        found = existing.get(row[key])
        if found is None:
            session.add(model(**row))
            inserted += 1
        else:
            for name, value in row.items():
                setattr(found, name, value)
            updated += 1
    return inserted, updated


def _none_if_nan(x: object) -> float | None:
    if x is None:
        return None
    value = float(str(x))
    return None if value != value else value  # NaN: not given


def _households(session: Session, t: pd.DataFrame) -> tuple[int, int]:
    rows = [{"id": r["household_id"], "commune_code": r["commune_code"],
             "poverty_status": r["poverty_status"], "members": int(r["members"]),
             "twog_handsets": int(r["twog_handsets"]), "smartphones": int(r["smartphones"]),
             "flags": r["flags"], "needs": r["needs"], "lat": _none_if_nan(r["lat"]),
             "lon": _none_if_nan(r["lon"])} for r in records(t)]
    counts = _upsert(session, Household, "id", rows)
    session.flush()
    _upsert(session, HouseholdContact, "household_id",
            [{"household_id": r["household_id"], "head_name": r["head_name"], "phone": r["phone"],
              "national_id": r["national_id"]} for r in records(t)])
    return counts


def _lots(session: Session, t: pd.DataFrame) -> tuple[int, int]:
    sponsors = t.drop_duplicates("sponsor_id", keep="last")
    _upsert(session, Sponsor, "id", [{"id": r["sponsor_id"], "name": r["sponsor_name"]}
                                     for r in records(sponsors)])
    session.flush()
    return _upsert(session, Lot, "id", [
        {"id": r["lot_id"], "sponsor_id": r["sponsor_id"], "model": r["model"],
         "network": r["network"],
         "quantity": int(r["quantity"]), "unit_price_vnd": int(r["unit_price_vnd"]),
         "sponsor_subsidy_vnd": int(r["sponsor_subsidy_vnd"]), "features": r["features"],
         "allowed_communes": r["allowed_communes"], "allowed_statuses": r["allowed_statuses"]}
        for r in records(t)])


def _points(session: Session, t: pd.DataFrame) -> tuple[int, int]:
    return _upsert(session, Point, "id", [
        {"id": r["point_id"], "name": r["name"], "commune_code": r["commune_code"],
         "lat": _none_if_nan(r["lat"]), "lon": _none_if_nan(r["lon"]),
         "capacity": int(r["capacity"])}
        for r in records(t)])


def _communes(session: Session, t: pd.DataFrame) -> tuple[int, int]:
    return _upsert(session, Commune, "code", [
        {"code": r["commune_code"], "name": r["name"], "lat": _none_if_nan(r["lat"]),
         "lon": _none_if_nan(r["lon"])} for r in records(t)])


_UPSERT = {"households": _households, "lots": _lots, "points": _points,
           "communes": _communes}
