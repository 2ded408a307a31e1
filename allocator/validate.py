"""Reading a scenario folder into validated frames, reporting every problem at once.

Cells are read as text, normalised (Unicode NFC, surrounding spaces removed)
and checked column by column with vectorised pandas operations, so a bad cell
anywhere is reported with its file, spreadsheet row (header = row 1) and
column, and a good folder of two million households reads in seconds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocator.contract import (
    COMMUNE_COLUMNS,
    COMMUNES,
    FLAGS,
    HOUSEHOLDS,
    KEEP,
    KEEP_COLUMNS,
    LOT_COLUMNS,
    LOTS,
    NETWORKS,
    POINT_COLUMNS,
    POINTS,
    ROUND_HOUSEHOLD_COLUMNS,
    STATUSES,
    Column,
    RoundPolicy,
)
from allocator.issues import InputIssue, InvalidInput, IssueLog
from allocator.limits import CONTROL, ColumnBounds, control_message, first_control
from allocator.policy import read_policy
from allocator.reading import RawTable, open_csv
from allocator.reference import hcmc_communes

_INT = re.compile(r"^[+-]?0*[0-9]{1,15}(\.0*)?$")
MAX_INT = 10**15  # far above any real quantity, price or budget; keeps sums exact in int64
_DECIMAL_COMMA = re.compile(r"^[+-]?[0-9]+,[0-9]+$")
MAX_SHOWN = 60  # characters of a bad value quoted back in a message


@dataclass
class Scenario:
    """A validated scenario: typed frames (index = spreadsheet row) and the round policy.

    List cells are kept as canonical text: distinct items, sorted, joined by ';'.
    """

    households: pd.DataFrame
    lots: pd.DataFrame
    points: pd.DataFrame
    communes: pd.DataFrame
    policy: RoundPolicy
    communes_bundled: bool = False
    keep: pd.DataFrame | None = None  # keep.csv of a re-plan, None without one


def read_scenario(folder: Path | str,
                  bounds: Mapping[str, ColumnBounds] | None = None) -> Scenario:
    """Read and check a whole scenario folder; raise InvalidInput listing every problem.

    `bounds` (by file name) holds cells to what the store's columns can take.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidInput([InputIssue(str(folder), 0, "", "is not a folder")])
    issues: list[InputIssue] = IssueLog()
    policy, policy_issues = read_policy(folder)
    issues += policy_issues
    bounds = bounds or {}
    households = read_table(folder / HOUSEHOLDS, ROUND_HOUSEHOLD_COLUMNS, issues,
                            bounds=bounds.get(HOUSEHOLDS))
    lots = read_table(folder / LOTS, LOT_COLUMNS, issues, bounds=bounds.get(LOTS))
    points = read_table(folder / POINTS, POINT_COLUMNS, issues, bounds=bounds.get(POINTS))
    bundled = not (folder / COMMUNES).exists()
    communes: pd.DataFrame | None
    if bundled:
        communes = hcmc_communes()[["commune_code", "name", "lat", "lon"]]
    else:
        communes = read_table(folder / COMMUNES, COMMUNE_COLUMNS, issues, optional=False,
                              bounds=bounds.get(COMMUNES))
    if households is not None and lots is not None and points is not None and \
            communes is not None:
        _check_across(households, lots, points, communes, issues)
    keep = None
    if (folder / KEEP).exists():
        keep = read_table(folder / KEEP, KEEP_COLUMNS, issues)
        if keep is not None and households is not None and lots is not None and \
                points is not None:
            _check_keep(keep, households, lots, points, issues)
    if issues or households is None or lots is None or points is None or communes is None:
        raise InvalidInput(issues)
    return Scenario(households, lots, points, communes.reset_index(drop=True), policy, bundled,
                    keep)


def canonical_code(values: pd.Series) -> pd.Series:
    """Commune codes as text; all-digit codes lose leading zeros ('026740' = '26740').

    Excel drops leading zeros from numeric-looking codes, so both spellings must
    name the same unit.
    """
    values = values.astype(str)
    digits = values.str.fullmatch(r"[0-9]+")
    stripped = values.str.lstrip("0").replace("", "0")
    return values.where(~digits, stripped)


def read_table(path: Path, columns: tuple[Column, ...], issues: list[InputIssue],
               optional: bool = False, aliases: dict[str, str] | None = None,
               prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
               bounds: ColumnBounds | None = None) -> pd.DataFrame | None:
    """Read and check one CSV file; problems go to `issues`, None if unreadable."""
    raw = open_csv(path, issues, optional)
    if raw is None:
        return None
    return check_all(raw, columns, issues, aliases, prepare, bounds)


