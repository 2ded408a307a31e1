"""Importing registries (households, lots, points, communes) from CSV or XLSX.

The engine's own checks decide what is valid, so there is one source of truth.
Vietnamese column headers are accepted as aliases. An import is all or
nothing: one transaction, upsert by id, and any problem leaves the store as
it was, with a report naming every row and column.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import pandas as pd
from sqlalchemy import Table, inspect, select
from sqlalchemy.orm import Session

from allocator.contract import (
    COMMUNE_COLUMNS,
    HOUSEHOLD_COLUMNS,
    LOT_COLUMNS,
    POINT_COLUMNS,
    RECEIVED_DEVICE,
    Column,
)
from allocator.issues import InputIssue, IssueLog
from allocator.limits import Limits
from allocator.reading import RawTable, open_csv
from allocator.store.audit import record
from allocator.store.bulk import driver_value, existing_keys, insert_rows, update_rows
from allocator.store.ledger import lock, lot_figures
from allocator.store.limits import STORED_IN, clip, registry_bounds
from allocator.store.models import AuditEntry, Base, Commune, Sponsor
from allocator.store.workbooks import open_xlsx
from allocator.validate import TableCheck, add_located, check_all

T = TypeVar("T")
KINDS: dict[str, tuple[Column, ...]] = {
    "households": HOUSEHOLD_COLUMNS, "lots": LOT_COLUMNS, "points": POINT_COLUMNS,
    "communes": COMMUNE_COLUMNS,
}
WINDOWS = "windows"  # windows.csv: imported as registries are (allocator.store.windows_file)
IMPORTS = (*KINDS, WINDOWS)

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
    issues: list[InputIssue] = field(default_factory=IssueLog)

    @property
    def ok(self) -> bool:
        return not self.issues and not getattr(self.issues, "more", 0)


def open_any(path: Path, kind: str, issues: list[InputIssue], name: str | None = None,
             limits: Limits | None = None) -> RawTable | None:
    """Start reading a registry file, CSV or XLSX (by its suffix), a chunk at a time."""
    name = name or path.name
    if Path(name).suffix.lower() in (".xlsx", ".xlsm"):
        return open_xlsx(path, name, issues, limits or Limits())
    return open_csv(path, issues, name=name)


def read_any(path: Path, kind: str, issues: list[InputIssue]) -> pd.DataFrame | None:
    """A whole registry file (CSV or XLSX) checked as the engine checks it, aliases applied."""
    raw = open_any(path, kind, issues)
    if raw is None or not registry_columns(raw, kind, issues):
        return None
    return check_all(raw, KINDS[kind], issues, ALIASES[kind],
                     prepare=lambda chunk: _status_words(chunk, kind),
                     bounds=registry_bounds(kind))


def registry_columns(raw: RawTable, kind: str, issues: list[InputIssue]) -> bool:
    """Refuse a round-only column; False if the file holds one.

    `received_device` marks households served in an earlier round of a campaign.
    The registry has nowhere to keep it, and dropping it quietly would make those
    households eligible again in the store's next round, so the import stops.
    """
    if kind != "households" or RECEIVED_DEVICE not in [str(c).strip() for c in raw.header]:
        return True
    issues.append(InputIssue(raw.name, 1, RECEIVED_DEVICE,
                             "is a round's column that the registry does not keep: remove it "
                             "(households that received a device are known to their rounds)"))
    return False


def _status_words(raw: pd.DataFrame, kind: str) -> pd.DataFrame:
    if kind != "households":
        return raw
    for at, col in enumerate(raw.columns):
        if str(col).strip() in ("poverty_status", "Hộ nghèo/cận nghèo", "Phân loại hộ"):
            codes, spelled = pd.factorize(raw.iloc[:, at].astype(object))
            words = [STATUS_WORDS.get(str(v).strip().lower(), v) for v in spelled]
            raw.isetitem(at, pd.Series(words + [""], dtype=object).to_numpy()[codes])
    return raw


def import_file(session: Session, kind: str, path: Path | str, actor: str,
                name: str | None = None, limits: Limits | None = None) -> ImportReport:
    """Validate and upsert one registry file in one transaction; nothing changes on error.

    The file is read and written a chunk of rows at a time, inside the one
    transaction: memory grows with the ids seen, not with the file. After the
    first problem nothing more is written, the rest is only checked, and the
    transaction is rolled back. `name` is the file's name as the planner knows it.
    """
    if kind == WINDOWS:  # not a registry: the points' pickup windows, replaced per point
        from allocator.store.windows_file import import_windows
        return import_windows(session, path, actor, name, limits)
    path = Path(path)
    name = name or path.name
    report = ImportReport(kind, name)
    issues = report.issues
    if kind not in KINDS:
        issues.append(InputIssue(name, 0, "", f"unknown registry {kind!r}"))
        return report
    raw = open_any(path, kind, issues, name, limits)
    if raw is None or not registry_columns(raw, kind, issues):
        return report
    check = TableCheck(KINDS[kind], name, issues, ALIASES[kind], registry_bounds(kind))
    if not check.start(raw.header):
        return report
    try:
        writer = RegistryWriter(session, kind)

        def checked() -> Iterator[pd.DataFrame]:
            for chunk in raw.chunks:
                table = check.rows(_status_words(chunk, kind))
                if kind != "communes":
                    _check_communes(writer.communes, table, kind, name, issues)
                yield table

        # The next chunk is read and checked while this one is written: the database
        # driver works without Python's lock, so the two overlap on two cores.
        for table in read_ahead(checked()):
            if not issues:  # the chunk's own problems were found before it was handed over
                writer.write(table)
        if kind == "lots" and report.ok and not raw.failed:
            lock(session)  # an approval at the same moment must see these quantities
            _check_pledges(session, name, issues)
        if raw.failed or not report.ok:
            session.rollback()
            return report
        report.inserted, report.updated = writer.inserted, writer.updated
        record(session, actor, f"import {kind}", clip(name, AuditEntry.target),
               {"inserted": report.inserted, "updated": report.updated})
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return report


def _check_pledges(session: Session, file: str, issues: list[InputIssue]) -> None:
    """A lot's new quantity may not fall below what the campaign already gave or holds."""
    for lot in lot_figures(session):
        if lot["available"] < 0:
            used = lot["handed_over"] + lot["reserved"] + lot["faulty"]
            issues.append(InputIssue(file, 0, "quantity",
                                     f"lot {lot['lot_id']}: {lot['pledged']:,} is less than "
                                     f"the {used:,} devices already handed over, reserved or "
                                     "faulty in the campaign"))


