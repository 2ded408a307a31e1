"""Every file planners upload, read the same way: within the limits, under a safe name.

Registry files (CSV, XLSX) and zipped contract folders share the limits of
`allocator.limits` (each file at most ALLOCATOR_MAX_UNPACKED_MB, as sent and
once unpacked). A damaged, encrypted or oversized upload is the sender's
problem to fix (a 413 or 422 with a sentence), never a server error; only the
contract's file names are taken from a zip, so no path in it can reach outside
the folder; and a file name is only ever shown, never trusted.
"""

from __future__ import annotations

import shutil
import tempfile
import unicodedata
import zipfile
from pathlib import Path, PurePosixPath
from typing import Annotated, BinaryIO

from fastapi import Depends, Request

from allocator.limits import (
    ARCHIVE_ERRORS,
    CONTROL,
    Limits,
    TooLarge,
    check_archive,
    name_problem,
    read_capped,
    save_capped,
)
from api.problems import ApiError, Problem
from api.schemas import ROUND_NAME_LENGTH

WANTED = ("households.csv", "lots.csv", "points.csv", "communes.csv", "keep.csv", "round.json")
REGISTRY_SUFFIXES = (".csv", ".xlsx", ".xlsm")
MAX_NAME_BYTES = 255  # what a file system takes for one name


class BadUpload(ValueError):
    """The upload cannot be used; the message says why, in a sentence."""


class UploadTooLarge(BadUpload):
    """The upload itself, as sent, is over the size limit (HTTP 413)."""


def upload_limits(request: Request) -> Limits:
    """The service's upload limits (set from its settings when the app starts)."""
    return getattr(request.app.state, "limits", None) or Limits()


LimitsDep = Annotated[Limits, Depends(upload_limits)]


def safe_filename(raw: str | None, default: str) -> str:
    """A file name fit to show and to store: its last path part, no control characters,
    at most 255 bytes (the suffix kept); `default` when nothing usable is left."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/")
    name = CONTROL.sub("", PurePosixPath(name).name if "/" in name else name).strip()
    if name in ("", ".", ".."):
        return default
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    suffix = Path(name).suffix if len(Path(name).suffix) <= 16 else ""
    room = MAX_NAME_BYTES - len(suffix.encode())
    stem = name[:len(name) - len(suffix)].encode()[:room].decode(errors="ignore")
    return stem + suffix


def round_name(given: str, filename: str | None) -> str:
    """The name of a round made from an upload: the one typed, else the zip's file name."""
    given = given.strip()
    if given:
        problem = name_problem(given, ROUND_NAME_LENGTH)
        if problem:
            raise BadUpload(f"the round name {problem}")
        return given
    return safe_filename(filename, "")[:ROUND_NAME_LENGTH]


def save_registry_file(upload: BinaryIO, filename: str | None, kind: str, folder: Path,
                       limits: Limits) -> tuple[Path, str]:
    """Save a registry upload in `folder`; returns where, and the name to show for it."""
    name = safe_filename(filename, f"{kind}.csv")
    suffix = Path(name).suffix.lower()
    if suffix not in REGISTRY_SUFFIXES:
        raise BadUpload(f"{name}: send a .csv or .xlsx file")
    path = folder / f"upload{suffix}"  # never the sender's name: it only labels the report
    try:
        save_capped(upload, path, limits.max_file_bytes, name)
    except TooLarge as error:
        raise UploadTooLarge(str(error)) from None
    return path, name


def unpack_contract_zip(upload: BinaryIO, folder: Path, limits: Limits | None = None) -> None:
    """Write the contract files found in the zip into `folder` (by name, wherever they sit)."""
    limits = limits or Limits()
    with tempfile.TemporaryFile() as spooled:
        try:
            for piece in read_capped(upload, limits.max_archive_bytes, "the zip"):
                spooled.write(piece)
        except TooLarge as error:
            raise UploadTooLarge(str(error)) from None
        spooled.seek(0)
        try:
            with zipfile.ZipFile(spooled) as archive:
                members = _contract_members(archive)
                check_archive(archive, limits, "the zip", members.values())
                for short, member in members.items():
                    with archive.open(member) as source, (folder / short).open("wb") as out:
                        shutil.copyfileobj(source, out, 2**20)
        except TooLarge as error:
            raise BadUpload(str(error)) from None
        except BadUpload:
            raise
        except ARCHIVE_ERRORS as error:
            said = (str(error) or type(error).__name__)[:200]
            raise BadUpload(f"the upload is not a readable zip file ({said})") from None
    if not members:
        raise BadUpload("the zip holds none of " + ", ".join(WANTED))


def _contract_members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    members: dict[str, zipfile.ZipInfo] = {}
    for member in archive.infolist():
        short = PurePosixPath(member.filename.replace("\\", "/")).name
        if short in WANTED and not member.is_dir():
            if short in members:
                raise BadUpload(f"the zip holds {short} twice: keep one")
            members[short] = member
    return members


def refusal(error: BadUpload) -> ApiError:
    """An upload the service cannot use, as the API's error: 413 if it is too large."""
    code = 413 if isinstance(error, UploadTooLarge) else 422
    return ApiError(code, str(error), [Problem(message=str(error), field="body.file")])
