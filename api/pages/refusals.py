"""Refusals in the page's language: a store error said in Vietnamese or English, and the
few sentences the planner's pages make themselves."""

from __future__ import annotations

import re
from collections.abc import Callable

from allocator.issues import InputIssue, InvalidInput
from allocator.report.labels import Text


def said(error: BaseException, t: Text) -> str:
    """The error in the page's language: its `.vi` on a Vietnamese page, `.en` (or the
    sentence it was raised with) on an English one."""
    if t.lang == "vi":
        vi = getattr(error, "vi", None)
        if isinstance(vi, str) and vi:
            return vi
    en = getattr(error, "en", None)
    return en if isinstance(en, str) and en else str(error)


KINDS_VI = {"point": "điểm nhận", "lot": "lô máy", "household": "hộ"}
# The store's own problems with a planner's form, and how a Vietnamese page says them.
ISSUES_VI: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"no (point|lot|household) (.+) in round (\d+)"),
     lambda m: f"đợt {m[3]} không có {KINDS_VI[m[1]]} {m[2]}"),
    (re.compile(r"(.+): must be a whole number from 0 to 10,000,000"),
     lambda m: f"{m[1]}: số máy phải là số nguyên từ 0 đến 10.000.000"),
    (re.compile(r"(.+): write a lot and its devices as LOT=20"),
     lambda m: f"{m[1]}: hãy ghi mã lô và số máy dạng LÔ=20"),
    (re.compile(r"asks for ([\d,]+) VND but (?:the campaign has left|this re-plan can spend) "
                r"([\d,-]+) VND; ask for at most that"),
     lambda m: f"ngân sách {m[1].replace(',', '.')} đồng vượt số còn lại "
               f"{m[2].replace(',', '.')} đồng; hãy nhập tối đa số đó"),
)


def _issue_vi(issue: InputIssue) -> str:
    for pattern, say in ISSUES_VI:
        found = pattern.fullmatch(issue.message)
        if found:
            return say(found)
    return str(issue)  # the contract's checks speak English (file, row, column: problem)


def issues_said(error: InvalidInput, t: Text | None = None, most: int = 20) -> str:
    """Located input problems, one after another: on a Vietnamese page, the store's own
    problems with a form in Vietnamese; the contract's checks as they state them."""
    shown = error.issues[:most]
    if t is not None and t.lang == "vi":
        said = "; ".join(_issue_vi(i) for i in shown)
        return said[:1].upper() + said[1:]
    return "; ".join(str(i) for i in shown)


def with_n(t: Text, key: str, **fields: object) -> str:
    """A label with its fields filled (`{n}`, `{deadline}`, ...)."""
    return t(key).format(**fields)