def check_all(raw: RawTable, columns: tuple[Column, ...], issues: list[InputIssue],
              aliases: dict[str, str] | None = None,
              prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
              bounds: ColumnBounds | None = None) -> pd.DataFrame | None:
    """Check every chunk of a table being read; the whole typed frame, or None.

    A table Arrow read is checked a whole column at a time first; only if that
    sees a possible problem are its chunks checked again, to locate each one.
    """
    check = TableCheck(columns, raw.name, issues, aliases, bounds)
    before = (len(issues), getattr(issues, "more", 0))
    if not check.start(raw.header):
        return None
    if raw.arrow is not None and prepare is None and \
            (len(issues), getattr(issues, "more", 0)) == before:
        from allocator.columnar import check_at_once

        whole = check_at_once(check, raw.take_arrow())
        if whole is not None:
            return settled(whole, columns)
    parts = [check.rows(prepare(chunk) if prepare else chunk) for chunk in raw.chunks]
    if raw.failed:
        return None
    if not parts:
        parts = [check.rows(pd.DataFrame(columns=raw.header, dtype=object))]
    return settled(pd.concat(parts) if len(parts) > 1 else parts[0], columns)


TEXT = pd.Series([""]).dtype  # pandas' own string dtype: Arrow-backed from pandas 3


def settled(frame: pd.DataFrame, columns: tuple[Column, ...]) -> pd.DataFrame:
    """One dtype per kind of column, however the table was read.

    Ids stay Python strings (object), which the problem builder takes as they
    are; numbers are int64 or float64; all other text is pandas' string dtype,
    a few bytes a cell in Arrow instead of a Python object each.
    """
    for column in columns:
        if column.name not in frame.columns or column.kind in ("int0", "int1", "lat", "lon"):
            continue
        wanted = np.dtype(object) if column.kind == "id" else TEXT
        if frame[column.name].dtype != wanted:
            frame[column.name] = frame[column.name].astype(wanted)
    return frame


def check_table(raw: pd.DataFrame, columns: tuple[Column, ...], name: str,
                issues: list[InputIssue], aliases: dict[str, str] | None = None,
                bounds: ColumnBounds | None = None) -> pd.DataFrame | None:
    """Check a table of text cells read from a file (header = spreadsheet row 1).

    `aliases` maps other header spellings (e.g. Vietnamese ones) to contract names.
    Returns the typed frame, indexed by spreadsheet row, or None if it cannot be read.
    """
    check = TableCheck(columns, name, issues, aliases, bounds)
    if not check.start([str(c) for c in raw.columns]):
        return None
    raw = raw.copy()
    raw.index = pd.RangeIndex(2, 2 + len(raw))
    return check.rows(raw)


