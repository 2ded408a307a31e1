"""Pickup slips (phiếu hẹn nhận máy): one A6 slip per household, four to an A4 sheet.

The commune's People's Committee hands each household its slip. It says where
and when to come, what to bring (the CCCD citizen ID card), which phone is
kept for them, and the pickup code, printed large and as a QR code that the
officer at the point scans with a phone's camera.

The slips are plain HTML and SVG to print from a browser: no script and no
inline style, so the web page stays within the service's content security
policy, and the same markup makes the self-contained file of the command line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import segno
from markupsafe import Markup

from allocator.pickup_codes import display_code, normalise_code
from allocator.report import STATIC, environment

PER_SHEET = 4  # A6 slips on an A4 sheet, 2 x 2
CSS = STATIC / "slips.css"
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Slip:
    """What one household's slip says."""

    household_id: str
    head_name: str
    commune: str  # the household's commune as people know it ("Phường Bến Thành"): the sender
    point_id: str
    point_name: str
    point_place: str  # where the point is: the contract has no address, so its commune's name
    model: str
    code: str | None  # canonical pickup code; None until the round's codes are given
    day: dt.date | None = None
    opens: dt.time | None = None
    closes: dt.time | None = None

    @property
    def code_shown(self) -> str:
        """The code as printed ("ABCD-EFGH"), or '' when there is none to print."""
        code = normalise_code(self.code)
        return display_code(code) if code else ""

    @property
    def has_window(self) -> bool:
        return (self.day is not None and self.opens is not None and self.closes is not None
                and self.opens < self.closes)

    @property
    def day_vi(self) -> str:
        return f"{WEEKDAYS[self.day.weekday()]}, {self.day:%d/%m/%Y}" if self.day else ""

    @property
    def day_en(self) -> str:
        return f"{WEEKDAYS_EN[self.day.weekday()]} {self.day:%d/%m/%Y}" if self.day else ""

    @property
    def window(self) -> str:
        if not self.has_window:
            return ""
        assert self.opens is not None and self.closes is not None
        return f"{self.opens:%H:%M}–{self.closes:%H:%M}"

    @property
    def qr(self) -> Markup:
        code = normalise_code(self.code)
        return qr_svg(code) if code else Markup("")


def qr_svg(code: str) -> Markup:
    """The code as a QR code in inline SVG: sized by the style sheet, drawn in black.

    A full QR code (never Micro QR, which phone cameras often do not read) with the
    highest error correction that fits, since a slip is folded and carried.
    """
    qr = segno.make(code, micro=False, boost_error=True)
    return Markup(qr.svg_inline(omitsize=True, svgclass="qr", lineclass=None,
                                title=display_code(code)))


def sheets(slips: Iterable[Slip], per_sheet: int = PER_SHEET) -> list[list[Slip]]:
    """The slips grouped as printed, `per_sheet` to a page."""
    listed = list(slips)
    return [listed[i:i + per_sheet] for i in range(0, len(listed), per_sheet)]


@cache
def slip_css() -> Markup:
    return Markup(CSS.read_text(encoding="utf-8"))


def render_file(slips: Sequence[Slip], title: str) -> str:
    """The slips as one self-contained HTML file to open and print: nothing is fetched."""
    return environment().get_template("slips_file.html").render(
        title=title, css=slip_css(), sheets=sheets(slips), count=len(slips), standalone=True)
