"""What the round page and the report show of a round's budget curve and bottlenecks:
the curve drawn, the next 100 million's sentence, what binds and the ten best changes.

Worked out once from the stored results (`Curve.to_json()`, `Bottlenecks.to_json()`)
for both the web page and the e-mailed report, which is why the sections' words
live here and not with the pages' own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from allocator.report import vietnam_time
from allocator.report.curve_svg import curve_svg, money
from allocator.report.labels import Text

TOP_CHANGES = 10

DECISION_LABELS: dict[str, tuple[str, str]] = {
    "curve_heading": ("Đường cong ngân sách", "Budget curve"),
    "curve_note": ("Mỗi điểm là phân bổ tối ưu đã được chứng minh ở mức ngân sách đó.",
                   "Each point is the proven optimum at that budget."),
    "curve_saturation": ("Ngân sách bão hoà", "Saturation budget"),
    "curve_saturation_note": ("từ mức này, thêm tiền không phục vụ thêm hộ nào",
                              "beyond it, more money serves no one more"),
    "curve_round_budget": ("Ngân sách của đợt", "This round's budget"),
    "curve_points": ("Các điểm của đường cong", "The curve's points"),
    "curve_budget": ("Ngân sách", "Budget"),
    "curve_served": ("Hộ được nhận máy", "Households served"),
    "curve_weight": ("Tổng điểm ưu tiên", "Total priority points"),
    "curve_status": ("Lời giải", "Solution"),
    "bottlenecks_heading": ("Điểm nghẽn", "Bottlenecks"),
    "bottlenecks_note": ("Mỗi thay đổi được thử riêng trên dữ liệu của đợt; con số là kết "
                         "quả tối ưu khi tính lại.",
                         "Each change is tried alone on the round's inputs; the figures are "
                         "the optimum of an exact re-solve."),
    "bottlenecks_binds": ("Điều đang giới hạn kết quả", "What binds"),
    "bottlenecks_nothing_binds": ("Không có giới hạn nào đáng kể.", "Nothing binds noticeably."),
    "bottlenecks_changes": ("Các thay đổi có lợi nhất", "The changes that would serve the most"),
    "bottlenecks_no_change": ("Không thay đổi nào trong số đã thử phục vụ thêm được hộ nào.",
                              "None of the changes tried would serve anyone more."),
    "bottlenecks_more": ("… và {n} mục khác cùng loại.", "… and {n} more of the same kind."),
    "computed_at": ("Tính lúc", "Computed at"),
}


@dataclass(frozen=True)
class CurveSection:
    svg: Markup
    sentence: str
    saturation: str  # the saturation budget in words ('' if unknown)
    round_budget: str
    rows: list[dict[str, Any]]
    computed_at: str


@dataclass(frozen=True)
class BottleneckSection:
    binding: list[str]
    changes: list[str]  # the best changes' sentences, best first
    computed_at: str


@dataclass(frozen=True)
class Decisions:
    w: Text  # the sections' words in the page's language
    curve: CurveSection | None
    bottlenecks: BottleneckSection | None


def decisions_view(curve: dict[str, Any] | None, bottlenecks: dict[str, Any] | None,
                   lang: str, curve_at: dt.datetime | None = None,
                   bottlenecks_at: dt.datetime | None = None) -> Decisions:
    """The sections from stored results (None: not computed yet)."""
    w = Text(lang, DECISION_LABELS)
    return Decisions(w, _curve(curve, w, curve_at) if curve else None,
                     _bottlenecks(bottlenecks, w, bottlenecks_at) if bottlenecks else None)


VIETNAM = dt.timezone(dt.timedelta(hours=7))  # no daylight saving
SHOWN_PER_KIND = 3  # binding items of one kind shown before "and N more"


def _when(moment: dt.datetime | None) -> str:
    """A stored time (UTC, without a zone) as Vietnam's clock reads it."""
    return f"{vietnam_time.moment(moment)} (UTC+7)" if moment else ""


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _curve(data: dict[str, Any], w: Text, at: dt.datetime | None) -> CurveSection:
    points = [p for p in data.get("points") or [] if isinstance(p, dict)]
    budget, saturation = _int(data.get("round_budget_vnd")), _int(data.get("saturation_vnd"))
    step = data.get("next_step")
    sentence = str(step.get(f"sentence_{w.lang}") or "") if isinstance(step, dict) else ""
    rows = [{"budget": w.amount(_int(p.get("budget_vnd"))),
             "budget_vnd": _int(p.get("budget_vnd")),
             "served": w.number(_int(p.get("served"))), "weight": w.number(_int(p.get("stage1"))),
             "status": w(str(p.get("status", ""))),
             "round": _int(p.get("budget_vnd")) == budget,
             "saturation": _int(p.get("budget_vnd")) == saturation}
            for p in sorted(points, key=lambda p: _int(p.get("budget_vnd")) or 0)]
    return CurveSection(
        svg=curve_svg(points, budget, saturation, w.lang),
        sentence=sentence,
        saturation=money(saturation, w.lang) if saturation is not None else "",
        round_budget=money(budget, w.lang) if budget is not None else "",
        rows=rows, computed_at=_when(at))


def _bottlenecks(data: dict[str, Any], w: Text, at: dt.datetime | None) -> BottleneckSection:
    key = f"sentence_{w.lang}"
    binding = _grouped([b for b in data.get("binding") or []
                        if isinstance(b, dict) and b.get(key)], key, w)
    changes = [str(r.get(key) or "") for r in best_changes(data)]
    return BottleneckSection(binding=binding, changes=[c for c in changes if c],
                             computed_at=_when(at))


def _grouped(items: list[dict[str, Any]], key: str, w: Text) -> list[str]:
    """The binding items, at most SHOWN_PER_KIND of a kind (the engine lists the weightiest
    first), then how many more of that kind: thirty lots given out are one finding."""
    per_kind: dict[str, list[str]] = {}
    for item in items:
        per_kind.setdefault(str(item.get("kind") or ""), []).append(str(item[key]))
    shown: list[str] = []
    for sentences in per_kind.values():
        shown += sentences[:SHOWN_PER_KIND]
        if len(sentences) > SHOWN_PER_KIND:
            more = w.number(len(sentences) - SHOWN_PER_KIND)
            shown.append(w("bottlenecks_more").format(n=more))
    return shown


def best_changes(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The confirmed changes that would serve more, best first, as many as the analysis was
    asked for (ten). The engine's `best` merges changes of one kind with equal gains into
    one sentence ("20 more devices in any one of lots A, B or C"); older results lack it."""
    top = _int(data.get("top")) or TOP_CHANGES
    best = data.get("best")
    if isinstance(best, list):
        return [r for r in best if isinstance(r, dict)][:top]
    return [r for r in data.get("relaxations") or [] if isinstance(r, dict)
            and r.get("confirmed") and (_int(r.get("gain_stage0")) or 0,
                                        _int(r.get("gain_weight")) or 0,
                                        _int(r.get("gain_served")) or 0) > (0, 0, 0)][:top]
