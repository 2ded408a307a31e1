"""Pickup codes: uniqueness at campaign scale, the alphabet, and reading typed or scanned codes."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocator.pickup_codes import (
    ALPHABET,
    LENGTH,
    _batch,
    display_code,
    draw_codes,
    new_code,
    normalise_code,
)

CODE = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")
codes = st.text(alphabet=ALPHABET, min_size=LENGTH, max_size=LENGTH)


def test_crockford_alphabet() -> None:
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_hundred_thousand_codes_no_collisions() -> None:
    drawn = draw_codes(100_000)
    assert len(drawn) == len(set(drawn)) == 100_000
    assert all(CODE.fullmatch(code) for code in drawn)
    # draw_codes redraws repeats, so also check the source it draws from: 100,000 raw
    # codes of 40 random bits repeat with probability ~0.5%, three repeats ~1e-8 (a
    # source with less randomness than it claims would repeat far more).
    raw = _batch(100_000)
    assert len(raw) - len(set(raw)) <= 2


def test_codes_use_the_whole_alphabet_evenly() -> None:
    """A crude check that the source is not biased: every symbol at every position."""
    drawn = draw_codes(20_000)
    for position in range(LENGTH):
        counts = {c: 0 for c in ALPHABET}
        for code in drawn:
            counts[code[position]] += 1
        expected = len(drawn) / len(ALPHABET)  # 625, standard deviation about 25
        assert all(abs(n - expected) < 8 * 25 for n in counts.values()), position


def test_draw_avoids_existing_codes() -> None:
    existing = set(draw_codes(1000))
    fresh = draw_codes(1000, existing)
    assert len(set(fresh)) == 1000
    assert not existing & set(fresh)


def test_draw_zero_and_negative() -> None:
    assert draw_codes(0) == []
    with pytest.raises(ValueError):
        draw_codes(-1)


def test_new_code_matches_alphabet() -> None:
    assert CODE.fullmatch(new_code())


@given(codes)
def test_round_trip(code: str) -> None:
    assert normalise_code(code) == code
    assert normalise_code(display_code(code)) == code
    assert normalise_code(code.lower()) == code
    assert normalise_code(f"  {code[:3]} {code[3:6]}-{code[6:]}\n") == code


@given(codes)
def test_display_form(code: str) -> None:
    shown = display_code(code)
    assert len(shown) == LENGTH + 1 and shown[4] == "-"
    assert shown.replace("-", "") == code


@pytest.mark.parametrize(("typed", "code"), [
    ("abcd-efgh", "ABCDEFGH"),
    ("ILO0-1234", "1100" + "1234"),
    ("il00 1234", "1100" + "1234"),
    ("  7K3M 9PQZ ", "7K3M9PQZ"),
])
def test_confusable_letters(typed: str, code: str) -> None:
    assert normalise_code(typed) == code


@pytest.mark.parametrize("typed", [
    "", "   ", "ABCD-EFG", "ABCD-EFGHJ", "ABCD-EFGU",  # U is not in the alphabet
    "ABCD_EFGH", "ABCD.EFGH", "ÄBCD-EFGH", "ABCDEFGß", "ABCDEFGı",
    "ＡＢＣＤＥＦＧＨ",  # full-width letters
    "A" * 10_000, "https://example.org/ABCDEFGH",
])
def test_bad_input_is_none(typed: str) -> None:
    assert normalise_code(typed) is None


def test_not_text_is_none() -> None:
    assert normalise_code(None) is None
    assert normalise_code(12345678) is None  # type: ignore[arg-type]


@given(st.text(max_size=20))
def test_anything_gives_a_code_or_none(text: str) -> None:
    code = normalise_code(text)
    assert code is None or CODE.fullmatch(code)
