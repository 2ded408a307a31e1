"""Arrow's reader and the whole-column checks give what pandas' chunked reading gives.

Every file is read twice: the quick way (Arrow, then `allocator.columnar`) and
pandas' way (the chunked checks, which word every problem). The frames must be
equal cell for cell and dtype for dtype, and every problem the same sentence
at the same file, row and column, whichever way was taken.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest.mock import patch

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator import reading
from allocator.contract import LOT_COLUMNS, ROUND_HOUSEHOLD_COLUMNS, Column
from allocator.issues import IssueLog
from allocator.reading import open_csv
from allocator.validate import read_table

HEADER = [c.name for c in ROUND_HOUSEHOLD_COLUMNS]
NAME = "Nguyễn Thị Hồng"
GOOD_ROWS = [
    ["HH1", "26740", "poor", "3", "1", "0", "elderly_alone", "", "10.7769", "106.7009", NAME,
     "0912", "079", ""],
    ["HH2", "026740", "Near-Poor", "2", "1", "0", "", "large_screen", "", "",
     unicodedata.normalize("NFD", NAME), "0913", "", ""],
    ["HH3", "26740", "poor", "4", "2", "0", "disability;elderly_alone", "", "10,5", "106,25",
     "Trần, Văn \"Bé\"", "09 14", "", ""],
    ["HH4", "26740", "poor", "1", "1", "0", "", "", "10.5", "106.5", "Lê, Thị", "", "", ""],
]


@contextmanager
def pandas_only() -> Iterator[None]:
    """Read as before Arrow: pandas' chunks, checked a chunk at a time."""
    with patch.object(reading, "_arrow_table", lambda *args: None):
        yield


def write(path: Path, rows: list[list[str]], header: list[str] = HEADER, bom: bool = False,
          crlf: bool = False) -> Path:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n" if crlf else "\n").writerows([header, *rows])
    path.write_text(out.getvalue(), encoding="utf-8-sig" if bom else "utf-8", newline="")
    return path


def both_ways(path: Path, columns: tuple[Column, ...] = ROUND_HOUSEHOLD_COLUMNS
              ) -> tuple[pd.DataFrame | None, list[str]]:
    """The frame and problems, after checking both ways agree on them."""
    quick_issues = IssueLog()
    quick = read_table(path, columns, quick_issues)
    with pandas_only():
        slow_issues = IssueLog()
        slow = read_table(path, columns, slow_issues)
    assert [str(i) for i in quick_issues] == [str(i) for i in slow_issues]
    assert quick_issues.more == slow_issues.more
    if slow is None:
        assert quick is None
    else:
        assert quick is not None
        pd.testing.assert_frame_equal(quick, slow, check_index_type=True)
    return quick, [str(i) for i in quick_issues]


def arrow_read(path: Path) -> bool:
    raw = open_csv(path, [])
    return raw is not None and raw.arrow is not None


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("crlf", [False, True])
def test_a_good_file_reads_the_same_either_way(tmp_path: Path, bom: bool, crlf: bool) -> None:
    path = write(tmp_path / "households.csv", GOOD_ROWS, bom=bom, crlf=crlf)
    assert arrow_read(path)
    frame, problems = both_ways(path)
    assert problems == [] and frame is not None
    assert frame["head_name"].tolist()[:2] == [NAME, NAME]  # NFD made NFC
    assert frame["commune_code"].tolist()[1] == "26740"
    assert frame["lat"].tolist()[2] == 10.5
    assert frame["household_id"].dtype == object
    assert frame["members"].dtype == "int64"


