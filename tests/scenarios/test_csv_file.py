"""Scenario CSV files: the fast writer gives pandas' bytes, or lets pandas write them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.csv_file import write_csv


def same_as_pandas(frame: pd.DataFrame, folder: Path) -> None:
    frame.to_csv(folder / "pandas.csv", index=False, lineterminator="\n")
    write_csv(frame, folder / "fast.csv")
    assert (folder / "fast.csv").read_bytes() == (folder / "pandas.csv").read_bytes()


def test_text_numbers_and_the_cases_pandas_writes_its_own_way(tmp_path: Path) -> None:
    frame = pd.DataFrame({
        "id": ["HH1-0000001", "HH1-0000002", "", "Nguyễn Thị Hà", "a;b"],
        "n": np.array([0, -3, 7, 10**12, 1], dtype=np.int64),
        "lat": [106.0, 10.7626, -0.0, 0.30000000000000004, 99999.5],
    })
    same_as_pandas(frame, tmp_path)
    for column, odd in (("id", "a,b"), ("id", 'say "hi"'), ("id", "two\nlines"),
                        ("lat", 1e-05), ("lat", 1e16), ("lat", float("nan"))):
        changed = frame.copy()
        changed.loc[2, column] = odd
        same_as_pandas(changed, tmp_path)
    same_as_pandas(frame.assign(flag=[True, False, True, True, False]), tmp_path)
    same_as_pandas(frame.head(0), tmp_path)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=6), st.floats(allow_nan=True, allow_infinity=True),
                          st.integers(-10**15, 10**15)), min_size=1, max_size=30))
def test_any_table_is_written_as_pandas_writes_it(tmp_path_factory: object,
                                                  rows: list[tuple[str, float, int]]) -> None:
    folder = tmp_path_factory.mktemp("csv")  # type: ignore[attr-defined]
    frame = pd.DataFrame(rows, columns=["text", "x", "n"])
    same_as_pandas(frame, folder)


def test_floats_arrow_writes_with_an_exponent_are_written_as_pandas_writes_them(
        tmp_path: Path) -> None:
    # Arrow writes 1e+10 where Python writes 10000000000.0 (found by hypothesis).
    same_as_pandas(pd.DataFrame({"text": ["", "a"], "x": [1e10, 123456789012.5],
                                 "n": [0, 1]}), tmp_path)
