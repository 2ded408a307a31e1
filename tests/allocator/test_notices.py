"""SMS notices: segment arithmetic, GSM-7 folding, and the facts every text must keep."""

from __future__ import annotations

import unicodedata
from datetime import date, time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from allocator.notices import (
    CCCD,
    CODE,
    DAY,
    DEVICE,
    GSM7_BASIC,
    GSM7_EXTENSION,
    MAX_SEPTETS,
    POINT,
    REQUIRED,
    SENDER,
    WINDOW,
    Notice,
    abbreviate,
    facts_held,
    fold,
    is_gsm7,
    notice_texts,
    segments_gsm7,
    segments_ucs2,
    septets_gsm7,
)
from allocator.pickup_codes import ALPHABET

DAY_ = date(2026, 12, 5)
TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]  # huyền sắc hỏi ngã nặng
VOWELS = [unicodedata.normalize("NFC", v + t) for v in "aăâeêioôơuưy" for t in TONES]
LETTERS = VOWELS + list("bcdđghklmnpqrstvx")
LETTERS += [c.upper() for c in LETTERS]


def notice(commune: str = "Phường Tân Sơn Nhất", point: str = "Nhà văn hóa Khu phố 3",
           device: str = "", point_id: str = "UB-26740") -> Notice:
    return Notice(commune, point_id, point, DAY_, time(8), time(11), "K7QM4XPA", device)


def test_everyday_notice() -> None:
    texts = notice_texts(notice(device="Samsung Galaxy A05s"))
    assert texts.accented == (
        "UBND Phường Tân Sơn Nhất: Mời ông/bà nhận điện thoại Samsung Galaxy A05s tại "
        "Nhà văn hóa Khu phố 3, ngày 05/12/2026, 08:00-11:00. Mang theo CCCD. "
        "Mã nhận: K7QM-4XPA")
    assert texts.unaccented == (
        "UBND Phuong Tan Son Nhat: Moi ong/ba nhan dien thoai Samsung Galaxy A05s tai "
        "Nha van hoa Khu pho 3, ngay 05/12/2026, 08:00-11:00. Mang theo CCCD. "
        "Ma nhan: K7QM-4XPA")
    assert (texts.accented_segments, texts.unaccented_segments) == (3, 2)
    everything = REQUIRED | {SENDER, DEVICE}
    assert facts_held(texts.accented, notice(device="Samsung Galaxy A05s")) == everything
    assert facts_held(texts.unaccented, notice(device="Samsung Galaxy A05s")) == everything


def test_without_device_fits_one_sms() -> None:
    texts = notice_texts(notice())
    assert texts.unaccented_segments == 1
    assert facts_held(texts.unaccented, notice()) == REQUIRED | {SENDER}


def test_gsm7_tables() -> None:
    assert len(GSM7_BASIC) == 127  # 128 codes, one of them the escape
    assert len(GSM7_EXTENSION) == 10
    assert is_gsm7("Hello @£$ ÄÖÑÜ") and not is_gsm7("ệ") and not is_gsm7("Đ")
    assert is_gsm7("[€]") and not is_gsm7("[€]", extension=False)


@pytest.mark.parametrize(("length", "parts"), [(0, 1), (160, 1), (161, 2), (306, 2),
                                               (307, 3), (459, 3), (460, 4)])
def test_gsm7_segments(length: int, parts: int) -> None:
    assert segments_gsm7("a" * length) == parts


def test_gsm7_extension_counts_double_and_is_not_split() -> None:
    assert septets_gsm7("a€{") == 5
    assert segments_gsm7("a" * 79 + "€" * 40) == 1  # 159 septets
    assert segments_gsm7("a" * 80 + "€" * 40) == 1  # 160 septets
    assert segments_gsm7("a" * 81 + "€" * 40) == 2  # 161 septets
    assert segments_gsm7("a" * 152 + "€" + "a" * 10) == 2  # 165 septets, € opens part 2
    assert segments_gsm7("a" * 152 + "€" + "a" * 151) == 2  # 152 | 2 + 151
    assert segments_gsm7("a" * 152 + "€" + "a" * 152) == 3  # 306 septets, but € is not split
    with pytest.raises(ValueError):
        septets_gsm7("ệ")


