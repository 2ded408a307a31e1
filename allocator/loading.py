"""Loading the engine's modules in a process that is about to solve."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def uncollected() -> Iterator[None]:
    """Load modules without the cyclic garbage collector, then keep it off what they made.

    The engine's modules make some 55,000 objects that live as long as the
    process and hold no garbage; the collector walked them some 180 times while
    they loaded and again in each full collection of the solve (10 to 35 ms in
    all). Once loaded they are frozen (`gc.freeze`). A process that had them
    already loads nothing here and freezes nothing; collection is on again
    afterwards unless the caller had it off.
    """
    modules = len(sys.modules)
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if len(sys.modules) > modules:
            gc.freeze()
        if was:
            gc.enable()
