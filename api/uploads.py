"""Zipped contract folders sent by planners: read safely, or refused with a reason.

A damaged, encrypted or oversized archive is the sender's problem to fix (a 422
with a sentence), never a server error; only the contract's file names are
taken, so no path in the archive can reach outside the folder.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

WANTED = ("households.csv", "lots.csv", "points.csv", "communes.csv", "round.json")
MAX_UPLOAD = 512 * 1024 * 1024  # bytes of the zip itself
MAX_UNPACKED = 1024 * 1024 * 1024  # bytes of the files taken from it, all together


class BadUpload(ValueError):
    """The upload is not a usable zipped contract folder."""


def unpack_contract_zip(upload: BinaryIO, folder: Path) -> None:
    """Write the contract files found in the zip into `folder` (by name, wherever they sit)."""
    data = upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise BadUpload(f"the zip is larger than {MAX_UPLOAD // 2**20} MB")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = {Path(m.filename).name: m for m in archive.infolist()
                       if Path(m.filename).name in WANTED and not m.is_dir()}
            if sum(m.file_size for m in members.values()) > MAX_UNPACKED:
                raise BadUpload(f"the files unpack to more than {MAX_UNPACKED // 2**20} MB")
            for short, member in members.items():
                (folder / short).write_bytes(archive.read(member))
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError,
            RuntimeError) as error:  # RuntimeError: an encrypted member
        raise BadUpload(f"the upload is not a readable zip file ({error})") from None
    if not members:
        raise BadUpload("the zip holds none of " + ", ".join(WANTED))