@pytest.mark.parametrize(("text", "parts"), [
    ("", 1), ("ệ" * 70, 1), ("ệ" * 71, 2), ("ệ" * 134, 2), ("ệ" * 135, 3),
    ("😀" * 35, 1), ("😀" * 36, 2), ("a" * 66 + "😀" + "a" * 67, 3),  # pair not split
])
def test_ucs2_segments(text: str, parts: int) -> None:
    assert segments_ucs2(text) == parts


@pytest.mark.parametrize(("text", "plain"), [
    ("Đường Nguyễn Thị Minh Khai", "Duong Nguyen Thi Minh Khai"),
    ("Phường Tân Sơn Nhất", "Phuong Tan Son Nhat"),
    ("Xã Thạnh An, huyện Cần Giờ", "Xa Thanh An, huyen Can Gio"),
    ("ĐẶNG Ỷ Ữ Ợ Ậ", "DANG Y U O A"),
    ("Chợ \u201cBến Thành\u201d \u2013 [cổng] {số} 3~5", 'Cho "Ben Thanh" - (cong) (so) 3-5'),
    ("Tòa nhà 💒 市场  B", "Toa nha B"),
    ("Phu\u031bo\u031b\u0300ng", "Phuong"),  # decomposed input
    ("ＡＢＣ １２３", "ABC 123"),
])
def test_fold(text: str, plain: str) -> None:
    assert fold(text) == plain
    assert is_gsm7(fold(text), extension=False)


def test_every_vietnamese_letter_folds_to_one_latin_letter() -> None:
    for letter in LETTERS:
        assert len(fold(letter)) == 1 and fold(letter).isascii() and fold(letter).isalpha()


@pytest.mark.parametrize(("name", "short"), [
    ("Xã Thạnh An", "X. Thạnh An"),
    ("Phường 12, Quận Gò Vấp", "P. 12, Q. Gò Vấp"),
    ("Thị trấn Củ Chi", "TT. Củ Chi"),
    ("Nhà văn hoá Khu phố 3", "NVH KP 3"),
    ("Ủy ban nhân dân xã Bình Chánh", "UBND X. Bình Chánh"),
    ("Bưu điện Thành phố", "BĐ TP."),
    ("Trạm xá Thạnh An", "Trạm xá Thạnh An"),  # xá (clinic) is not xã (commune)
])
def test_abbreviations(name: str, short: str) -> None:
    assert abbreviate(name) == short


def test_notice_refuses_bad_facts() -> None:
    with pytest.raises(ValueError):
        Notice("Xã Thạnh An", "P1", "UBND", DAY_, time(8), time(11), "k7qm-4xpa")
    with pytest.raises(ValueError):
        Notice("Xã Thạnh An", "P1", "UBND", DAY_, time(11), time(8), "K7QM4XPA")
    with pytest.raises(ValueError):
        Notice("Xã Thạnh An", "P1", "  ", DAY_, time(8), time(11), "K7QM4XPA")


def test_facts_notice_a_missing_or_wrong_fact() -> None:
    n = notice()
    text = notice_texts(n).unaccented
    assert CODE not in facts_held(text.replace("K7QM-4XPA", "K7QM-4XPB"), n)
    assert DAY not in facts_held(text.replace("05/12/2026", "06/12/2026"), n)
    assert WINDOW not in facts_held(text.replace("08:00-11:00", "14:00-17:00"), n)
    assert CCCD not in facts_held(text.replace("CCCD", "giay to"), n)
    assert POINT not in facts_held(text.replace("Khu pho 3", "Khu pho"), n)


def test_long_device_is_dropped_before_names_are_cut() -> None:
    n = notice(device="Samsung Galaxy " + "A05s Ultra Max " * 12)
    texts = notice_texts(n)
    assert septets_gsm7(texts.unaccented) <= MAX_SEPTETS
    assert facts_held(texts.unaccented, n) == REQUIRED | {SENDER}
    assert DEVICE in facts_held(texts.accented, n)


def test_long_names_are_abbreviated_before_they_are_cut() -> None:
    n = notice(commune="Phường Tân Sơn Nhất Thạnh Mỹ Lợi Bình Trưng Tây",
               point="Nhà văn hóa Khu phố 3 Phường Tân Sơn Nhất Thạnh Mỹ Lợi Bình Trưng Tây, "
                     "cạnh Ủy ban nhân dân Phường Tân Sơn Nhất Thạnh Mỹ Lợi Bình Trưng Tây",
               device="Samsung Galaxy A05s")
    text = notice_texts(n).unaccented
    assert "NVH KP 3 P. Tan Son Nhat" in text and "..." not in text
    assert facts_held(text, n) == REQUIRED | {SENDER, DEVICE}


