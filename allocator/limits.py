"""Limits on input, checked before the work: file sizes, archives, characters.

Every upload (a CSV, an XLSX workbook, a zipped contract folder) is held to
the same numbers, so a small file that unpacks to gigabytes, or a cell that
no database column can hold, is refused with a sentence before any parsing
or writing starts. Sizes are checked twice for archives: from the sizes the
archive declares, and again while decompressing, because declared sizes can
lie.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

MB = 2**20
DEFAULT_MAX_FILE_MB = 64
MAX_COLUMNS = 200  # header cells; every contract file has fewer than 20 columns
MAX_SHEET_ROWS = 1_048_576  # Excel's own limit for a sheet
MAX_ARCHIVE_MEMBERS = 10_000  # entries of a zip or XLSX (a workbook has a few dozen)
_CHUNK = MB

# C0 and C1 control characters (NUL, tab, CR, LF, ...) and the Unicode line and
# paragraph separators: none belongs inside a cell, a name or an id, and NUL is
# refused outright by PostgreSQL while SQLite would cut an id at it. Lone UTF-16
# surrogates (which JSON can carry) cannot even be written as UTF-8.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# A written note may run over lines (\n, \r); no other control character belongs in it.
NOTE_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


class TooLarge(ValueError):
    """An upload, or a file inside one, is over the size limit; the message says which."""


@dataclass(frozen=True)
class Limits:
    """The numbers every upload is held to (the service reads them from its settings)."""

    max_file_bytes: int = DEFAULT_MAX_FILE_MB * MB  # each file, as sent or once unpacked

    @property
    def max_file_mb(self) -> int:
        return self.max_file_bytes // MB

    @property
    def max_archive_bytes(self) -> int:
        """All files unpacked from one archive together (a workbook holds several)."""
        return 4 * self.max_file_bytes


@dataclass(frozen=True)
class ColumnBounds:
    """What the store can hold for a file's columns: characters of text, largest numbers.

    The store derives these from its tables, so the engine checks a cell against
    the column it will land in without knowing any database.
    """

    lengths: Mapping[str, int] = field(default_factory=dict)
    maxima: Mapping[str, int] = field(default_factory=dict)


def first_control(text: str) -> int:
    """Position of the first control character in `text`, or -1."""
    found = CONTROL.search(text)
    return found.start() if found else -1


def control_message(text: str) -> str:
    """Why `text` is refused: the control character and where it sits (1-based)."""
    at = first_control(text)
    return (f"holds a control character (U+{ord(text[at]):04X}) at position {at + 1}; "
            "line breaks, tabs and invisible characters are not allowed here")


def name_problem(name: str, limit: int) -> str | None:
    """Why a name typed by a person cannot be kept (too long, control characters), or None."""
    if len(name) > limit:
        return f"is {len(name):,} characters long (at most {limit})"
    if first_control(name) >= 0:
        return control_message(name)
    return None


def read_capped(upload: BinaryIO, limit: int, name: str) -> Iterable[bytes]:
    """The upload in pieces, refused with TooLarge once more than `limit` bytes arrive."""
    total = 0
    while piece := upload.read(_CHUNK):
        total += len(piece)
        if total > limit:
            raise TooLarge(f"{name} is larger than {limit // MB} MB")
        yield piece


def save_capped(upload: BinaryIO, path: Path, limit: int, name: str) -> None:
    """Copy an upload to `path`, refusing it (nothing kept) past `limit` bytes."""
    try:
        with path.open("wb") as out:
            for piece in read_capped(upload, limit, name):
                out.write(piece)
    except TooLarge:
        path.unlink(missing_ok=True)
        raise


def check_archive(archive: zipfile.ZipFile, limits: Limits, name: str,
                  members: Iterable[zipfile.ZipInfo] | None = None) -> None:
    """Refuse a zip (or XLSX) whose chosen members unpack past the limits.

    Declared sizes are checked first (cheap); then every member is decompressed
    as a stream, counting bytes and stopping at the limit, so a forged header
    cannot slip a bomb past. Raises TooLarge, or zipfile / zlib errors for a
    damaged archive.
    """
    infos = archive.infolist()
    if len(infos) > MAX_ARCHIVE_MEMBERS:
        raise TooLarge(f"{name} holds {len(infos):,} entries (at most "
                       f"{MAX_ARCHIVE_MEMBERS:,})")
    chosen = [m for m in (infos if members is None else members) if not m.is_dir()]
    per_file, total_limit = limits.max_file_bytes, limits.max_archive_bytes
    for member in chosen:
        if member.file_size > per_file:
            raise TooLarge(_unpacks(name, member, per_file))
    if sum(m.file_size for m in chosen) > total_limit:
        raise TooLarge(f"{name} unpacks to more than {total_limit // MB} MB in all")
    total = 0
    for member in chosen:
        size = 0
        with archive.open(member) as stream:
            while piece := stream.read(_CHUNK):
                size += len(piece)
                total += len(piece)
                if size > per_file:
                    raise TooLarge(_unpacks(name, member, per_file))
                if total > total_limit:
                    raise TooLarge(f"{name} unpacks to more than {total_limit // MB} MB in all")


def _unpacks(name: str, member: zipfile.ZipInfo, limit: int) -> str:
    return f"{member.filename[:100]} in {name} unpacks to more than {limit // MB} MB"


ARCHIVE_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
                  ValueError, OSError)  # RuntimeError: an encrypted member
