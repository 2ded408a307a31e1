"""Reading a scenario folder into validated frames, reporting every problem at once.

Cells are read as text, normalised (Unicode NFC, surrounding spaces removed)
and checked column by column with vectorised pandas operations, so a bad cell
anywhere is reported with its file, spreadsheet row (header = row 1) and
column, and a good folder of two million households reads in seconds.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.contract import (
    COMMUNE_COLUMNS,
    COMMUNES,
    FLAGS,
    HOUSEHOLD_COLUMNS,
    HOUSEHOLDS,
    LOT_COLUMNS,
    LOTS,
    NETWORKS,
    POINT_COLUMNS,
    POINTS,
    STATUSES,
    Column,
    RoundPolicy,
)
from allocator.issues import InputIssue, InvalidInput
from allocator.policy import read_policy
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


def read_scenario(folder: Path | str) -> Scenario:
    """Read and check a whole scenario folder; raise InvalidInput listing every problem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidInput([InputIssue(str(folder), 0, "", "is not a folder")])
    issues: list[InputIssue] = []
    policy, policy_issues = read_policy(folder)
    issues += policy_issues
    households = read_table(folder / HOUSEHOLDS, HOUSEHOLD_COLUMNS, issues)
    lots = read_table(folder / LOTS, LOT_COLUMNS, issues)
    points = read_table(folder / POINTS, POINT_COLUMNS, issues)
    bundled = not (folder / COMMUNES).exists()
    communes: pd.DataFrame | None
    if bundled:
        communes = hcmc_communes()[["commune_code", "name", "lat", "lon"]]
    else:
        communes = read_table(folder / COMMUNES, COMMUNE_COLUMNS, issues, optional=False)
    if households is not None and lots is not None and points is not None and \
            communes is not None:
        _check_across(households, lots, points, communes, issues)
    if issues or households is None or lots is None or points is None or communes is None:
        raise InvalidInput(issues)
    return Scenario(households, lots, points, communes.reset_index(drop=True), policy, bundled)


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
               prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None
               ) -> pd.DataFrame | None:
    """Read and check one CSV file; problems go to `issues`, None if unreadable."""
    name = path.name
    if not path.exists():
        if not optional:
            issues.append(InputIssue(name, 0, "", "file is missing"))
        return None
    try:
        data = path.read_bytes()
    except OSError as err:
        issues.append(InputIssue(name, 0, "", f"cannot be read ({err.strerror or err})"))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        issues.append(InputIssue(name, _line_of(data, err.start), "",
                                 "is not UTF-8 text (in Excel, save as 'CSV UTF-8')"))
        return None
    if not text or text.isspace():
        issues.append(InputIssue(name, 1, "", "is empty: a header row is required"))
        return None
    try:
        header = next(csv.reader(io.StringIO(text)), [])
        with warnings.catch_warnings():  # a trailing comma on each row is harmless
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                              na_filter=False, skip_blank_lines=False,
                              quoting=csv.QUOTE_MINIMAL, index_col=False)
    except (pd.errors.ParserError, ValueError) as err:
        line = re.search(r"line (\d+)", str(err))
        issues.append(InputIssue(name, int(line.group(1)) if line else 0, "",
                                 f"cannot be read as CSV: {str(err).strip()}"))
        return None
    # pandas renames a repeated header ("members.1"): check the header as written.
    if len(header) == len(raw.columns):
        raw.columns = header
    if prepare is not None:
        raw = prepare(raw)
    return check_table(raw, columns, name, issues, aliases)


