"""Settings from the environment, read when the app is made (never at import)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from fastapi import Request

from allocator.limits import MB, Limits
from allocator.store.papers import DEFAULT_OFFICE, office_from_env


@dataclass(frozen=True)
class Settings:
    database_url: str
    # A worker inside the web process solves queued rounds (`allocator serve --no-worker`
    # turns it off, when `allocator worker` processes do the solving).
    run_worker: bool = True
    # Each uploaded file, as sent and once unpacked from a zip or an XLSX workbook.
    max_unpacked_mb: int = 64
    # The office named at the top of every printed paper (ALLOCATOR_OFFICE).
    office: str = DEFAULT_OFFICE

    def upload_limits(self) -> Limits:
        return Limits(max_file_bytes=self.max_unpacked_mb * MB)

    @classmethod
    def from_env(cls) -> Settings:
        from allocator.store.db import database_url
        return cls(database_url=database_url(),
                   run_worker=os.environ.get("ALLOCATOR_NO_WORKER", "") not in ("1", "true"),
                   max_unpacked_mb=int(os.environ.get("ALLOCATOR_MAX_UNPACKED_MB", "64")),
                   office=office_from_env())


def issuing_office(request: Request) -> str:
    """The office printed on the service's papers (set from its settings when it starts)."""
    return getattr(request.app.state, "office", None) or office_from_env()
