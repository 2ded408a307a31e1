"""Table files read as text cells, a chunk of rows at a time.

A reader gives the header as written and then chunks of rows (text cells,
indexed by spreadsheet row: header = row 1), so memory grows with the rows a
caller keeps, never with the size of the file. Problems that stop reading (not
UTF-8, a broken quote, an oversized header) go to the issues, located.
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


def open_csv(path: Path, issues: list[InputIssue], optional: bool = False,
             name: str | None = None, separator: str = ",") -> RawTable | None:
    """Start reading a UTF-8 CSV file; None (with an issue) if it cannot be read at all."""
    name = name or path.name
    if not path.exists():
        if not optional:
            issues.append(InputIssue(name, 0, "", "file is missing"))
        return None
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
