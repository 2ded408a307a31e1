"""Vietnamese mobile numbers: the ways registries write them, and everything refused."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocator.phones import MOBILE_PREFIXES, is_mobile, normalise_phone

MOBILE = re.compile(r"0[35789]\d{8}")
eight_digits = st.text(alphabet="0123456789", min_size=8, max_size=8)
mobiles = st.builds(lambda p, rest: p + rest, st.sampled_from(MOBILE_PREFIXES), eight_digits)
separators = st.text(alphabet=" .-()\u00a0\t", max_size=2)


@pytest.mark.parametrize(("typed", "phone"), [
    ("0912345678", "0912345678"),
    ("+84912345678", "0912345678"),
    ("84912345678", "0912345678"),
    ("+84 91 234 5678", "0912345678"),
    ("(+84) 912-345-678", "0912345678"),
    ("091.234.5678", "0912345678"),
    ("0841234567", "0841234567"),  # VinaPhone 084, not the country code
    ("  0345 678 901 ", "0345678901"),
    ("070 123 4567", "0701234567"),
])
def test_valid(typed: str, phone: str) -> None:
    assert normalise_phone(typed) == (phone, None)
    assert is_mobile(typed)


@pytest.mark.parametrize(("typed", "words"), [
    (None, "No phone number"),
    ("", "No phone number"),
    ("   ", "No phone number"),
    ("02838123456", "landline"),
    ("+842838123456", "landline"),
    ("091234567", "9 digits"),
    ("912345678", "leading 0"),
    ("09123456789", "11 digits"),
    ("01681234567", "2018"),
    ("0612345678", "mobile prefix"),
    ("0412345678", "mobile prefix"),
    ("0012345678", "mobile prefix"),
    ("+1 202 555 0123", "+84"),
    ("+840912345678", "leading 0"),
    ("0912 abc 678", "other than digits"),
    ("09l2345678", "other than digits"),
    ("０９１２３４５６７８", "other than digits"),  # full-width digits
    ("09123+45678", "other than digits"),
    ("+", "other than digits"),
    ("0912345678 / 0987654321", "other than digits"),
])
def test_invalid_with_reason(typed: str | None, words: str) -> None:
    phone, problem = normalise_phone(typed)
    assert phone is None
    assert problem and words in problem and problem.endswith(".")
    assert not is_mobile(typed)


@given(mobiles, separators, separators, st.sampled_from(["", "+84", "84"]))
def test_every_mobile_in_every_writing(phone: str, sep1: str, sep2: str, country: str
                                       ) -> None:
    national = phone[1:] if country else phone
    typed = f"{country}{sep1}{national[:3]}{sep2}{national[3:]}"
    assert normalise_phone(typed) == (phone, None)


@given(eight_digits)
def test_landlines_refused(rest: str) -> None:
    phone, problem = normalise_phone("02" + rest)
    assert phone is None and problem and "landline" in problem


@given(st.text(alphabet="0123456789", max_size=20))
def test_digit_strings(digits: str) -> None:
    phone, problem = normalise_phone(digits)
    national = ("0" + digits[2:] if digits.startswith("84") and len(digits) == 11 else digits)
    if MOBILE.fullmatch(national):
        assert (phone, problem) == (national, None)
    else:
        assert phone is None and problem


@given(st.text(max_size=30))
def test_anything_gives_a_mobile_or_a_reason(text: str) -> None:
    phone, problem = normalise_phone(text)
    assert (phone is None) != (problem is None)
    if phone is not None:
        assert MOBILE.fullmatch(phone)
        assert normalise_phone(phone) == (phone, None)  # idempotent
    else:
        assert problem and problem.endswith(".")


@given(mobiles)
def test_reasons_never_repeat_the_number(phone: str) -> None:
    for damaged in (phone[:-1], phone + "1", "+1" + phone, phone[:5] + "x" + phone[5:]):
        problem = normalise_phone(damaged)[1]
        assert problem and phone[3:-1] not in problem
