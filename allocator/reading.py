"""Table files read as text cells, a chunk of rows at a time.

A reader gives the header as written and then chunks of rows (text cells,
indexed by spreadsheet row: header = row 1), so memory grows with the rows a
caller keeps, never with the size of the file. Problems that stop reading (not
UTF-8, a broken quote, an oversized header) go to the issues, located.

A CSV file is parsed by Arrow's reader when it is plainly written (no blank
line, no lone carriage return, no NUL, every row as wide as the header), several
times faster than pandas' own; anything else, or anything Arrow refuses, is read
by pandas as before, so every located problem is worded and numbered the same.
The Arrow table stays on the RawTable, for checks that take a whole column at once.
"""

from __future__ import annotations

import codecs
import csv
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from allocator.issues import InputIssue
from allocator.limits import MAX_COLUMNS

CHUNK_ROWS = 50_000
_BLOCK = 4 * 2**20


@dataclass
class RawTable:
    """A table being read: its file name, header as written, and chunks of text cells.

    `failed` turns true if reading stopped part-way (the problem is in the issues).
    """

    name: str
    header: list[str]
    chunks: Iterator[pd.DataFrame]
    failed: bool = field(default=False)
    arrow: pa.Table | None = None  # every cell as text, when Arrow read the file

    def take_arrow(self) -> pa.Table | None:
        """The Arrow table, no longer kept here (chunks then come from pandas' reader)."""
        cells, self.arrow = self.arrow, None
        return cells


def open_csv(path: Path, issues: list[InputIssue], optional: bool = False,
             name: str | None = None, separator: str = ",") -> RawTable | None:
    """Start reading a UTF-8 CSV file; None (with an issue) if it cannot be read at all."""
    name = name or path.name
    if not path.exists():
        if not optional:
            issues.append(InputIssue(name, 0, "", "file is missing"))
        return None
    fast = _arrow_table(path, separator)
    if fast is not None:
        table = RawTable(name, fast[0], iter(()), arrow=fast[1])
        table.chunks = _arrow_chunks(table, path, issues, separator)
        return table
    try:
        if not _utf8_and_not_blank(path, name, issues):
            return None
        with path.open(encoding="utf-8-sig", newline="") as text:
            header = next(csv.reader(text, delimiter=separator), [])
    except OSError as err:
        issues.append(InputIssue(name, 0, "", f"cannot be read ({err.strerror or err})"))
        return None
    except csv.Error as err:
        issues.append(InputIssue(name, 1, "", f"cannot be read as CSV: {err}"))
        return None
    if len(header) > MAX_COLUMNS:
        issues.append(InputIssue(name, 1, "", f"the header has {len(header):,} columns "
                                              f"(at most {MAX_COLUMNS})"))
        return None
    table = RawTable(name, header, iter(()))
    table.chunks = _csv_chunks(path, table, issues, separator)
    return table


