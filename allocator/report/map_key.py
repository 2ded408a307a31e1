"""The maps' colours and what they mean: a sequential palette every reader can tell apart,
the key under each map, and the map said in words.

The palette is the darker half of viridis, teal (little) to deep purple (much): its steps
differ in lightness, so they are told apart with any common colour-vision deficiency and
in greyscale, and never set red against green. Each step keeps at least 3:1 contrast
against the page and the map's background (WCAG 1.4.11), which the lighter half of
viridis (green to yellow) would not. A commune with nothing to show is a hollow ring.

The key (a figcaption) is also the map's text alternative: for each colour, what it
means, how many communes have it and the first few of them by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from allocator.report.charts import OUTLINE, Place, city_map
from allocator.report.labels import Text

# Little to much. tests/allocator/test_map_key.py holds them to 3:1 on PAGE and MAP_BACKGROUND.
SEQUENTIAL = ("#21918c", "#2c728e", "#3b528b", "#472c7a", "#440154")
PAGE = "#ffffff"
MAP_BACKGROUND = "#f6f8fa"  # app.css: .map's background (--bg)
NAMED = 3  # communes named per colour in the key


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of "#rrggbb"."""
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i:i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours, 1 to 21."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def coverage_step(part: int, whole: int) -> int | None:
    """The colour of a share in fifths (under 20%, 20% to under 40%, ... 80% or more);
    None when there is nobody to cover."""
    if whole <= 0:
        return None
    return min(len(SEQUENTIAL) - 1, max(0, len(SEQUENTIAL) * part // whole))


def coverage_place(name: str, lat: float, lon: float, size: float, part: int, whole: int,
                   tip: str, t: Text) -> Place:
    """A commune on a coverage map: coloured by the share served, named with it in the key."""
    step = coverage_step(part, whole)
    return Place(name, lat, lon, size, "" if step is None else SEQUENTIAL[step], tip, step,
                 t.percent(part, whole) if step is not None else "")


def coverage_map(t: Text, places: Sequence[Place], label: str,
                 key_title: str) -> tuple[Markup, list[Place]]:
    """A map of shares by commune, with its key; far islands are returned to be listed."""
    steps = [t(f"map_step_{i}") for i in range(len(SEQUENTIAL))]
    return drawn_map(t, places, label, key_title, steps, t("map_no_eligible"))


def drawn_map(t: Text, places: Sequence[Place], label: str, key_title: str,
              steps: Sequence[str], none_label: str,
              background: Sequence[tuple[float, float]] = ()) -> tuple[Markup, list[Place]]:
    """The map as a figure whose caption is its key and its text alternative."""
    svg, off_map = city_map(places, background, label)
    if not svg:
        return svg, off_map
    # Background units are every commune; those not among the places have nothing to show.
    empty = sum(p.step is None for p in places) + max(0, len(background) - len(places))
    return Markup(f"<figure class='map-figure'>{svg}"
                  f"{key(t, key_title, steps, places, none_label, empty)}</figure>"), off_map


def _dot(colour: str) -> str:
    paint = (f"fill='{colour}'" if colour else
             f"fill='none' stroke='{OUTLINE}' stroke-width='1.5'")
    return (f"<svg class='dot' viewBox='0 0 10 10' aria-hidden='true'>"
            f"<circle cx='5' cy='5' r='4.2' {paint}/></svg>")


def key(t: Text, title: str, steps: Sequence[str], places: Sequence[Place],
        none_label: str, empty: int = 0) -> Markup:
    """What each colour means, how many communes have it and which (the largest first);
    `empty` communes have nothing to show (a hollow ring), counted but not named."""
    rows = []
    for step, meaning in [*enumerate(steps), (None, none_label)]:
        here = sorted((p for p in places if p.step == step and step is not None),
                      key=lambda p: (-p.size, p.name))
        count = empty if step is None else len(here)
        if step is None and not empty:
            continue
        names = ", ".join(escape(p.name + (f" ({p.note})" if p.note else ""))
                          for p in here[:NAMED])
        more = "…" if len(here) > NAMED else ""
        listed = f" — {names}{more}" if names else ""
        colour = "" if step is None else SEQUENTIAL[step]
        rows.append(f"<li data-step='{'none' if step is None else step}' "
                    f"data-places='{count}'>{_dot(colour)}<b>{escape(meaning)}</b>: "
                    f"{escape(t('map_places').format(n=t.number(count)))}{listed}</li>")
    return Markup(f"<figcaption class='map-key'><p class='map-key-title'>{escape(title)}</p>"
                  f"<ul>{''.join(rows)}</ul><p class='map-tip noprint' data-map-tip "
                  f"aria-live='polite'>{escape(t('map_tap_hint'))}</p></figcaption>")