def test_very_long_names_keep_the_point_by_its_id() -> None:
    n = notice(commune="Phường " + "Tân Sơn Nhất " * 15, point="Nhà văn hóa " + "Bình " * 40,
               device="Samsung Galaxy A05s")
    text = notice_texts(n).unaccented
    assert septets_gsm7(text) <= MAX_SEPTETS
    assert "(ma diem UB-26740)" in text
    assert facts_held(text, n) >= REQUIRED


def test_every_length_of_names_fits() -> None:
    """A sweep over name lengths, so the cut is tried at every distance from the limit."""
    for commune_length in range(1, 201):
        for point_length in (1, 24, 25, 60, 120, 200):
            n = notice(commune=("Xã Thạnh An " * 20)[:commune_length],
                       point=("Ấp Thiềng Liềng " * 15)[:point_length], point_id="P" * 64)
            text = notice_texts(n).unaccented
            assert septets_gsm7(text) <= MAX_SEPTETS, (commune_length, point_length)
            assert facts_held(text, n) >= REQUIRED


words = st.lists(st.text(alphabet=LETTERS, min_size=1, max_size=12), min_size=1, max_size=30)
vietnamese_names = st.builds(
    lambda prefix, ws: (prefix + " ".join(ws))[:200],
    st.sampled_from(["", "Phường ", "Xã ", "Thị trấn ", "Nhà văn hóa ", "Bưu điện ",
                     "Trạm y tế ", "UBND "]),
    words)
point_ids = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=64)
devices = st.one_of(st.just(""), st.text(alphabet=LETTERS + list(" 0123456789+"), max_size=200))
codes = st.text(alphabet=ALPHABET, min_size=8, max_size=8)
days = st.dates(min_value=date(2025, 1, 1), max_value=date(2035, 12, 31))
windows = st.sampled_from([(time(8), time(11)), (time(14), time(17)), (time(7, 30), time(9))])


def check(n: Notice) -> None:
    texts = notice_texts(n)
    plain, accented = texts.unaccented, texts.accented
    assert is_gsm7(plain, extension=False)
    assert septets_gsm7(plain) <= MAX_SEPTETS and texts.unaccented_segments <= 2
    assert accented == unicodedata.normalize("NFC", accented)
    assert texts.accented_segments >= 1
    held = facts_held(plain, n)
    assert held >= REQUIRED, sorted(REQUIRED - held)
    assert held <= facts_held(accented, n)
    for text in (plain, accented):
        assert f"{n.code[:4]}-{n.code[4:]}" in text and f"{n.day:%d/%m/%Y}" in text
    assert notice_texts(n) == texts  # deterministic


@settings(max_examples=300)
@given(vietnamese_names, vietnamese_names, point_ids, devices, days, windows, codes)
@example("UBND A AA AA AA AA AAA AAA AAA AAAAA AAAAA AAAAA AAAAA AAAAA AAAAAA AAAAAA AAAAAAA "
         "AAAAAAA AAAAAAA AAAAAAAAAA AAAAAAAAAA AAAAAAAAAAAA AAAAAAAAAAAA AAAAAAAAAAAA "
         "AAAAAAAAAAAA", "Thị trấn AAAAAAAAAAAA AAAA A A AAAAA", "0", "", DAY_,
         (time(8), time(11)), "00000000")  # once came out one septet over
def test_vietnamese_names(commune: str, point: str, point_id: str, device: str, day: date,
                          window: tuple[time, time], code: str) -> None:
    check(Notice(commune, point_id, point, day, *window, code, device))


@settings(max_examples=300)
@given(st.text(min_size=1, max_size=300), st.text(min_size=1, max_size=300),
       st.text(min_size=1, max_size=64), st.text(max_size=200), codes)
def test_any_text_in_names(commune: str, point: str, point_id: str, device: str,
                           code: str) -> None:
    try:
        n = Notice(commune, point_id, point, DAY_, time(8), time(11), code, device)
    except ValueError:
        return  # a blank name or id
    texts = notice_texts(n)
    assert is_gsm7(texts.unaccented, extension=False)
    assert septets_gsm7(texts.unaccented) <= MAX_SEPTETS
    assert {CODE, DAY, WINDOW, CCCD} <= facts_held(texts.unaccented, n)
    assert facts_held(texts.unaccented, n) <= facts_held(texts.accented, n)