def test_chunks_from_arrow_are_pandas_chunks(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "CHUNK_ROWS", 3)
    rows = GOOD_ROWS + [[f"HH{i}", *GOOD_ROWS[0][1:]] for i in range(5, 12)]
    for header in (HEADER, HEADER[:3] + ["members", "members"], HEADER[:1]):
        path = write(tmp_path / "h.csv", [r[:len(header)] for r in rows], header, bom=True)
        quick = list(reading.open_csv(path, []).chunks)  # type: ignore[union-attr]
        with pandas_only():
            slow = list(reading.open_csv(path, []).chunks)  # type: ignore[union-attr]
        assert len(quick) == len(slow) == 4
        for a, b in zip(quick, slow):
            pd.testing.assert_frame_equal(a, b, check_index_type=True)
    empty = write(tmp_path / "e.csv", [])
    quick = list(reading.open_csv(empty, []).chunks)  # type: ignore[union-attr]
    with pandas_only():
        slow = list(reading.open_csv(empty, []).chunks)  # type: ignore[union-attr]
    assert len(quick) == len(slow) == 1
    pd.testing.assert_frame_equal(quick[0], slow[0])


@pytest.mark.parametrize("text", [
    "household_id,commune_code\nHH1,1\n\nHH2,2\n",  # a blank line counts as a row
    "household_id,commune_code\nHH1,1,\nHH2,2,x\n",  # ragged rows
    "household_id,commune_code\nHH1,\"1\nHH2,2\n",  # a quote never closed
    "household_id,commune_code\rHH1,1\rHH1,2\r",  # old Mac line ends
    "household_id,commune_code\nHH1,1\nHH1,1\n",  # a duplicate id
    "household_id,commune_code\nHH1, 1\n ,\nHH2,\x0b2\n",  # spaces and a control character
    "household_id,commune_code\n",
    " \n",
    "",
])
def test_odd_files_are_worded_the_same_either_way(tmp_path: Path, text: str) -> None:
    path = tmp_path / "households.csv"
    path.write_bytes(text.encode())
    both_ways(path)


def test_bytes_that_are_not_utf8_are_located_the_same(tmp_path: Path) -> None:
    path = tmp_path / "households.csv"
    path.write_bytes(",".join(HEADER).encode() + b"\nHH1,26740,poor,3,1,0,,,,,T\xe9,1,,\n")
    _, problems = both_ways(path)
    assert problems == ["households.csv, row 2: is not UTF-8 text (in Excel, save as "
                        "'CSV UTF-8')"]


CELLS = ["", " ", "HH1", "HH2", "hh1", "26740", "026740", "0", "poor", "near-poor", "Poor",
         "3", "-1", "1.0", "2.5", "1e3", "99999999999999999", "10.5", "10,5", "106.7", "-95",
         "elderly_alone", "large_screen;disability", "x;;y", NAME,
         unicodedata.normalize("NFD", NAME),
         " Lê ", "a,b", 'a"b', "a\nb", "a\r\nb", "\t", "x\x0b", "\x85y", "\u2028", "\ufeff",
         "\x7f", "Ｈ", "نام"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(st.sampled_from(CELLS), min_size=len(HEADER) - 1,
                              max_size=len(HEADER) + 1), max_size=8),
       bom=st.booleans(), crlf=st.booleans(), blank=st.booleans(), chunk=st.sampled_from([2, 50]))
def test_any_file_reads_and_is_worded_the_same_either_way(
        tmp_path: Path, rows: list[list[str]], bom: bool, crlf: bool, blank: bool,
        chunk: int) -> None:
    lines = [r if len(r) != len(HEADER) - 1 or not blank else r + [""] for r in rows]
    path = write(tmp_path / "households.csv", lines, bom=bom, crlf=crlf)
    with patch.object(reading, "CHUNK_ROWS", chunk):
        both_ways(path)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(
    st.sampled_from(["L1", "L2", "L1 ", ""]), st.sampled_from(["S", ""]),
    st.sampled_from(["4G", "4g", "5G", ""]), st.sampled_from(["5", "0", "x", "1.0"]),
    st.sampled_from(["100", "200"]), st.sampled_from(["50", "300"]),
    st.sampled_from(["", "26740;26741", "poor"]), st.sampled_from(["", "poor;near_poor", "rich"])),
    max_size=5))
