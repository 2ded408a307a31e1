"""A table read by Arrow, checked a whole column at a time.

This is the quick way through a file with nothing wrong in it: each column is
normalised, checked and parsed at once, in Arrow or over its distinct values,
instead of a chunk of rows at a time in pandas. It locates nothing. Whenever
any check might report a problem, it gives up (None), and the chunked checks of
`allocator.validate` read the same cells again and word every problem, so a
message never depends on which way a file was read.

The frame it returns is the one the chunked checks would build, cell for cell.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from allocator import reading
from allocator.contract import Column

if TYPE_CHECKING:
    from allocator.validate import TableCheck

# ASCII bytes str.strip() removes from the ends of a cell.
_EDGE = np.zeros(256, bool)
_EDGE[[0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20]] = True
_DECIMAL = r"^-?[0-9]{1,20}(\.[0-9]{1,30})?$"  # parsed alike by Arrow and pandas


def check_at_once(check: TableCheck, cells: pa.Table | None) -> pd.DataFrame | None:
    """The typed frame of a table with no problem in it; None if one might be found.

    The table is let go a column at a time: pass the only reference to it.
    """
    from allocator.validate import FREE_TEXT, NUMERIC

    known = {c.name for c in check.columns}
    first: dict[str, int] = {}
    for at, name in enumerate(check.names):
        if name in known:
            first.setdefault(name, at)
    if cells is None:
        return None
    index: pd.Index = pd.RangeIndex(2, 2 + cells.num_rows)
    given = {name: cells.column(at) for name, at in first.items()}
    del cells
    keep = None
    if given:
        blank = np.logical_and.reduce([
            pc.binary_length(a).to_numpy() == 0 for a in given.values()])
        if blank.any():  # rows of empty cells below a table hold no household
            keep = pa.array(~blank)
            index = index[~blank]
    out: dict[str, pd.Series] = {}
    for column in check.columns:  # one column in memory at a time, besides the table
        if column.name not in first:
            out[column.name] = _empty(column, index)
            continue
        raw = given.pop(column.name).combine_chunks()
        values = _normalised(raw)
        if values is not raw and ((_lengths(values) == 0) != (_lengths(raw) == 0)).any():
            return None  # a cell of spaces alone: its row may be blank, as the chunks decide
        if keep is not None:
            values = values.filter(keep)
        if column.kind in FREE_TEXT and _has_control(values):
            return None
        parsed = _parse(values, column, check.file, index)
        if parsed is None:
            return None
        length = check.bounds.lengths.get(column.name)
        if length is not None and column.kind not in NUMERIC and len(parsed) and \
                int(parsed.str.len().max()) > length:
            return None
        most = check.bounds.maxima.get(column.name)
        if most is not None and column.kind in ("int0", "int1") and (parsed > most).any():
            return None
        out[column.name] = parsed
    frame = pd.DataFrame(out, index=index)
    if "lat" in frame.columns and (frame["lat"].isna() != frame["lon"].isna()).any():
        return None
    return frame


def _empty(column: Column, index: pd.Index) -> pd.Series:
    from allocator.validate import _empty as empty

    return empty(column, index)


def _parse(values: pa.StringArray, column: Column, file: str,
           index: pd.Index) -> pd.Series | None:
    from allocator.validate import _check_cells, canonical_code

    kind = column.kind
    if kind in ("id", "text"):
        if column.required and bool((_lengths(values) == 0).any()):
            return None
        if kind == "id":
            if column.name == "commune_code":
                ids = canonical_code(pd.Series(values.to_numpy(zero_copy_only=False),
                                               dtype=object))
                if ids.duplicated().any():
                    return None
                return pd.Series(ids.to_numpy(object), index=index, dtype=object)
            if not _distinct(values):
                return None
            return pd.Series(values.to_numpy(zero_copy_only=False), index=index, dtype=object)
        return _text(values, index)
    if kind in ("lat", "lon"):
        quick = _degrees(values, 90.0 if kind == "lat" else 180.0)
        if quick is not None:
            return pd.Series(quick, index=index)
    encoded = pc.dictionary_encode(values)
    uniques = pd.Series(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object)
    found: list = []
    parsed = _check_cells(uniques, column, file, found)
    if found:
        return None
    codes = encoded.indices.to_numpy()
    if parsed.dtype == object:  # text, kept in Arrow rather than as one object per row
        return _text(pa.array(parsed.to_numpy(object), pa.string()).take(encoded.indices), index)
    return pd.Series(parsed.to_numpy()[codes], index=index)


def _text(values: pa.StringArray, index: pd.Index) -> pd.Series:
    """Text cells in pandas' own string dtype (Arrow-backed where pandas makes it so)."""
    series = values.to_pandas()
    series.index = index
    return series


