"""Planners' registry imports: one file, all rows or none, with a report."""

from __future__ import annotations

import pathlib
import tempfile
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, UploadFile, status
from pydantic import BaseModel

from allocator.store.imports import IMPORTS, import_file
from api.deps import PlannerDep, SessionDep
from api.problems import documented, from_issues
from api.uploads import BadUpload, LimitsDep, refusal, save_registry_file

router = APIRouter(prefix="/imports", tags=["imports (planners)"])


class ImportResult(BaseModel):
    """What an import changed: rows new to the registry and rows that replaced old ones."""

    kind: str
    file: str
    inserted: int
    updated: int

    model_config = {"json_schema_extra": {"examples": [
        {"kind": "households", "file": "ho-dan.csv", "inserted": 16800, "updated": 0}]}}


Kind = Annotated[str, Path(description="Which registry the file fills.",
                           json_schema_extra={"enum": list(IMPORTS)})]


@router.post("/{kind}", response_model=ImportResult, responses=documented(413))
def upload(kind: Kind, file: UploadFile, session: SessionDep, user: PlannerDep,
           limits: LimitsDep) -> ImportResult:
    """Import households, lots, points, communes or windows (pickup windows, replaced for
    each point the file names): all rows or none.

    **Accepts** one file as `multipart/form-data` field `file`: a CSV (UTF-8, with or
    without the BOM Excel writes; `,` separated) named `*.csv`, or an XLSX workbook named
    `*.xlsx` or `*.xlsm` (its first sheet). At most 64 MB (the service's
    `ALLOCATOR_MAX_UNPACKED_MB`): a larger file is refused with 413, a workbook that
    unpacks to more with 422.

    **Refused** with 422 and every problem located (`file`, `row`, `column`): missing
    columns, bad cells, repeated ids, text that is not UTF-8. Nothing is written then.
    """
    if kind not in IMPORTS:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"unknown registry {kind[:40]!r}; one of {', '.join(IMPORTS)}")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path, name = save_registry_file(file.file, file.filename, kind,
                                            pathlib.Path(tmp), limits)
        except BadUpload as error:
            raise refusal(error) from None
        report = import_file(session, kind, path, user.name, name=name, limits=limits)
    if not report.ok:
        raise from_issues(422, report.issues, what=name)
    return ImportResult(kind=kind, file=name, inserted=report.inserted, updated=report.updated)