def test_lots_read_the_same_either_way(tmp_path: Path, rows: list[tuple[str, ...]]) -> None:
    header = ["lot_id", "sponsor_id", "network", "quantity", "unit_price_vnd",
              "sponsor_subsidy_vnd", "allowed_communes", "allowed_statuses", "model"]
    path = write(tmp_path / "lots.csv", [[*r, "A3"] for r in rows], header)
    both_ways(path, LOT_COLUMNS)


GOOD_CELLS = {
    "commune_code": ["26740", "026740", " 26740", "26740 "],
    "poverty_status": ["poor", "Near-Poor", " poor", "poor\t"],
    "members": ["1", "3", " 2", "04", "2.0"],
    "flags": ["", "elderly_alone", " disability ; student", "student;student"],
    "needs": ["", "large_screen", "Large_Screen;x"],
    "lat": ["", "10.5", "10,5", " 10.77", "-0"],
    "head_name": ["", NAME, unicodedata.normalize("NFD", NAME), " Lê ", "An", "a,b", 'a"b',
                  "\u00a0Bình\u00a0", "x\x0b"],
    "phone": ["", "0912", " 0912", "09 12"],
}


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), n=st.integers(0, 9), chunk=st.sampled_from([2, 3, 50]),
       bom=st.booleans(), crlf=st.booleans())
def test_good_files_read_the_same_either_way(tmp_path: Path, data: st.DataObject, n: int,
                                             chunk: int, bom: bool, crlf: bool) -> None:
    header = ["household_id", *GOOD_CELLS, "lon", "twog_handsets", "smartphones"]
    rows = [[f"HH{i}", *(data.draw(st.sampled_from(v)) for v in GOOD_CELLS.values()),
             "", "1", "0"] for i in range(n)]
    for row in rows:
        row[header.index("lon")] = "" if row[header.index("lat")] == "" else "106.1"
    path = write(tmp_path / "households.csv", rows, header, bom=bom, crlf=crlf)
    with patch.object(reading, "CHUNK_ROWS", chunk):
        both_ways(path)


def test_arrow_is_handed_no_python_callback(tmp_path: Path) -> None:
    # Arrow lets go of its reader, and of any Python callback in its options, on one of
    # its own threads, sometimes after read_csv has returned. A process that exits at
    # once (a CLI run stopping at a bad file) then aborted in about one run in five on a
    # busy machine ("terminate called without an active exception"), since that thread
    # cannot take the GIL of an interpreter that is shutting down.
    given_options: list[dict[str, object]] = []
    real = reading.pacsv.ParseOptions

    def recorded(**options: object) -> object:
        given_options.append(options)
        return real(**options)  # type: ignore[arg-type]

    path = tmp_path / "households.csv"
    for text in ("household_id,commune_code\nHH1,1\n", "household_id,commune_code\nHH1,1,\n"):
        path.write_text(text, encoding="utf-8")
        with patch.object(reading.pacsv, "ParseOptions", recorded):
            reading._arrow_table(path, ",")
    assert len(given_options) == 2
    assert all("invalid_row_handler" not in options for options in given_options)
    # A ragged row still leaves the file to pandas, which words it by line.
    assert reading._arrow_table(path, ",") is None


def test_an_import_that_stops_at_a_bad_file_exits_2_every_time(tmp_path: Path) -> None:
    # The command as a commune officer runs it. Before Arrow was handed no callback,
    # about one run in five aborted with 134 on a busy machine.
    allocator = Path(sys.executable).parent / "allocator"
    path = tmp_path / "households.csv"
    path.write_text("household_id,commune_code\nA,26740\n", encoding="utf-8")
    runs = [subprocess.Popen([str(allocator), "import", "households", str(path)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env={**os.environ,
                                  "DATABASE_URL": f"sqlite:///{tmp_path / f'{i}.db'}"})
            for i in range(12)]
    for run in runs:
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 2, stderr
        assert "households.csv, row 1, column poverty_status" in stderr
