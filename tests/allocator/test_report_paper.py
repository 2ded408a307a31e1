"""The round report as a paper: heading, status and day, signatures, and no empty column."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest

from allocator.report import render_report
from allocator.report.paper import NATION, ReportPaper, drop_empty_columns
from tests.allocator.test_cli import EXAMPLES, allocator


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    out = tmp_path_factory.mktemp("report") / "r"
    assert allocator("solve", EXAMPLES / "ex02_random", "--out", out, "-q").returncode == 0
    return (json.loads((out / "dashboard.json").read_text(encoding="utf-8")),
            json.loads((out / "summary.json").read_text(encoding="utf-8")))


def test_a_column_empty_on_every_row_is_dropped_head_and_all() -> None:
    page = ("<table id='a'><thead><tr><th>Mã</th><th>Tên</th><th>Số</th></tr></thead>"
            "<tbody><tr><td>P1</td><td> </td><td>3</td></tr>\n<tr><td>P2</td><td></td>"
            "<td>4</td></tr></tbody></table>")
    assert drop_empty_columns(page) == (
        "<table id='a'><thead><tr><th>Mã</th><th>Số</th></tr></thead>"
        "<tbody><tr><td>P1</td><td>3</td></tr>\n<tr><td>P2</td><td>4</td></tr></tbody></table>")
    # a table with merged cells, or without rows, is left as it is
    merged = ("<table><tbody><tr><td colspan='2'></td></tr><tr><td></td><td></td></tr>"
              "</tbody></table>")
    assert drop_empty_columns(merged) == merged
    bare = "<table><thead><tr><th>Mã</th></tr></thead><tbody></tbody></table>"
    assert drop_empty_columns(bare) == bare


def test_the_report_carries_its_heading_status_and_signatures(
        solved: tuple[dict[str, Any], dict[str, Any]]) -> None:
    data, summary = solved
    approved = dt.datetime(2026, 3, 31, 18, 30)  # UTC: 1 April in Vietnam
    paper = ReportPaper.of("Sở Khoa học và Công nghệ TP. Hồ Chí Minh", "approved", approved,
                           approved, now=approved)
    page = render_report(data, summary, "Đợt 4: Quận 1", "vi", paper=paper)
    assert NATION[0] in page and "SỞ KHOA HỌC VÀ CÔNG NGHỆ TP. HỒ CHÍ MINH" in page
    assert re.search(r"Ngày phê duyệt: <b[^>]*>01/04/2026</b>", page)
    assert "Người lập báo cáo" in page and "@page{size:A4" in page.replace(" ", "")
    assert "paper-not-approved" not in page
    solved = render_report(data, summary, "Đợt 5", "en",
                           paper=ReportPaper.of("Office", "solved", None, approved))
    assert "Not approved yet" in solved and "Prepared by" in solved
