"""The service's modules that others import each load on their own, in a fresh process.

A module the pages read (a status table, the error handlers) must not import the pages
back: such a cycle works only in the one order the server happens to import them.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

ROOTS = ("api.errors", "api.statuses", "api.problems", "api.deps", "api.main")


@pytest.mark.parametrize("module", ROOTS)
def test_the_module_imports_first(module: str) -> None:
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
