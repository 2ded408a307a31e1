"""Sorted integer keys: ordering by two at once, and the runs of one.

`np.lexsort` sorts by its last key, then again by the others: on national's two
million households (by unit, then tie rank) it takes 0.5 s. Both keys as one integer,
major times the minor's span plus minor, sorted stably, give the same order in under
0.1 s (a stable sort of int64 runs quickly where the data is partly in order already,
as a model's entries are, by row).
"""

from __future__ import annotations

import numpy as np


def order_by(major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """The order `np.lexsort((minor, major))` gives (by `major`, ties by `minor`, then by
    position), for non-negative integer keys; lexsort itself where one key is negative
    or the two would not fit in one 64-bit integer."""
    major, minor = np.asarray(major), np.asarray(minor)
    if major.shape != minor.shape or major.ndim != 1:
        raise ValueError("order_by takes two keys of one dimension and the same length")
    if not len(major):
        return np.zeros(0, np.int64)
    if major.dtype.kind not in "iu" or minor.dtype.kind not in "iu" \
            or int(major.min()) < 0 or int(minor.min()) < 0 \
            or (int(major.max()) + 1) * (int(minor.max()) + 1) >= 2**63:
        return np.lexsort((minor, major))
    span = int(minor.max()) + 1
    return np.argsort(major.astype(np.int64) * span + minor.astype(np.int64), kind="stable")


def runs(sorted_keys: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """For non-negative keys in increasing order (pairs sorted by place, say): where each
    key 0..n_keys-1 starts its run, and how long the run is (0 for a key not there),
    from a count instead of sorted searches."""
    length = np.bincount(sorted_keys, minlength=n_keys).astype(np.int64)
    return np.cumsum(length) - length, length