def _utf8_and_not_blank(path: Path, name: str, issues: list[InputIssue]) -> bool:
    """Check the whole file decodes as UTF-8 (locating the first bad byte) and is not blank."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    lines, blank = 0, True
    with path.open("rb") as data:
        while True:
            block = data.read(_BLOCK)
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as err:
                issues.append(InputIssue(name, lines + block.count(b"\n", 0, err.start) + 1, "",
                                         "is not UTF-8 text (in Excel, save as 'CSV UTF-8')"))
                return False
            lines += block.count(b"\n")
            blank = blank and (not text or text.isspace())
            if not block:
                break
    if blank:
        issues.append(InputIssue(name, 1, "", "is empty: a header row is required"))
        return False
    return True


def _csv_chunks(path: Path, table: RawTable, issues: list[InputIssue],
                separator: str = ",") -> Iterator[pd.DataFrame]:
    try:
        with warnings.catch_warnings():  # a trailing comma on each row is harmless
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            reader = pd.read_csv(path, sep=separator, encoding="utf-8-sig", dtype=str,
                                 keep_default_na=False, na_filter=False, skip_blank_lines=False,
                                 quoting=csv.QUOTE_MINIMAL, index_col=False,
                                 chunksize=CHUNK_ROWS)
            with reader:
                for chunk in reader:
                    # pandas renames a repeated header ("members.1"): keep it as written.
                    if len(table.header) == len(chunk.columns):
                        chunk.columns = table.header
                    chunk.index = chunk.index + 2
                    yield chunk
    except (pd.errors.ParserError, ValueError, OSError) as err:
        table.failed = True
        line = re.search(r"line (\d+)", str(err))
        issues.append(InputIssue(table.name, int(line.group(1)) if line else 0, "",
                                 f"cannot be read as CSV: {str(err).strip()[:300]}"))


def _arrow_table(path: Path, separator: str) -> tuple[list[str], pa.Table] | None:
    """The header and every cell as text, or None where pandas' reading must decide.

    pandas keeps blank lines as rows (counted in later row numbers) and reports
    ragged rows by line; Arrow skips the one and numbers the other differently.
    """
    try:
        plain = _plainly_written(path)
        if plain is None:
            return None
        with path.open(encoding="utf-8-sig", newline="") as text:
            header = next(csv.reader(text, delimiter=separator), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if not header or len(header) > MAX_COLUMNS:
        return None
    # A row not as wide as the header makes Arrow fail, and pandas then words it. No
    # Python callback (`invalid_row_handler`) is handed to Arrow: Arrow lets go of its
    # reader, callback included, on one of its own threads, sometimes after read_csv has
    # returned; if the interpreter is exiting by then (a CLI run that stops at a bad
    # file), that thread cannot take the GIL and the process aborts instead of exiting 2.
    try:
        table = pacsv.read_csv(
            path, read_options=pacsv.ReadOptions(use_threads=True, block_size=8 * 2**20),
            parse_options=pacsv.ParseOptions(
                delimiter=separator, newlines_in_values=plain, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in header}, strings_can_be_null=False,
                quoted_strings_can_be_null=False, null_values=[], check_utf8=True))
    except (pa.ArrowException, OSError, ValueError):
        return None
    if table.column_names != header or \
            any(not pa.types.is_string(t) for t in table.schema.types):
        return None
    return header, table


def _plainly_written(path: Path) -> bool | None:
    """Whether a quote is written anywhere; None for a lone carriage return, a NUL or no text.

    Blank lines are left to Arrow's reader, which then sees a row too short. Only
    a quote can hold a line break inside a cell, and Arrow reads a file with none
    several times faster when told so.
    """
    tail, seen_text, first, quoted = b"", False, True, False
    with path.open("rb") as data:
        while block := data.read(_BLOCK):
            if first and block.startswith(codecs.BOM_UTF8):
                block = block[len(codecs.BOM_UTF8):]
            if first and block[:1] in (b"\n", b"\r"):
                return None
            first = False
            joined = tail + block
            if b"\x00" in block or b"\r" in joined and \
                    joined.count(b"\r") != joined.count(b"\r\n") + joined.endswith(b"\r"):
                return None
            seen_text = seen_text or bool(block.strip())
            quoted = quoted or b'"' in block
            tail = joined[-2:]
    return quoted if seen_text and not tail.endswith(b"\r") else None


def _arrow_chunks(table: RawTable, path: Path, issues: list[InputIssue],
                  separator: str) -> Iterator[pd.DataFrame]:
    """The Arrow table as pandas would have chunked it: same cells, dtypes and row labels.

    If a checker took the table (`take_arrow`), pandas reads the file again instead.
    """
    cells = table.arrow
    if cells is None:
        yield from _csv_chunks(path, table, issues, separator)
        return
    rows = CHUNK_ROWS
    for start in range(0, max(cells.num_rows, 1), rows):  # a header alone: one empty chunk
        chunk = cells.slice(start, rows).to_pandas()
        chunk.columns = table.header
        chunk.index = pd.RangeIndex(start + 2, start + 2 + len(chunk))
        yield chunk
