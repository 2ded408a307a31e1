"""Settings from the environment, read when the app is made (never at import)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    database_url: str
    # A worker inside the web process solves queued rounds (`allocator serve --no-worker`
    # turns it off, when `allocator worker` processes do the solving).
    run_worker: bool = True

    @classmethod
    def from_env(cls) -> Settings:
        from allocator.store.db import database_url
        return cls(database_url=database_url(),
                   run_worker=os.environ.get("ALLOCATOR_NO_WORKER", "") not in ("1", "true"))