def _distinct(values: pa.StringArray) -> bool:
    """No cell twice: ids in rising order need one comparison each, others a sort."""
    n = len(values)
    if n < 2:
        return True
    if pc.all(pc.greater(values.slice(1), values.slice(0, n - 1))).as_py():
        return True
    ordered = values.take(pc.sort_indices(values))
    return not pc.any(pc.equal(ordered.slice(1), ordered.slice(0, n - 1))).as_py()


def _degrees(values: pa.StringArray, limit: float) -> np.ndarray | None:
    """Plain decimals (or empty cells) within ±limit as floats; None for anything else."""
    offsets, data = _bytes(values)
    seg = data[offsets[0]:offsets[-1]]
    if bool(((seg < 0x2D) | (seg > 0x39) | (seg == 0x2F)).any()):  # only digits . -
        return None
    given = pc.greater(pc.binary_length(values), 0)
    plain = pc.match_substring_regex(values, _DECIMAL)
    if not pc.all(pc.or_(plain, pc.invert(given))).as_py():
        return None
    numbers = pc.cast(pc.if_else(given, values, pa.scalar(None, pa.string())), pa.float64())
    result = numbers.to_numpy(zero_copy_only=False)
    if bool((np.abs(result[~np.isnan(result)]) > limit).any()):
        return None
    return result


def _lengths(values: pa.StringArray) -> np.ndarray:
    return np.diff(_bytes(values)[0])


def _bytes(values: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    """The cells' offsets (one more than cells) and the bytes they point into."""
    offsets = np.frombuffer(values.buffers()[1], np.int32)[
        values.offset: values.offset + len(values) + 1]
    data = values.buffers()[2]
    return offsets, (np.frombuffer(data, np.uint8) if data is not None
                     else np.zeros(0, np.uint8))


def _normalised(values: pa.StringArray) -> pa.StringArray:
    """Cells as the chunked checks normalise them (strip, NFC), each chunk as it decides.

    A chunk's column is stripped and normalised only if some cell of it holds a
    space, a tab or a non-ASCII character; only non-ASCII cells and those with
    whitespace at an end can change, so only their distinct values are worked on.
    """
    n = len(values)
    if not n:
        return values
    offsets, data = _bytes(values)
    rows = reading.CHUNK_ROWS
    needed = np.array([_normalising(data[int(offsets[s]):int(offsets[min(s + rows, n)])])
                       for s in range(0, n, rows)])
    if not needed.any():
        return values
    length = np.diff(offsets)
    filled = length > 0
    head = np.where(filled, data[np.minimum(offsets[:-1], max(len(data) - 1, 0))], 0) \
        if len(data) else np.zeros(n, np.uint8)
    tail = np.where(filled, data[np.maximum(offsets[1:] - 1, 0)], 0) \
        if len(data) else np.zeros(n, np.uint8)
    ascii_ = pc.string_is_ascii(values).to_numpy(zero_copy_only=False)
    change = (~ascii_ | _EDGE[head] | _EDGE[tail]) & filled & np.repeat(needed, rows)[:n]
    at = np.flatnonzero(change)
    if not len(at):
        return values
    subset = values if len(at) == n else values.take(pa.array(at))
    encoded = pc.dictionary_encode(subset)
    before = encoded.dictionary.to_pylist()
    after = [_strip_nfc(text) for text in before]
    if after == before:
        return values
    order = np.arange(n, dtype=np.int64)
    order[at] = n + encoded.indices.to_numpy().astype(np.int64)
    joined = pa.concat_arrays([values, pa.array(after, pa.string())])
    return joined.take(pa.array(order))


def _normalising(seg: np.ndarray) -> bool:
    """Whether the chunked checks strip and normalise a chunk's column with these bytes."""
    return bool((seg >= 0x80).any() or (seg == 0x20).any() or (seg == 0x09).any())


def _strip_nfc(text: str) -> str:
    text = text.strip()
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def _has_control(values: pa.StringArray) -> bool:
    """Whether any cell holds a character `allocator.limits.CONTROL` refuses."""
    offsets, data = _bytes(values)
    seg = data[offsets[0]:offsets[-1]] if len(values) else data[:0]
    if bool((seg < 0x20).any() or (seg == 0x7F).any()):
        return True
    if not bool((seg >= 0x80).any()):
        return False
    c2 = np.flatnonzero(seg[:-1] == 0xC2)  # U+0080 to U+009F
    if len(c2) and bool(((seg[c2 + 1] >= 0x80) & (seg[c2 + 1] <= 0x9F)).any()):
        return True
    e2 = np.flatnonzero(seg[:-2] == 0xE2)  # U+2028, U+2029
    return bool(len(e2)) and bool(((seg[e2 + 1] == 0x80) &
                                   ((seg[e2 + 2] == 0xA8) | (seg[e2 + 2] == 0xA9))).any())