def check_table(raw: pd.DataFrame, columns: tuple[Column, ...], name: str,
                issues: list[InputIssue], aliases: dict[str, str] | None = None
                ) -> pd.DataFrame | None:
    """Check a table of text cells read from a file (header = spreadsheet row 1).

    `aliases` maps other header spellings (e.g. Vietnamese ones) to contract names.
    Returns the typed frame, indexed by spreadsheet row, or None if it cannot be read.
    """
    raw = raw.copy()
    names = [_nfc_text(str(c)) for c in raw.columns]
    if aliases:
        folded = {_nfc_text(k).casefold(): v for k, v in aliases.items()}
        names = [folded.get(c.casefold(), c) for c in names]
    for col in sorted({c for c in names if names.count(c) > 1 and c}):
        issues.append(InputIssue(name, 1, col, "column appears twice in the header"))
    raw.columns = names
    raw.index = pd.RangeIndex(2, 2 + len(raw))
    known = {c.name for c in columns}
    raw = raw.loc[:, ~raw.columns.duplicated()]
    raw = raw[[c for c in raw.columns if c in known]]
    missing = [c.name for c in columns if c.required and c.name not in raw.columns]
    for col in missing:
        issues.append(InputIssue(name, 1, col, "required column is missing"))
    if missing:
        return None
    for col in raw.columns:
        raw[col] = _normalise(raw[col])
    # Excel leaves rows of empty cells below a table; they hold no household.
    maybe_blank: np.ndarray = (raw[raw.columns[0]] == "").to_numpy() if len(raw.columns) \
        else np.zeros(len(raw), bool)
    if np.any(maybe_blank):
        blank = np.zeros(len(raw), bool)
        blank[maybe_blank] = (raw[maybe_blank] == "").all(axis=1).to_numpy()
        raw = raw[~blank]
    out = pd.DataFrame(index=raw.index)
    for column in columns:
        if column.name in raw.columns:
            out[column.name] = _check_column(raw[column.name], column, name, issues)
        else:
            out[column.name] = _empty(column, raw.index)
    _check_coordinates(out, name, issues)
    return out


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


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _empty(column: Column, index: pd.Index) -> pd.Series:
    if column.kind in ("lat", "lon"):
        return pd.Series(np.nan, index=index, dtype=float)
    return pd.Series("", index=index, dtype=object)


def _quote(value: str) -> str:
    return repr(value if len(value) <= MAX_SHOWN else value[:MAX_SHOWN] + "…")


def _report(mask: pd.Series, values: pd.Series, file: str, column: str, message: str,
            issues: list[InputIssue]) -> None:
    for row in mask.index[mask.to_numpy()]:
        issues.append(InputIssue(file, int(row), column, f"{message} (got {_quote(values[row])})"))


def _check_column(values: pd.Series, column: Column, file: str,
                  issues: list[InputIssue]) -> pd.Series:
    """Parse and check one column, working once per distinct value where that is enough."""
    if column.kind in ("id", "text"):
        return _check_cells(values, column, file, issues)
    codes, uniques = pd.factorize(values)
    found: list[InputIssue] = []
    parsed = _check_cells(pd.Series(uniques, dtype=object), column, file, found)
    if found:
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
        for issue in found:  # issue.row is the distinct value's position here
            for row in values.index[order[bounds[issue.row]:bounds[issue.row + 1]]]:
                issues.append(InputIssue(issue.file, int(row), issue.column, issue.message))
    return pd.Series(parsed.to_numpy()[codes], index=values.index)


def _check_cells(values: pd.Series, column: Column, file: str,
                 issues: list[InputIssue]) -> pd.Series:
    kind, name = column.kind, column.name
    empty = values == ""
    if column.required:
        for row in values.index[empty.to_numpy()]:
            issues.append(InputIssue(file, int(row), name, "is empty but required"))
    if kind == "id":
        if name == "commune_code":
            values = canonical_code(values)
        duplicated = values.duplicated(keep="first") & ~empty
        repeated = set(values[duplicated])
        first = {v: r for r, v in values[values.isin(repeated) & ~duplicated].items()}
        for row in values.index[duplicated.to_numpy()]:
            issues.append(InputIssue(file, int(row), name,
                                     f"duplicate id {_quote(values[row])} "
                                     f"(first at row {first[values[row]]})"))
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
        text = values.where(~values.str.fullmatch(_DECIMAL_COMMA.pattern),
                            values.str.replace(",", ".", regex=False))
        numbers = pd.to_numeric(text.where(~empty), errors="coerce")
        limit = 90.0 if kind == "lat" else 180.0
        bad = ~empty & (numbers.isna() | ~np.isfinite(numbers) | (numbers.abs() > limit))
        _report(bad, values, file, name,
                f"must be a decimal number of degrees from {-limit:g} to {limit:g}", issues)
        return numbers.where(~bad).astype(float)
    raise ValueError(f"unknown column kind {kind}")  # a programming error, not an input one


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
    for row, text in values.items():
        if text in bad_rows:
            issues.append(InputIssue(file, _row(row), name, bad_rows[text]))
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
