"""One sort of a combined key gives lexsort's order."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.ordering import order_by


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 40), st.integers(-3, 40)), max_size=60),
       st.sampled_from([np.int64, np.int32, np.uint16]))
def test_the_order_is_lexsorts_ties_by_position(pairs: list[tuple[int, int]],
                                               dtype: type) -> None:
    major = np.array([a for a, _ in pairs], np.int64)
    minor = np.array([b for _, b in pairs], np.int64)
    if dtype is np.uint16:  # (unsigned keys cannot be negative)
        major, minor = np.abs(major), np.abs(minor)
    major, minor = major.astype(dtype), minor.astype(dtype)
    assert order_by(major, minor).tolist() == np.lexsort((minor, major)).tolist()


def test_keys_too_wide_for_one_integer_are_still_ordered() -> None:
    major = np.array([2**40, 3, 2**40, 0], np.int64)
    minor = np.array([2**40, 1, 5, 2**40], np.int64)
    assert order_by(major, minor).tolist() == [3, 1, 2, 0]
