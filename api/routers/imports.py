"""Planners' registry imports: one file, all rows or none, with a report."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, UploadFile, status

from allocator.store.imports import KINDS, import_file
from api.deps import PlannerDep, SessionDep

router = APIRouter(prefix="/imports", tags=["imports (planners)"])
MAX_BYTES = 512 * 1024 * 1024


@router.post("/{kind}")
def upload(kind: str, file: UploadFile, session: SessionDep, user: PlannerDep) -> dict[str, Any]:
    """Import households, lots, points or communes from CSV (UTF-8) or XLSX."""
    if kind not in KINDS:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"unknown registry {kind!r}; one of {', '.join(KINDS)}")
    name = Path(file.filename or f"{kind}.csv").name
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            [f"{name}: send a .csv or .xlsx file"])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        data = file.file.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"{name} is over 512 MB")
        path.write_bytes(data)
        report = import_file(session, kind, path, user.name)
    if not report.ok:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            [str(i) for i in report.issues])
    return {"kind": kind, "file": name, "inserted": report.inserted, "updated": report.updated}