class TableCheck:
    """Checks a table a chunk of rows at a time: the header once, ids unique throughout.

    Chunks come indexed by spreadsheet row, with the header's columns in order.
    """

    def __init__(self, columns: tuple[Column, ...], file: str, issues: list[InputIssue],
                 aliases: dict[str, str] | None = None,
                 bounds: ColumnBounds | None = None) -> None:
        self.columns, self.file, self.issues = columns, file, issues
        self.aliases = aliases or {}
        self.bounds = bounds or ColumnBounds()
        self.names: list[str] = []
        self.seen: dict[str, int] = {}  # id -> the row it was first given at

    def start(self, header: list[str]) -> bool:
        """Check the header; False if a required column is missing."""
        names = [_nfc_text(str(c)) for c in header]
        if self.aliases:
            folded = {_nfc_text(k).casefold(): v for k, v in self.aliases.items()}
            names = [folded.get(c.casefold(), c) for c in names]
        for col in sorted({c for c in names if names.count(c) > 1 and c}):
            self.issues.append(InputIssue(self.file, 1, col, "column appears twice in the header"))
        self.names = names
        missing = [c.name for c in self.columns if c.required and c.name not in names]
        for col in missing:
            self.issues.append(InputIssue(self.file, 1, col, "required column is missing"))
        return not missing

    def rows(self, raw: pd.DataFrame) -> pd.DataFrame:
        """The typed frame of one chunk of rows; problems go to the issues."""
        file, issues = self.file, self.issues
        raw = raw.set_axis(self.names, axis=1)
        known = {c.name for c in self.columns}
        raw = raw.loc[:, ~raw.columns.duplicated()]
        raw = raw[[c for c in raw.columns if c in known]]
        raw = pd.DataFrame({col: _normalise(raw[col]) for col in raw.columns}, index=raw.index)
        # Excel leaves rows of empty cells below a table; they hold no household.
        maybe_blank: np.ndarray = (raw[raw.columns[0]] == "").to_numpy() if len(raw.columns) \
            else np.zeros(len(raw), bool)
        if np.any(maybe_blank):
            blank = np.zeros(len(raw), bool)
            blank[maybe_blank] = (raw[maybe_blank] == "").all(axis=1).to_numpy()
            raw = raw[~blank]
        out = pd.DataFrame(index=raw.index)
        for column in self.columns:
            if column.name in raw.columns:
                if column.kind in FREE_TEXT:
                    _check_control(raw[column.name], file, column.name, issues)
                seen = self.seen if column.kind == "id" else None
                out[column.name] = _check_column(raw[column.name], column, file, issues, seen)
                self._check_bounds(out[column.name], column)
            else:
                out[column.name] = _empty(column, raw.index)
        _check_coordinates(out, file, issues)
        return out

    def _check_bounds(self, values: pd.Series, column: Column) -> None:
        name = column.name
        length = self.bounds.lengths.get(name)
        if length is not None and column.kind not in NUMERIC and len(values):
            sizes = pd.Series(np.fromiter(map(len, values.to_numpy(object)), np.int64,
                                          len(values)), index=values.index)
            if sizes.max() > length:
                rows = values.index[(sizes > length).to_numpy()]
                add_located(self.issues, rows, lambda row: InputIssue(
                    self.file, int(row), name,
                    f"is too long: {sizes[row]:,} characters (at most {length}) "
                    f"(got {_quote(str(values[row]))})"))
        most = self.bounds.maxima.get(name)
        if most is not None and column.kind in ("int0", "int1") and len(values):
            over = values > most
            if over.any():
                rows = values.index[over.to_numpy()]
                add_located(self.issues, rows, lambda row: InputIssue(
                    self.file, int(row), name,
                    f"is too large (at most {most:,}) (got {values[row]})"))


FREE_TEXT = ("id", "text", "commune", "words", "communes")  # kinds with no fixed vocabulary
NUMERIC = ("int0", "int1", "lat", "lon")


def add_located(issues: list[InputIssue], rows: pd.Index | np.ndarray,
         issue_at: Callable[[Any], InputIssue]) -> None:
    """One issue per row; once an IssueLog is full the rest are only counted, not made."""
    if isinstance(issues, IssueLog):
        room = max(0, issues.cap - len(issues))
        if len(rows) > room:
            issues.tally(len(rows) - room)
            rows = rows[:room]
    for row in rows:
        issues.append(issue_at(row))


def _check_control(values: pd.Series, file: str, name: str, issues: list[InputIssue]) -> None:
    """Refuse cells holding NUL, line breaks, tabs or other control characters."""
    if not len(values) or first_control("".join(values.to_numpy(object))) < 0:
        return
    bad = values.str.contains(CONTROL.pattern, regex=True)
    add_located(issues, values.index[bad.to_numpy(bool)], lambda row: InputIssue(
        file, int(row), name, f"{control_message(values[row])} (got {_quote(values[row])})"))


