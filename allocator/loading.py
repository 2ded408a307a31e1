"""Loading the engine's modules in a process that is about to solve."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def uncollected() -> Iterator[None]:
    """No cyclic garbage collection while the engine's modules load.

    Loading makes some 55,000 objects that live as long as the process and no
    garbage, yet the collector would walk them some 180 times (about 25 ms).
    A caller's own choice (collection already off) is left as it was.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
