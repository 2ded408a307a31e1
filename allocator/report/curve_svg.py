"""The budget curve as an SVG drawn on the server: households served (or priority weight)
against the budget, the round's own budget and the saturation budget marked.

Nothing is fetched and no script runs, so it prints and works offline; colours and
sizes are attributes (the pages' style policy allows no inline style). The drawing
is 360 units wide with 12- and 13-unit text, so on a 390-pixel phone it is drawn
at about its own size and its words stay as large as the page's small print.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from markupsafe import Markup

from allocator.report import numbers
from allocator.report.labels import Text

WIDTH, HEIGHT = 360.0, 260.0
LEFT, RIGHT, TOP, BOTTOM = 56.0, 20.0, 60.0, 42.0
FONT = 13
INK, MUTED, LINE, ACCENT, MARK, FULL = ("#1d2733", "#5b6675", "#dde3ea", "#1f5fa6", "#b42318",
                                        "#1a7f37")

WORDS = {
    "vi": {"served": "Hộ được nhận máy", "stage1": "Tổng điểm ưu tiên",
           "million": "triệu đồng", "billion": "tỷ đồng", "budget": "Ngân sách",
           "this_round": "Đợt này", "saturation": "Bão hoà", "curve": "Đường cong ngân sách",
           "at": "với"},
    "en": {"served": "Households served", "stage1": "Total priority points",
           "million": "million VND", "billion": "billion VND", "budget": "Budget",
           "this_round": "This round", "saturation": "Saturation", "curve": "Budget curve",
           "at": "at"},
}


def nice_step(most: float, ticks: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about `ticks` ticks."""
    if most <= 0:
        return 1.0
    rough = most / ticks
    power = 10 ** math.floor(math.log10(rough))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough)


def number(value: float, lang: str, decimals: int = 0) -> str:
    """1.234,5 in Vietnamese, 1,234.5 in English (the pages' own `Text.number`), with the
    trailing zeros of a fraction dropped."""
    text = Text(lang).number(value, decimals)
    if decimals:
        text = text.rstrip("0").rstrip(",." if lang == "vi" else ".")
    return text


def unit_of(most_vnd: float) -> tuple[float, str]:
    """Budgets are read in billions of đồng from 2 billion up, else in millions."""
    return (1e9, "billion") if most_vnd >= 2e9 else (1e6, "million")


def money(vnd: float, lang: str) -> str:
    """A budget in words: '1,5 tỷ đồng', '800 triệu đồng' / '1.5 billion VND'
    (allocator.report.numbers.money, as every page writes amounts)."""
    return numbers.money(round(vnd), lang)


def _lang(lang: str) -> str:
    return lang if lang in WORDS else "vi"


