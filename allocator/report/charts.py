"""SVG charts drawn on the server: no script and nothing fetched, so they print and work offline."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from allocator.report.labels import BINS

WIDTH = 640.0
PAD = 20.0


@dataclass(frozen=True)
class Place:
    """A commune's point on the map and what to draw there."""

    name: str
    lat: float
    lon: float
    size: float  # 0..1 of the largest dot
    colour: str  # "" draws a hollow ring: nothing to show there
    tip: str
    step: int | None = None  # the colour's step in the map's key (allocator.report.map_key)
    note: str = ""  # the figure beside the name in the key ("12%")


# A unit with none of the figures drawn: a hollow ring, 4:1 against the map's background.
OUTLINE = "#6b7785"


def bin_of(count: int) -> int:
    """Which range a count falls in (-1 for none): maps for sponsors show ranges only."""
    for i, (_, low, high) in enumerate(BINS):
        if count >= low and (high is None or count <= high):
            return i
    return -1


def city_map(places: Sequence[Place], background: Sequence[tuple[float, float]] = (),
             label: str = "map") -> tuple[Markup, list[Place]]:
    """The city's units as dots; far islands are returned to be listed beside the map.

    `background` draws every unit faintly, so a sponsor sees the whole city and
    where its devices are within it.
    """
    every = list(background) + [(p.lat, p.lon) for p in places]
    if not every:
        return Markup(""), []
    lat0 = sorted(lat for lat, _ in every)[len(every) // 2]
    lon0 = sorted(lon for _, lon in every)[len(every) // 2]
    far = sorted(math.hypot(lat - lat0, lon - lon0) for lat, lon in every)
    limit = 3 * far[int(0.9 * (len(far) - 1))] + 1e-9

    def near(lat: float, lon: float) -> bool:
        return math.hypot(lat - lat0, lon - lon0) <= limit

    inside = [(lat, lon) for lat, lon in every if near(lat, lon)]
    lats = [lat for lat, _ in inside]
    lons = [lon for _, lon in inside]
    scale = math.cos(math.radians(sum(lats) / len(lats)))
    span_x = max((max(lons) - min(lons)) * scale, 1e-6)
    span_y = max(max(lats) - min(lats), 1e-6)
    height = min(900.0, max(240.0, (WIDTH - 2 * PAD) * span_y / span_x + 2 * PAD))
    span = max(span_x / (WIDTH - 2 * PAD), span_y / (height - 2 * PAD))

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return (PAD + (lon - min(lons)) * scale / span, height - PAD - (lat - min(lats)) / span)

    parts = []
    for lat, lon in background:
        if near(lat, lon):
            x, y = xy(lat, lon)
            parts.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='1.8' fill='none' "
                         f"stroke='{OUTLINE}' stroke-width='.6'/>")
    for p in sorted(places, key=lambda p: -p.size):  # small dots on top
        if near(p.lat, p.lon):
            x, y = xy(p.lat, p.lon)
            r = 2.5 + 9.5 * math.sqrt(max(0.0, min(1.0, p.size)))
            paint = (f"fill='{p.colour}' stroke='#fff' stroke-width='.6'" if p.colour else
                     f"fill='none' stroke='{OUTLINE}' stroke-width='1.2'")
            # class place: app.js names the commune on a tap, as <title> does on hover.
            parts.append(f"<circle class='place' cx='{x:.1f}' cy='{y:.1f}' r='{r:.1f}' "
                         f"{paint}><title>{escape(p.tip)}</title></circle>")
    svg = (f"<svg class='map' viewBox='0 0 {WIDTH:.0f} {height:.0f}' role='img' "
           f"aria-label='{escape(label)}'>{''.join(parts)}</svg>")
    return Markup(svg), [p for p in places if not near(p.lat, p.lon)]


@dataclass(frozen=True)
class Bar:
    label: str
    value: int | None  # None: hidden (drawn as a short stub, never to scale)
    text: str


def bars(items: Sequence[Bar], label: str = "chart") -> Markup:
    """Horizontal bars, drawn in HTML so their labels stay readable on a phone.

    A hidden value gets a fixed stub, never a length that would tell its size.
    Each bar is an SVG rectangle sized by attribute: the pages' style policy
    allows no inline `style`.
    """
    if not items:
        return Markup("<p>–</p>")
    most = max([b.value or 0 for b in items] + [1])
    rows = []
    for b in items:
        width = 1.5 if b.value is None else max(0.3, 100 * b.value / most)
        kind = " hidden" if b.value is None else ""
        rows.append(f"<div class='bar-row'><span class='bar-label'>{escape(b.label)}</span>"
                    f"<svg class='bar-track' viewBox='0 0 100 1' preserveAspectRatio='none' "
                    f"aria-hidden='true'><rect class='bar-fill{kind}' height='1' "
                    f"width='{width:.1f}'/></svg>"
                    f"<span class='bar-value'>{escape(b.text)}</span></div>")
    return Markup(f"<div class='bars' role='img' aria-label='{escape(label)}'>"
                  f"{''.join(rows)}</div>")


def day_bars(days: Sequence[tuple[str, int]], label: str = "chart",
             level: float | None = None, level_tip: str = "") -> Markup:
    """One vertical bar per day (`days`: (tip, count) in order) and, if given, a dashed
    line at `level` (the pace needed). Its words (dates, the scale) are left to the page,
    in HTML, so they stay readable when the chart is shrunk onto a phone."""
    if not days:
        return Markup("<p>–</p>")
    height = 160.0
    most = max([n for _, n in days] + [level or 0, 1])
    step = WIDTH / len(days)
    gap = min(1.0, step / 4)
    parts = []
    for i, (tip, n) in enumerate(days):
        h = height * n / most
        parts.append(f"<rect class='day' x='{i * step + gap / 2:.2f}' y='{height - h:.2f}' "
                     f"width='{max(step - gap, 0.3):.2f}' height='{h:.2f}'>"
                     f"<title>{escape(tip)}</title></rect>")
    if level is not None and level > 0:
        y = height - height * level / most
        parts.append(f"<line class='level' x1='0' x2='{WIDTH:.0f}' y1='{y:.2f}' y2='{y:.2f}'>"
                     f"<title>{escape(level_tip)}</title></line>")
    return Markup(f"<svg class='days' viewBox='0 0 {WIDTH:.0f} {height:.0f}' "
                  f"preserveAspectRatio='none' role='img' aria-label='{escape(label)}'>"
                  f"{''.join(parts)}</svg>")
