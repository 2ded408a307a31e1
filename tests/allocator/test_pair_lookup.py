"""pair_lookup: the row of each (a, b) pair, by a sorted search, against a plain dict."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.check import pair_lookup


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), unique=True, max_size=60),
       st.lists(st.tuples(st.integers(-1, 32), st.integers(-1, 32)), max_size=60))
def test_pair_lookup_finds_every_listed_pair_and_nothing_else(
        keys: list[tuple[int, int]], queries: list[tuple[int, int]]) -> None:
    keys_a = np.array([a for a, _ in keys], np.int64)
    keys_b = np.array([b for _, b in keys], np.int64)
    query_a = np.array([a for a, _ in queries], np.int64)
    query_b = np.array([b for _, b in queries], np.int64)
    row_of = {pair: row for row, pair in enumerate(keys)}
    assert pair_lookup(keys_a, keys_b, query_a, query_b).tolist() == \
        [row_of.get(q, -1) for q in queries]
