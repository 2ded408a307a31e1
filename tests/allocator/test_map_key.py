"""The maps' palette, key and words: readable by colour-blind readers, 3:1 against their
background, and saying what the map shows without disclosing what a sponsor may not see."""

from __future__ import annotations

import colorsys
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocator.report.charts import OUTLINE, Place
from allocator.report.labels import BINS, Text
from allocator.report.map_key import (
    MAP_BACKGROUND,
    PAGE,
    SEQUENTIAL,
    contrast,
    coverage_map,
    coverage_place,
    coverage_step,
    drawn_map,
    luminance,
)


def test_contrast_is_wcag_s() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # WCAG's example


@pytest.mark.parametrize("colour", [*SEQUENTIAL, OUTLINE])
@pytest.mark.parametrize("background", [PAGE, MAP_BACKGROUND])
def test_every_key_colour_stands_out_3_to_1(colour: str, background: str) -> None:
    assert contrast(colour, background) >= 3


def test_the_palette_is_sequential_and_never_red_against_green() -> None:
    # Darker step by step: ordered by lightness, so it reads in greyscale and for every
    # colour-vision deficiency.
    lightness = [luminance(c) for c in SEQUENTIAL]
    assert lightness == sorted(lightness, reverse=True)
    assert all(a / b > 1.2 for a, b in zip(lightness, lightness[1:]))
    for colour in SEQUENTIAL:  # teal, blues and purples: no red, no green
        r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
        assert 170 <= 360 * colorsys.rgb_to_hsv(r, g, b)[0] <= 300, colour
    assert len(SEQUENTIAL) == len(BINS)


@given(st.integers(0, 10_000), st.integers(1, 10_000))
def test_coverage_steps_are_fifths(part: int, whole: int) -> None:
    part = min(part, whole)
    step = coverage_step(part, whole)
    assert step is not None
    assert step / 5 <= part / whole or step == 0
    assert part / whole < (step + 1) / 5 or step == 4


def test_coverage_step_edges() -> None:
    assert [coverage_step(p, 5) for p in range(6)] == [0, 1, 2, 3, 4, 4]
    assert coverage_step(0, 0) is None
    assert coverage_step(19, 100) == 0 and coverage_step(20, 100) == 1


def _caption(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html.split("<figcaption", 1)[1])


def test_a_coverage_map_says_its_colours_and_names_communes() -> None:
    t = Text("vi")
    places = [coverage_place(f"Xã {i}", 10.7 + i / 100, 106.6 + i / 100, (i + 1) / 10, i, 9,
                             f"Xã {i}: {i}/9", t) for i in range(10)]
    places.append(coverage_place("Xã trống", 10.8, 106.7, 0, 0, 0, "Xã trống: 0/0", t))
    html, off_map = coverage_map(t, places, "Độ phủ", t("map_key_coverage"))
    assert off_map == []
    assert html.startswith("<figure class='map-figure'><svg class='map'")
    assert "role='img'" in html and "aria-label='Độ phủ'" in html
    words = _caption(html)
    assert "tỷ lệ hộ đủ điều kiện đã được nhận máy" in words
    for i in range(5):
        assert t(f"map_step_{i}") in words
    assert "từ 80% trở lên: 2 xã, phường — Xã 9 (100,0%), Xã 8 (88,9%)" in words
    assert "không có hộ đủ điều kiện: 1 xã, phường" in words
    # Every dot is named on hover (<title>) and on tap (class place, app.js).
    assert html.count("<circle class='place'") == 11
    assert html.count("<title>") == 11
    assert "hsl(" not in html and "fill-opacity" not in html
    # The key's swatches are the map's colours.
    assert set(re.findall(r"fill='(#[0-9a-f]{6})'", html)) <= set(SEQUENTIAL)


def test_a_sponsor_map_gives_ranges_only() -> None:
    t = Text("en")
    places = [Place(f"Commune {n}", 10.7 + n / 1000, 106.6, 0.5, SEQUENTIAL[0],
                    f"Commune {n}: <5", 0) for n in range(4)]
    places.append(Place("Big", 10.8, 106.7, 1, SEQUENTIAL[4], "Big: 120", 4))
    every = [(10.7 + n / 100, 106.65) for n in range(30)]
    steps = [label + (" or hidden" if i == 0 else "") for i, (label, _, _) in enumerate(BINS)]
    html, _ = drawn_map(t, places, "Where", "Dot colour and size: your devices", steps,
                        "no devices", every)
    words = _caption(html)
    assert "&lt;5 or hidden: 4 communes — Commune 0, Commune 1, Commune 2…" in words
    assert "≥100: 1 communes — Big" in words
    assert "no devices: 25 communes" in words
    assert "120" not in words  # a range, never the count
