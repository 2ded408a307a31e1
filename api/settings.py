"""Settings from the environment, read when the app is made (never at import)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    database_url: str
    solver_workers: int = 1

    @classmethod
    def from_env(cls) -> Settings:
        from allocator.store.db import database_url
        return cls(database_url=database_url(),
                   solver_workers=int(os.environ.get("ALLOCATOR_SOLVER_WORKERS", "1")))