_DONE = object()


def read_ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """The items of `items`, produced by a thread of their own up to `depth` ahead.

    An error in the producer is raised here; stopping early stops the producer.
    """
    ready: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        outcome: tuple[object, BaseException | None] = (_DONE, None)
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        ready.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as error:  # handed to the consumer, raised there
            outcome = (_DONE, error)
        ready.put(outcome)

    worker = threading.Thread(target=produce, name="import-reader", daemon=True)
    worker.start()
    try:
        while True:
            item, error = ready.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield cast(T, item)
    finally:
        stop.set()
        while worker.is_alive():  # let a producer blocked on a full queue see the stop
            with contextlib.suppress(queue.Empty):
                ready.get(timeout=0.1)
        worker.join()


def _check_communes(known: set[str], table: pd.DataFrame, kind: str, file: str,
                    issues: list[InputIssue]) -> None:
    if kind == "lots":
        missing = {text: [c for c in str(text).split(";") if c and c not in known]
                   for text in table["allowed_communes"].unique()}
        missing = {text: found for text, found in missing.items() if found}
        if missing:
            cells = table["allowed_communes"]
            add_located(issues, cells.index[cells.isin(list(missing)).to_numpy(bool)],
                        lambda row: InputIssue(file, int(str(row)), "allowed_communes",
                                               f"unknown commune {missing[cells[row]][0]!r}"))
        return
    codes = table["commune_code"]
    add_located(issues, codes.index[~codes.isin(known).to_numpy(bool)], lambda row: InputIssue(
        file, int(str(row)), "commune_code",
        f"unknown commune {codes[row]!r} (import the commune first)"))


class RegistryWriter:
    """Upserts checked chunks of one registry into its tables, in bulk, by primary key.

    Rows go to the driver as tuples (COPY on PostgreSQL), never as an ORM object
    each, so two million households take seconds and little memory.
    """

    def __init__(self, session: Session, kind: str) -> None:
        self.session, self.kind = session, kind
        self.tables = STORED_IN[kind]
        self.counted = self.tables[-1][0] if kind == "lots" else self.tables[0][0]
        self.communes: set[str] = set(session.scalars(select(Commune.code))) \
            if kind != "communes" else set()
        # A table empty at the start gets only new rows (ids are unique within the file),
        # so its ids need no lookup; sponsors repeat across lots and are always looked up.
        self.was_empty = {model: model is not Sponsor and session.scalar(
            select(_key(model)).limit(1)) is None for model, _ in self.tables}
        self.inserted = self.updated = 0

    def write(self, table: pd.DataFrame) -> None:
        for model, columns in self.tables:
            names, rows = _rows(table, columns)
            stored = cast(Table, model.__table__)
            if hasattr(model, "updated_at"):
                now = driver_value(self.session, stored, "updated_at", dt.datetime.now(dt.UTC))
                names.append("updated_at")
                rows = [row + (now,) for row in rows]
            if model is Sponsor:
                rows = list({row[0]: row for row in rows}.values())  # the last name given wins
            new, old = self._split(model, rows)
            insert_rows(self.session, stored, names, new)
            update_rows(self.session, stored, _key(model).name, names, old)
            if model is self.counted:
                self.inserted += len(new)
                self.updated += len(old)

    def _split(self, model: type[Base], rows: list[tuple[Any, ...]]
               ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """New rows and rows whose id the table already holds (the key comes first)."""
        if self.was_empty[model]:
            return rows, []
        existing = existing_keys(self.session, cast(Table, model.__table__), _key(model).name,
                                 [row[0] for row in rows])
        return [r for r in rows if r[0] not in existing], [r for r in rows if r[0] in existing]


def _key(model: type[Base]) -> Any:
    return inspect(model).primary_key[0]


def _rows(table: pd.DataFrame, columns: dict[str, str]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Table column names (the key first) and plain Python rows: an empty coordinate as NULL."""
    values = []
    for given in columns.values():
        cells = table[given]
        if cells.dtype.kind == "f":
            values.append([None if v != v else v for v in cells.tolist()])  # NaN: not given
        else:
            values.append(cells.tolist())
    return list(columns), list(zip(*values))
