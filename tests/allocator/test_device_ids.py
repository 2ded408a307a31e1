"""IMEI and ICCID checks: published numbers, every kind of mistake, and Luhn's properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocator.device_ids import check_iccid, check_imei, luhn_check_digit, luhn_valid

# Published examples: the IMEI of Wikipedia's "IMEI" article and GSMA's IMEI database
# examples, Wikipedia's Luhn example, and the ICCID of Wikipedia's "SIM card" article.
KNOWN_IMEIS = ["490154203237518", "356938035643809", "352099001761481"]
KNOWN_ICCID = "89014103211118510720"


def reference_luhn(number: str) -> bool:
    """Luhn as usually written: from the right, double every second digit, sum digit sums."""
    total = 0
    for i, c in enumerate(reversed(number)):
        d = int(c) * (2 if i % 2 else 1)
        total += d // 10 + d % 10
    return total % 10 == 0


digits = st.text(alphabet="0123456789", min_size=1, max_size=30)


def test_known_numbers() -> None:
    assert luhn_valid("79927398713")
    for imei in KNOWN_IMEIS:
        assert check_imei(imei) == (imei, None)
    assert check_iccid(KNOWN_ICCID) == (KNOWN_ICCID, None)


def test_printed_forms() -> None:
    assert check_imei("49-015420-323751-8") == ("490154203237518", None)
    assert check_imei(" 4901 5420 3237 518\n") == ("490154203237518", None)
    assert check_iccid("8901 4103 2111 1851 0720") == (KNOWN_ICCID, None)


@pytest.mark.parametrize(("typed", "words"), [
    (None, "No IMEI"),
    ("", "No IMEI"),
    ("49015420323751", "14 digits"),
    ("4901542032375180", "16 digits"),
    ("490154203237519", "check digit"),
    ("490154203237581", "check digit"),  # the last two swapped
    ("49015420323751O", "other than digits"),
    ("4901.5420.3237.518", "other than digits"),
    ("４９０１５４２０３２３７５１８", "other than digits"),
    ("490154203237518/01", "other than digits"),  # IMEI with software version (IMEISV)
])
def test_bad_imei(typed: str | None, words: str) -> None:
    imei, problem = check_imei(typed)
    assert imei is None and problem and words in problem


@pytest.mark.parametrize(("typed", "words"), [
    ("", "No ICCID"),
    ("890141032111185107", "18 digits"),
    ("890141032111185107201", "21 digits"),
    ("89014103211118510721", "check digit"),
    ("99014103211118510725", "start with 89"),
    ("8901410321111851072F", "other than digits"),
])
def test_bad_iccid(typed: str, words: str) -> None:
    iccid, problem = check_iccid(typed)
    assert iccid is None and problem and words in problem


@given(st.text(alphabet="0123456789", min_size=14, max_size=14))
def test_any_payload_with_its_check_digit_is_a_valid_imei(payload: str) -> None:
    imei = payload + luhn_check_digit(payload)
    assert check_imei(imei) == (imei, None)
    assert reference_luhn(imei)


@given(st.text(alphabet="0123456789", min_size=14, max_size=14), st.data())
def test_one_changed_digit_is_caught(payload: str, data: st.DataObject) -> None:
    imei = payload + luhn_check_digit(payload)
    at = data.draw(st.integers(0, 14))
    other = data.draw(st.sampled_from([d for d in "0123456789" if d != imei[at]]))
    typo = imei[:at] + other + imei[at + 1:]
    assert check_imei(typo)[0] is None
    assert "check digit" in (check_imei(typo)[1] or "")


@given(st.text(alphabet="0123456789", min_size=14, max_size=14), st.integers(0, 13))
def test_neighbour_swaps_are_caught_except_09(payload: str, at: int) -> None:
    imei = payload + luhn_check_digit(payload)
    a, b = imei[at], imei[at + 1]
    swapped = imei[:at] + b + a + imei[at + 2:]
    if a != b and {a, b} != {"0", "9"}:  # Luhn's one known blind spot
        assert not luhn_valid(swapped)


@given(st.sampled_from([16, 17]), st.data())
def test_any_iccid_with_its_check_digit_is_valid(rest: int, data: st.DataObject) -> None:
    payload = "89" + data.draw(st.text(alphabet="0123456789", min_size=rest, max_size=rest))
    iccid = payload + luhn_check_digit(payload)
    assert check_iccid(iccid) == (iccid, None)


@given(digits)
def test_agrees_with_the_reference(number: str) -> None:
    assert luhn_valid(number) == (len(number) >= 2 and reference_luhn(number))


@given(st.text(max_size=25))
def test_anything_gives_an_imei_or_a_reason(text: str) -> None:
    imei, problem = check_imei(text)
    assert (imei is None) != (problem is None)
    if imei:
        assert len(imei) == 15 and imei.isascii() and imei.isdigit() and luhn_valid(imei)
