"""The round report as an official paper: heading, status and day, signatures, A4 print.

A report is printed and filed like the handover lists, so it opens with the
national heading and the issuing office, says where the round stands (solved and
awaiting approval, approved on a day, closed) and ends with a place to sign. Its
tables are printed whole, and a column that is empty on every row is dropped from
the file (`drop_empty_columns`), so no page carries a blank column.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html.parser import HTMLParser

from allocator.report.labels import Text

NATION = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "SOCIALIST REPUBLIC OF VIET NAM")
MOTTO = ("Độc lập – Tự do – Hạnh phúc", "Independence – Freedom – Happiness")
WORDS: dict[str, tuple[str, str]] = {
    "paper_report": ("BÁO CÁO KẾT QUẢ PHÂN BỔ ĐIỆN THOẠI THÔNG MINH",
                     "REPORT ON THE SMARTPHONE ALLOCATION"),
    "paper_status": ("Trạng thái đợt", "Round status"),
    "paper_approved_on": ("Ngày phê duyệt", "Approved on"),
    "paper_solved_on": ("Ngày tính", "Solved on"),
    "paper_printed_on": ("Ngày lập", "Issued on"),
    "paper_not_approved": ("Phương án chưa được phê duyệt: chưa dùng để phát máy.",
                           "Not approved yet: not to be used to hand phones over."),
    "paper_place_day": ("…………, ngày …… tháng …… năm 20……",
                        "…………, date ……………………"),
    "paper_prepared_by": ("Người lập báo cáo", "Prepared by"),
    "paper_head_of_office": ("Thủ trưởng cơ quan", "Head of office"),
    "paper_sign": ("(Ký, ghi rõ họ tên)", "(Signature and full name)"),
    "paper_sign_stamp": ("(Ký, ghi rõ họ tên, đóng dấu)", "(Signature, full name and seal)"),
}
VIETNAM = dt.timezone(dt.timedelta(hours=7))  # no daylight saving time


@dataclass(frozen=True)
class ReportPaper:
    """What the report's heading and foot say about the round."""

    office: str
    status: str  # the round's status (draft, solved, approved, ...)
    approved_on: dt.date | None = None
    solved_on: dt.date | None = None
    issued_on: dt.date | None = None  # the day the file was made, in Vietnam

    @classmethod
    def of(cls, office: str, status: str, approved_at: dt.datetime | None,
           solved_at: dt.datetime | None, now: dt.datetime | None = None) -> ReportPaper:
        """From the round's stored moments (UTC), on Vietnam's calendar."""
        return cls(office, status, _day(approved_at), _day(solved_at),
                   _day(now or dt.datetime.now(dt.UTC)))

    def words(self, lang: str) -> Text:
        return Text(lang, WORDS)

    def nation(self, lang: str) -> tuple[str, str]:
        index = 1 if lang == "en" else 0
        return NATION[index], MOTTO[index]

    @property
    def approved(self) -> bool:
        return self.approved_on is not None and self.status in (
            "approved", "pickup_over", "closed", "superseded")


def _day(moment: dt.datetime | None) -> dt.date | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(VIETNAM).date()


# --- dropping empty columns ----------------------------------------------------------------

_CELLS = ("td", "th")


@dataclass
class _Cell:
    start: int  # where its tag starts in the text
    end: int = -1  # just past its closing tag
    text: str = ""


@dataclass
class _Table:
    head: list[list[_Cell]] = field(default_factory=list)
    body: list[list[_Cell]] = field(default_factory=list)
    simple: bool = True  # no merged cells, every cell closed where expected


class _Tables(HTMLParser):
    """Where each table's cells start and end in the text, row by row."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text = text
        self.lines = [0]
        for line in text.splitlines(keepends=True):
            self.lines.append(self.lines[-1] + len(line))
        self.tables: list[_Table] = []
        self.open: list[tuple[_Table, list[list[_Cell]]]] = []  # a table and its current part
        self.cell: _Cell | None = None

    def _at(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append(_Table())
            self.open.append((self.tables[-1], self.tables[-1].body))
            return
        if not self.open:
            return
        table, part = self.open[-1]
        if tag in ("thead", "tbody", "tfoot"):
            self.open[-1] = (table, table.head if tag == "thead" else table.body)
        elif tag == "tr":
            part.append([])
        elif tag in _CELLS:
            if not part or any(name in ("colspan", "rowspan") for name, _ in attrs):
                table.simple = False
                return
            self.cell = _Cell(self._at())
            part[-1].append(self.cell)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.open:
            self.open.pop()
        elif tag in _CELLS and self.cell is not None:
            start, closing = self._at(), f"</{tag}>"
            if self.text[start:start + len(closing)].lower() != closing:
                self.open[-1][0].simple = False
            self.cell.end = start + len(closing)
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.text += data


def drop_empty_columns(html: str) -> str:
    """The page without the table columns whose body cells are all blank (a table of
    simple rows only: one with merged cells or no body rows is left as it is)."""
    found = _Tables(html)
    found.feed(html)
    found.close()
    cuts: list[tuple[int, int]] = []
    for table in found.tables:
        rows = table.head + table.body
        if not table.simple or not table.body:
            continue
        width = len(rows[0])
        if any(len(row) != width for row in rows) or \
                any(cell.end < 0 for row in rows for cell in row):
            continue
        for column in range(width):
            if all(not row[column].text.strip() for row in table.body):
                cuts += [(row[column].start, row[column].end) for row in rows]
    for start, end in sorted(cuts, reverse=True):
        html = html[:start] + html[end:]
    return html
