"""Planners' registry imports: one file, all rows or none, with a report."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, UploadFile, status

from allocator.store.imports import IMPORTS, import_file
from api.deps import PlannerDep, SessionDep
from api.problems import from_issues
from api.uploads import BadUpload, LimitsDep, refusal, save_registry_file

router = APIRouter(prefix="/imports", tags=["imports (planners)"])


@router.post("/{kind}")
def upload(kind: str, file: UploadFile, session: SessionDep, user: PlannerDep,
           limits: LimitsDep) -> dict[str, Any]:
    """Import households, lots, points, communes or windows (pickup windows, replaced for
    each point the file names) from CSV (UTF-8) or XLSX."""
    if kind not in IMPORTS:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"unknown registry {kind[:40]!r}; one of {', '.join(IMPORTS)}")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path, name = save_registry_file(file.file, file.filename, kind, Path(tmp), limits)
        except BadUpload as error:
            raise refusal(error) from None
        report = import_file(session, kind, path, user.name, name=name, limits=limits)
    if not report.ok:
        raise from_issues(422, report.issues, what=name)
    return {"kind": kind, "file": name, "inserted": report.inserted, "updated": report.updated}
