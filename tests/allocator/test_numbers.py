"""One way to write counts, percentages and money (allocator.report.numbers), and one way
to read a typed amount back."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocator.policy import MAX_INT
from allocator.report import numbers
from allocator.report.labels import Text
from allocator.report.numbers import MoneyError, parse_money

AMOUNTS = st.integers(min_value=0, max_value=MAX_INT)
LANGS = st.sampled_from(["vi", "en"])


def test_counts_group_thousands_the_language_s_way() -> None:
    assert numbers.count(1109) == "1.109" and numbers.count(1109, "en") == "1,109"
    assert numbers.count(0) == "0" and numbers.count(None) == "–"
    assert numbers.decimal(1234.5, "vi", 1) == "1.234,5"
    assert numbers.decimal(1234.5, "en", 1) == "1,234.5"
    assert numbers.decimal(-0.01, "vi", 1) == "0,0"  # never "-0,0"
    # A withheld figure stays as it is; a published one is grouped like every count.
    assert [numbers.figure(x) for x in ("1109", "<5", "*", "–", 87, None)] == \
        ["1.109", "<5", "*", "–", "87", "–"]


def test_one_rounding_for_every_percentage() -> None:
    assert numbers.percent(2, 3) == "66,7%" and numbers.percent(2, 3, "en") == "66.7%"
    assert numbers.percent(1, 3) == "33,3%"
    assert numbers.percent(1, 8) == "12,5%"  # half up, not half even (12,5 from 12.5)
    assert numbers.percent(1, 16) == "6,3%"  # 6.25 -> 6.3
    assert numbers.percent(9999, 10000) == "99,9%"  # short of everyone never reads 100%
    assert numbers.percent(1, 100000) == "0,1%"  # someone never reads 0%
    assert numbers.percent(5, 5) == "100,0%" and numbers.percent(0, 5) == "0,0%"
    assert numbers.percent(1, 0) == "–" and numbers.percent(None, 5) == "–"
    t = Text("vi")
    assert t.percent(2, 3) == numbers.percent(2, 3)  # the pages' Text goes through it


@given(st.integers(0, 10**9), st.integers(1, 10**9))
def test_percent_is_the_exact_share_rounded_half_up(part: int, whole: int) -> None:
    expected = int(Fraction(1000 * part, whole) + Fraction(1, 2))  # half up
    if 0 < part < whole:
        expected = min(max(expected, 1), 999)
    assert numbers.tenths(part, whole) == expected


def test_changes_of_percentages_are_in_points() -> None:
    assert numbers.points((640, 1000), (667, 1000)) == "+2,7 điểm %"
    assert numbers.points((667, 1000), (640, 1000), "en") == "−2.7 pp"
    assert numbers.points((1, 2), (2, 4)) == "0,0 điểm %"
    assert numbers.points(None, (1, 2)) == "–" and numbers.points((1, 0), (1, 2)) == "–"


@given(st.integers(0, 10**6), st.integers(1, 10**6), st.integers(0, 10**6),
       st.integers(1, 10**6))
def test_a_change_in_points_is_the_difference_of_the_percentages_shown(
        a: int, x: int, b: int, y: int) -> None:
    """Two pages showing 64,0% and 66,7% never say the change is +2,6 or +2,8."""
    before, after = (min(a, x), x), (min(b, y), y)
    text = numbers.points(before, after)
    first = Decimal(numbers.percent(*before)[:-1].replace(",", "."))
    second = Decimal(numbers.percent(*after)[:-1].replace(",", "."))
    change = Decimal(text.split()[0].replace("−", "-").replace(",", "."))
    assert change == second - first


def test_money_reads_in_words_with_the_exact_amount_beside() -> None:
    cases = {0: "0 đồng", 500: "500 đồng", 110_000: "110 nghìn đồng",
             890_000: "890 nghìn đồng", 2_090_000: "2,09 triệu đồng",
             3_197_890_000: "3,2 tỷ đồng", 1_500_000_000: "1,5 tỷ đồng",
             999_999_999: "1 tỷ đồng"}
    for vnd, words in cases.items():
        assert numbers.money(vnd) == words, vnd
    assert numbers.money(3_197_890_000, "en") == "3.2 billion VND"
    assert numbers.money(890_000, "en") == "890 thousand VND"
    assert numbers.money(-2_500_000, sign=True) == "−2,5 triệu đồng"
    assert numbers.money(2_500_000, sign=True) == "+2,5 triệu đồng"
    assert numbers.money_exact(3_197_890_000) == "3.197.890.000 ₫"
    assert numbers.money_exact(3_197_890_000, "en") == "3,197,890,000 ₫"
    html = str(Text("vi").amount(3_197_890_000))
    assert html == ('<span class="money" title="3.197.890.000 ₫" data-vnd="3197890000">'
                    '3,2 tỷ đồng</span>')


@pytest.mark.parametrize("typed,vnd", [
    ("3,5 tỷ", 3_500_000_000), ("3.500.000.000", 3_500_000_000),
    ("3500 triệu", 3_500_000_000), ("3 500 000 000", 3_500_000_000),
    ("3,5 ty", 3_500_000_000), ("3,5 TỶ ĐỒNG", 3_500_000_000), ("3.5 tỷ", 3_500_000_000),
    ("3,500,000,000 VND", 3_500_000_000), ("3.5 billion", 3_500_000_000),
    ("3500000000₫", 3_500_000_000), ("890 nghìn đồng", 890_000), ("890k", 890_000),
    ("2,09 triệu đồng", 2_090_000), ("3tr", 3_000_000), ("0", 0),
    ("1.500 triệu", 1_500_000_000), ("1\u00a0000\u00a0000", 1_000_000),
    ("3,5 ti", 3_500_000_000), ("12 tỉ", 12_000_000_000),
])
def test_a_typed_amount_is_read_as_people_write_it(typed: str, vnd: int) -> None:
    assert parse_money(typed) == vnd


def test_a_lone_mark_before_three_digits_and_a_unit_follows_the_page_s_language() -> None:
    assert parse_money("1,500 triệu", "vi") == 1_500_000  # 1,5 triệu
    assert parse_money("1,500 million", "en") == 1_500_000_000
    assert parse_money("1.500", "vi") == parse_money("1.500", "en") == 1500  # no unit: đồng


@pytest.mark.parametrize("typed,key", [
    ("nhiều tiền", "money_unreadable"), ("1e9", "money_unreadable"),
    ("3 tỷ 500", "money_unreadable"), ("12,34,567", "money_unreadable"),
    ("1.2.3", "money_unreadable"), ("١٢٣", "money_unreadable"), ("²", "money_unreadable"),
    ("-5", "money_negative"), ("−3,5 tỷ", "money_negative"),
    ("3,5 đồng", "money_fraction"), ("1,2345678 triệu", "money_fraction"),
    ("9" * 30, "money_too_large"),
])
def test_what_is_not_an_amount_is_refused_with_its_reason(typed: str, key: str) -> None:
    with pytest.raises(MoneyError) as refused:
        parse_money(typed, "vi", MAX_INT)
    assert refused.value.key == key
    assert parse_money("  ") is None


@given(AMOUNTS, LANGS, LANGS)
def test_the_exact_amount_reads_back(vnd: int, written: str, read: str) -> None:
    assert parse_money(numbers.money_exact(vnd, written), read) == vnd
    assert parse_money(numbers.count(vnd, written), written) == vnd


@given(AMOUNTS, LANGS)
def test_the_amount_in_words_reads_back_as_the_amount_it_shows(vnd: int, lang: str) -> None:
    """Formatted in words then read, an amount comes back to within what the words show:
    half of the last decimal of its unit."""
    words = numbers.money(vnd, lang)
    back = parse_money(words, lang)
    assert back is not None
    one = next((one for one, vi, en in numbers.UNITS if (vi if lang == "vi" else en) in
                words), 1)
    assert abs(back - vnd) <= one // 200
    assert numbers.money(back, lang) == words  # and says the same again


@given(st.integers(0, 10**6).map(lambda n: n * 10**7), LANGS)
def test_amounts_in_tens_of_millions_come_back_exactly(vnd: int, lang: str) -> None:
    assert parse_money(numbers.money(vnd, lang), lang) == vnd