def curve_svg(points: Sequence[Mapping[str, Any]], round_budget: int | None,
              saturation: int | None, lang: str = "vi", metric: str = "served") -> Markup:
    """The curve (`points`: dicts with budget_vnd and the metric, e.g. from
    `Curve.to_json()`), with a marker at the round's budget and at saturation."""
    words = WORDS[_lang(lang)]
    rows = sorted(((int(p["budget_vnd"]), float(p.get(metric) or 0)) for p in points
                   if p.get("budget_vnd") is not None), key=lambda r: r[0])
    if not rows:
        return Markup("<p>–</p>")
    most_x = max([b for b, _ in rows] + [round_budget or 0, saturation or 0, 1])
    most_y = max([v for _, v in rows] + [1.0])
    scale, unit = unit_of(most_x)
    x_step = nice_step(most_x / scale) * scale
    y_step = nice_step(most_y)
    x_top = x_step * math.ceil(most_x / x_step)
    y_top = y_step * math.ceil(most_y / y_step)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(vnd: float) -> float:
        return LEFT + plot_w * vnd / x_top

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / y_top)

    parts = [f"<text x='{LEFT - 6:.0f}' y='14' font-size='{FONT}' fill='{INK}' "
             f"font-weight='600'>{escape(words.get(metric, metric))}</text>"]
    for i in range(int(round(y_top / y_step)) + 1):
        value = i * y_step
        parts.append(f"<line x1='{LEFT:.1f}' x2='{WIDTH - RIGHT:.1f}' y1='{y(value):.1f}' "
                     f"y2='{y(value):.1f}' stroke='{LINE}' stroke-width='1'/>")
        parts.append(f"<text x='{LEFT - 5:.1f}' y='{y(value) + 4:.1f}' font-size='{FONT - 1}' "
                     f"fill='{MUTED}' text-anchor='end'>{number(value, lang, 1)}</text>")
    for i in range(int(round(x_top / x_step)) + 1):
        vnd = i * x_step
        parts.append(f"<line x1='{x(vnd):.1f}' x2='{x(vnd):.1f}' y1='{TOP + plot_h:.1f}' "
                     f"y2='{TOP + plot_h + 4:.1f}' stroke='{MUTED}' stroke-width='1'/>")
        anchor = "end" if x(vnd) > WIDTH - RIGHT - 10 else "middle"
        parts.append(f"<text x='{x(vnd):.1f}' y='{TOP + plot_h + 17:.1f}' "
                     f"font-size='{FONT - 1}' fill='{MUTED}' text-anchor='{anchor}'>"
                     f"{number(vnd / scale, lang, 2)}</text>")
    parts.append(f"<line x1='{LEFT:.1f}' x2='{WIDTH - RIGHT:.1f}' y1='{TOP + plot_h:.1f}' "
                 f"y2='{TOP + plot_h:.1f}' stroke='{MUTED}' stroke-width='1'/>")
    parts.append(f"<text x='{LEFT + plot_w / 2:.1f}' y='{HEIGHT - 4:.1f}' font-size='{FONT}' "
                 f"fill='{INK}' text-anchor='middle'>{escape(words['budget'])} "
                 f"({escape(words[unit])})</text>")
    parts += _markers(round_budget, saturation, x, words, lang)
    path = " ".join(f"{x(b):.1f},{y(v):.1f}" for b, v in rows)
    parts.append(f"<polyline points='{path}' fill='none' stroke='{ACCENT}' stroke-width='2.2' "
                 f"stroke-linejoin='round'/>")
    for b, v in rows:
        tip = f"{money(b, lang)}: {number(v, lang)}"
        parts.append(f"<circle cx='{x(b):.1f}' cy='{y(v):.1f}' r='3.2' fill='{ACCENT}' "
                     f"stroke='#fff' stroke-width='1'><title>{escape(tip)}</title></circle>")
    label = f"{words['curve']}: {words.get(metric, metric)}"
    return Markup(f"<svg class='curve' viewBox='0 0 {WIDTH:.0f} {HEIGHT:.0f}' role='img' "
                  f"aria-label='{escape(label)}'>{''.join(parts)}</svg>")


def _markers(round_budget: int | None, saturation: int | None, x: Any,
             words: Mapping[str, str], lang: str) -> list[str]:
    """Dashed lines at the round's budget and at saturation, told apart by colour, each
    named above the plot on a row of its own (so the names never overlap)."""
    marks = sorted(((v, words[key], colour) for v, key, colour in
                    ((round_budget, "this_round", MARK), (saturation, "saturation", FULL))
                    if v is not None), key=lambda m: m[0])
    parts = []
    for i, (vnd, name, colour) in enumerate(marks):
        at = x(vnd)
        text = f"{name} ({money(vnd, lang)})"
        wide = 0.56 * (FONT - 1) * len(text)  # about the width of the text
        left = min(max(at - wide / 2, 2.0), WIDTH - 2 - wide)
        text_y = TOP - 8 - 15 * (len(marks) - 1 - i)
        parts.append(f"<line x1='{at:.1f}' x2='{at:.1f}' y1='{TOP - 4:.1f}' "
                     f"y2='{HEIGHT - BOTTOM:.1f}' stroke='{colour}' stroke-width='1.5' "
                     f"stroke-dasharray='5 4'/>")
        parts.append(f"<text x='{left:.1f}' y='{text_y:.1f}' font-size='{FONT - 1}' "
                     f"fill='{colour}'>{escape(text)}</text>")
    return parts