def _nfc_text(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def _normalise(values: pd.Series) -> pd.Series:
    """Strip spaces and normalise to NFC, once per distinct value."""
    joined = "".join(values.to_numpy(object))
    if joined.isascii() and " " not in joined and "\t" not in joined:
        return values.astype(object)  # nothing to strip or normalise (ids, numbers)
    codes, uniques = pd.factorize(values)
    text = pd.Series(uniques, dtype=object).str.strip()
    non_ascii = ~text.str.isascii().astype(bool)
    if non_ascii.any():
        text = text.where(~non_ascii, text[non_ascii].str.normalize("NFC"))
    return pd.Series(text.to_numpy(object)[codes], index=values.index, dtype=object)


def _row(label: object) -> int:
    return int(str(label))


def _empty(column: Column, index: pd.Index) -> pd.Series:
    if column.kind in ("lat", "lon"):
        return pd.Series(np.nan, index=index, dtype=float)
    return pd.Series("", index=index, dtype=object)


def _quote(value: str) -> str:
    return repr(value if len(value) <= MAX_SHOWN else value[:MAX_SHOWN] + "…")


def _report(mask: pd.Series, values: pd.Series, file: str, column: str, message: str,
            issues: list[InputIssue]) -> None:
    add_located(issues, mask.index[mask.to_numpy(bool)], lambda row: InputIssue(
        file, int(row), column, f"{message} (got {_quote(values[row])})"))


def _check_column(values: pd.Series, column: Column, file: str, issues: list[InputIssue],
                  seen: dict[str, int] | None = None) -> pd.Series:
    """Parse and check one column, working once per distinct value where that is enough."""
    if column.kind in ("id", "text"):
        return _check_cells(values, column, file, issues, seen)
    codes, uniques = pd.factorize(values)
    found: list[InputIssue] = []
    parsed = _check_cells(pd.Series(uniques, dtype=object), column, file, found)
    if found:
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
        for issue in found:  # issue.row is the distinct value's position here
            rows = values.index[order[bounds[issue.row]:bounds[issue.row + 1]]]
            add_located(issues, rows, partial(_moved, issue))
    return pd.Series(parsed.to_numpy()[codes], index=values.index)


def _moved(issue: InputIssue, row: Any) -> InputIssue:
    return InputIssue(issue.file, int(row), issue.column, issue.message)


def _check_cells(values: pd.Series, column: Column, file: str,
                 issues: list[InputIssue], seen: dict[str, int] | None = None) -> pd.Series:
    kind, name = column.kind, column.name
    empty = values == ""
    if column.required:
        add_located(issues, values.index[empty.to_numpy(bool)],
             lambda row: InputIssue(file, int(row), name, "is empty but required"))
    if kind == "id":
        if name == "commune_code":
            values = canonical_code(values)
        _check_unique(values, empty.to_numpy(bool), file, name, issues,
                      {} if seen is None else seen)
        return values.astype(object)
    if kind == "text":
        return values.astype(object)
    if kind == "commune":
        return canonical_code(values).astype(object)
    if kind in ("int0", "int1"):
        minimum = 1 if kind == "int1" else 0
        ok = values.str.fullmatch(_INT.pattern) & ~empty
        numbers = pd.Series(0, index=values.index, dtype=np.int64)
        parsed = pd.to_numeric(values[ok].str.split(".").str[0], errors="coerce")
        numbers[ok] = parsed.astype(np.int64)
        too_big = values.str.fullmatch(r"^\+?0*[1-9][0-9]{15,}(\.0*)?$") & ~empty
        _report(too_big, values, file, name, f"is too large (at most {MAX_INT:,})", issues)
        bad = ~ok & ~empty & ~too_big
        _report(bad, values, file, name, f"must be a whole number >= {minimum}", issues)
        _report(ok & (numbers < minimum), values, file, name,
                f"must be a whole number >= {minimum}", issues)
        return numbers
    if kind == "status":
        lowered = values.str.lower().str.replace("-", "_", regex=False)
        _report(~lowered.isin(STATUSES) & ~empty, values, file, name,
                f"must be one of {', '.join(STATUSES)}", issues)
        return lowered.astype(object)
    if kind == "network":
        upper = values.str.upper()
        _report(~upper.isin(NETWORKS) & ~empty, values, file, name,
                f"must be one of {', '.join(NETWORKS)}", issues)
        return upper.astype(object)
    if kind in ("flags", "words", "statuses", "communes"):
        return _check_list(values, kind, file, name, issues)
    if kind in ("lat", "lon"):
        text = values
        if "," in "".join(values.to_numpy(object)):  # a decimal comma, as Vietnamese Excel writes
            text = values.where(~values.str.fullmatch(_DECIMAL_COMMA.pattern),
                                values.str.replace(",", ".", regex=False))
        numbers = pd.to_numeric(text.where(~empty), errors="coerce")
        limit = 90.0 if kind == "lat" else 180.0
        bad = ~empty & (numbers.isna() | ~np.isfinite(numbers) | (numbers.abs() > limit))
        _report(bad, values, file, name,
                f"must be a decimal number of degrees from {-limit:g} to {limit:g}", issues)
        return numbers.where(~bad).astype(float)
    raise ValueError(f"unknown column kind {kind}")  # a programming error, not an input one


def _check_unique(values: pd.Series, empty: np.ndarray, file: str, name: str,
                  issues: list[InputIssue], seen: dict[str, int]) -> None:
    """Refuse an id given twice, in this chunk or an earlier one; remember the new ones."""
    ids = values.to_numpy(object)
    rows = values.index.to_numpy()
    again = values.duplicated(keep="first").to_numpy(bool) & ~empty
    if seen:
        again |= np.fromiter(map(seen.__contains__, ids), bool, len(ids)) & ~empty
    fresh = ~again & ~empty
    first_here = dict(zip(ids[fresh].tolist(), rows[fresh].tolist()))
    if again.any():
        add_located(issues, np.flatnonzero(again), lambda at: InputIssue(
            file, int(rows[at]), name, f"duplicate id {_quote(ids[at])} "
            f"(first at row {seen.get(ids[at]) or first_here[ids[at]]})"))
    seen.update(first_here)


def _check_list(values: pd.Series, kind: str, file: str, name: str,
                issues: list[InputIssue]) -> pd.Series:
    canonical: dict[str, str] = {}
    allowed = {"flags": FLAGS, "statuses": STATUSES}.get(kind)
    bad_rows: dict[str, str] = {}
    for text in values.unique():
        items = [item.strip() for item in str(text).split(";")]
        items = [item for item in items if item]
        if kind == "communes":
            items = canonical_code(pd.Series(items, dtype=object)).tolist() if items else []
        else:
            items = [item.lower().replace("-", "_") if kind != "words" else item.lower()
                     for item in items]
        if allowed is not None:
            unknown = [item for item in items if item not in allowed]
            if unknown:
                bad_rows[text] = f"unknown item {unknown[0]!r} (allowed: {', '.join(allowed)})"
        canonical[text] = ";".join(sorted(set(items)))
    if bad_rows:
        bad = values.isin(list(bad_rows)).to_numpy(bool)
        add_located(issues, values.index[bad], lambda row: InputIssue(
            file, _row(row), name, bad_rows[values[row]]))
    return values.map(canonical).astype(object)


def _check_coordinates(table: pd.DataFrame, file: str, issues: list[InputIssue]) -> None:
    if "lat" not in table.columns:
        return
    lat_given, lon_given = table["lat"].notna(), table["lon"].notna()
    for row in table.index[(lat_given & ~lon_given).to_numpy()]:
        issues.append(InputIssue(file, int(row), "lon", "is empty but lat is given: give both "
                                                        "or neither"))
    for row in table.index[(~lat_given & lon_given).to_numpy()]:
        issues.append(InputIssue(file, int(row), "lat", "is empty but lon is given: give both "
                                                        "or neither"))


def _check_across(households: pd.DataFrame, lots: pd.DataFrame, points: pd.DataFrame,
                  communes: pd.DataFrame, issues: list[InputIssue]) -> None:
    known = set(communes["commune_code"])
    for file, table in ((HOUSEHOLDS, households), (POINTS, points)):
        unknown = ~table["commune_code"].isin(known) & (table["commune_code"] != "")
        for row in table.index[unknown.to_numpy()]:
            issues.append(InputIssue(file, int(row), "commune_code",
                                     f"unknown commune {_quote(str(table.at[row, 'commune_code']))}"
                                     f" (not in the commune list)"))
    for row, text in lots["allowed_communes"].items():
        if text:
            missing = [c for c in str(text).split(";") if c not in known]
            if missing:
                issues.append(InputIssue(LOTS, _row(row), "allowed_communes",
                                         f"unknown commune {missing[0]!r} "
                                         f"(not in the commune list)"))
    over = lots["sponsor_subsidy_vnd"] > lots["unit_price_vnd"]
    for row in lots.index[over.to_numpy()]:
        issues.append(InputIssue(LOTS, int(row), "sponsor_subsidy_vnd",
                                 f"is more than unit_price_vnd "
                                 f"({lots.at[row, 'sponsor_subsidy_vnd']!s} > "
                                 f"{lots.at[row, 'unit_price_vnd']!s})"))
    centred = set(communes.loc[communes["lat"].notna() & communes["lon"].notna(), "commune_code"])
    for file, table in ((HOUSEHOLDS, households), (POINTS, points)):
        lost = table["lat"].isna() & table["commune_code"].isin(known) & \
            ~table["commune_code"].isin(centred)
        for row in table.index[lost.to_numpy()]:
            issues.append(InputIssue(file, int(row), "lat",
                                     "is empty and the commune list gives no point for commune "
                                     f"{_quote(str(table.at[row, 'commune_code']))}"))


def _check_keep(keep: pd.DataFrame, households: pd.DataFrame, lots: pd.DataFrame,
                points: pd.DataFrame, issues: list[InputIssue]) -> None:
    """Every id of keep.csv must name a household, lot or point of this folder."""
    for column, table, kind in (("household_id", households, "household"),
                                ("lot_id", lots, "lot"), ("point_id", points, "point")):
        known = set(table[column])
        values = keep[column]
        unknown = ~values.isin(known) & (values != "")  # empty ones are reported already
        add_located(issues, keep.index[unknown.to_numpy(bool)], partial(
            _unknown_in_keep, column=column, kind=kind, values=values))


def _unknown_in_keep(row: Any, column: str, kind: str, values: pd.Series) -> InputIssue:
    return InputIssue(KEEP, int(row), column,
                      f"unknown {kind} {_quote(str(values[row]))} (not in this folder)")
