"""One sort of a combined key gives lexsort's order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.ordering import order_by, runs


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


def test_keys_of_other_kinds_are_ordered_as_lexsort_orders_them() -> None:
    # Unsigned 64-bit keys (which numpy would add to signed ones as floats) and float
    # keys, a NaN among them.
    minor = np.array([2**60 + 1, 2**60, 0], np.uint64)
    assert order_by(np.zeros(3, np.int64), minor).tolist() == [2, 1, 0]
    major = np.array([1.5, np.nan, 0.5])
    assert order_by(major, np.zeros(3, np.int64)).tolist() == \
        np.lexsort((np.zeros(3), major)).tolist()
    with pytest.raises(ValueError):
        order_by(np.zeros(3, np.int64), np.zeros(1, np.int64))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 9), max_size=40), st.integers(0, 5))
def test_each_keys_run_starts_where_the_sorted_keys_first_have_it(keys: list[int],
                                                                 more: int) -> None:
    ordered = np.array(sorted(keys), np.int64)
    n = (max(keys) + 1 if keys else 0) + more
    start, length = runs(ordered, n)
    assert length.tolist() == [keys.count(k) for k in range(n)]
    for k in range(n):
        if length[k]:
            assert start[k] == ordered.tolist().index(k)
