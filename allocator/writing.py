"""CSV bytes of a frame exactly as pandas' `to_csv(index=False, lineterminator="\\n")` writes them.

pandas formats every cell in Python, which costs seconds at national scale. Here each
column becomes an Arrow text column (text quoted once per distinct value, numbers cast in
C++) and rows are joined in Arrow. A frame holding anything this does not cover (other
dtypes, non-text objects) goes to pandas itself, so the bytes never differ.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

Chunk = bytes | memoryview  # a piece of the file, to write as it is
CHUNK_ROWS = 250_000  # rows joined at once: bounds the memory of the text being built
_TEXT = pa.large_string()
# The csv module quotes a cell holding the delimiter, the quote or a character of the line
# terminator ("\n"); a lone "\r" is written as it is.
_NEEDS_QUOTES = '[,"\n]'


class _Cells:
    """A column's cell texts: `values`, or `values` taken at `codes` (a dictionary column).

    A dictionary column is expanded one chunk at a time, so its full text never exists
    twice at once.
    """

    def __init__(self, values: pa.Array, codes: pa.Array | None = None) -> None:
        self.values, self.codes = values, codes

    def rows(self, start: int, stop: int) -> pa.Array:
        if self.codes is None:
            return self.values[start:stop]
        return self.values.take(self.codes[start:stop])


def csv_chunks(frame: pd.DataFrame, float_format: str | None = None) -> Iterator[Chunk]:
    """The CSV file of `frame` (header, then rows), in pieces of bytes."""
    columns = _columns(frame, float_format)
    if columns is None:
        yield frame.to_csv(index=False, lineterminator="\n",
                           float_format=float_format).encode("utf-8")
        return
    yield (",".join(_quoted(str(c)) for c in frame.columns) + "\n").encode("utf-8")
    comma, newline, nothing = (pa.scalar(s, _TEXT) for s in (",", "\n", ""))
    for start in range(0, len(frame), CHUNK_ROWS):
        parts: list[pa.Array | pa.Scalar] = []
        for column in columns:
            parts += [column.rows(start, start + CHUNK_ROWS), comma]
        parts[-1] = newline
        yield _joined_bytes(pc.binary_join_element_wise(*parts, nothing))


def _columns(frame: pd.DataFrame, float_format: str | None) -> list[_Cells] | None:
    """Each column as the text of its cells, or None if pandas must write this frame."""
    # One column: the csv module writes an empty cell as "" there; leave that to pandas.
    if len(frame.columns) < 2 or not all(isinstance(c, str) for c in frame.columns):
        return None
    if frame.columns.has_duplicates:
        return None
    out = []
    for name in frame.columns:
        cells = _column_cells(frame[name], float_format)
        if cells is None:
            return None
        out.append(cells)
    return out


def _column_cells(series: pd.Series, float_format: str | None) -> _Cells | None:
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) or (pd.api.types.is_object_dtype(dtype) and
                                             _all_text(series)):
        return quoted_cells(_as_arrow_text(series))
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return _integer_cells(series.to_numpy())
    if isinstance(dtype, np.dtype) and dtype.kind == "f" and float_format == "%.3f":
        return _fixed3_cells(series.to_numpy(np.float64))
    return None


def _all_text(series: pd.Series) -> bool:
    return len(series) == 0 or pd.api.types.infer_dtype(series, skipna=False) == "string"


def _as_arrow_text(series: pd.Series) -> pa.Array:
    """The column as one Arrow text array; missing cells are written empty, as pandas does."""
    values = pa.array(series, type=_TEXT) if pd.api.types.is_object_dtype(series.dtype) \
        else pa.array(series)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = values.cast(_TEXT)
    return values.fill_null("") if values.null_count else values


def quoted_cells(values: pa.Array) -> _Cells:
    """Text cells as the csv module writes them: quoted and inner quotes doubled if needed.

    Only a column holding a comma, quote or newline somewhere is looked at cell by cell,
    and then once per distinct text.
    """
    values = values.cast(_TEXT)
    if not _any_special(values):
        return _Cells(values)
    encoded = pc.dictionary_encode(values)
    uniques = encoded.dictionary
    needs = pc.match_substring_regex(uniques, _NEEDS_QUOTES)
    doubled = pc.replace_substring(uniques, '"', '""')
    quote = pa.scalar('"', _TEXT)
    wrapped = pc.binary_join_element_wise(quote, doubled, quote, pa.scalar("", _TEXT))
    return _Cells(pc.if_else(needs, wrapped, uniques), encoded.indices)


def _any_special(values: pa.Array) -> bool:
    """Whether any cell holds a character that needs quotes (a scan of the raw bytes)."""
    if not len(values) or values.buffers()[2] is None:
        return False
    offsets = np.frombuffer(values.buffers()[1], np.int64, len(values) + 1, values.offset * 8)
    data = np.frombuffer(values.buffers()[2], np.uint8)
    for start in range(int(offsets[0]), int(offsets[-1]), 1 << 24):
        block = data[start:min(start + (1 << 24), int(offsets[-1]))]
        if (block == ord(",")).any() or (block == ord('"')).any() or \
                (block == ord("\n")).any():
            return True
    return False


def _quoted(text: str) -> str:
    if any(c in text for c in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _integer_cells(values: np.ndarray) -> _Cells:
    # Few distinct values (weights, costs) in most columns: cast each once.
    codes, uniques = pd.factorize(values)
    if len(uniques) * 4 < len(values):
        return _Cells(pa.array(uniques).cast(_TEXT), pa.array(codes))
    return _Cells(pa.array(values).cast(_TEXT))


def _fixed3_cells(values: np.ndarray) -> _Cells:
    """Python's "%.3f" % x for each x (empty for NaN), as pandas' float_format writes it.

    A value that is already a multiple of 0.001 to the last bit (k / 1000 == x) prints as
    the integer k with a point before its last three digits; any other value is
    formatted by Python itself. Each distinct value is formatted once.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        k = np.rint(values * 1000.0)
        exact = np.isfinite(values) & (np.abs(values) < 2.0 ** 40) & (k / 1000.0 == values)
    # 2|k| + sign: -0.0 prints as "-0.000", so the sign is kept apart from |k|.
    key = np.abs(np.where(exact, k, 0.0)).astype(np.int64) * 2 + np.signbit(values)
    codes, uniques = pd.factorize(key)
    k_abs, negative = uniques // 2, uniques % 2 == 1
    whole = pa.array(k_abs // 1000).cast(_TEXT)
    # 1000 + fraction always has four digits; dropping the leading 1 zero-pads it.
    fraction = pc.utf8_slice_codeunits(pa.array(1000 + k_abs % 1000).cast(_TEXT), 1)
    text = pc.binary_join_element_wise(whole, fraction, pa.scalar(".", _TEXT))
    if negative.any():
        text = pc.if_else(pa.array(negative),
                          pc.binary_join_element_wise(pa.scalar("-", _TEXT), text,
                                                      pa.scalar("", _TEXT)), text)
    cells = _Cells(text, pa.array(codes))
    other = np.flatnonzero(~exact)
    if not len(other):
        return cells
    mask = np.zeros(len(values), bool)
    mask[other] = True
    words = ["" if np.isnan(x) else format(x, ".3f") for x in values[other].tolist()]
    return _Cells(pc.replace_with_mask(cells.rows(0, len(values)), pa.array(mask),
                                       pa.array(words, type=_TEXT)))


def _joined_bytes(rows: pa.Array) -> Chunk:
    """The concatenated bytes of a text array (its rows already end in a newline)."""
    if not len(rows):
        return b""
    offsets = np.frombuffer(rows.buffers()[1], np.int64, len(rows) + 1, rows.offset * 8)
    return memoryview(rows.buffers()[2])[int(offsets[0]):int(offsets[-1])]
