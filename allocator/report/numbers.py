"""Numbers as people read them: counts, percentages and money, in Vietnamese or English.

One place for every figure a page, the report or a people-facing export shows,
so a commune's coverage reads the same everywhere:

- counts: Vietnamese writes 1.109 and 12,5; English writes 1,109 and 12.5;
- percentages: rounded half up to a tenth, once, from the whole numbers they are made
  of; a share short of the whole never reads 100% and a share above nothing never
  reads 0% (a planner would take 100,0% for "everyone");
- differences of percentages are percentage points: "+2,7 điểm %", "+2.7 pp";
- money in words, in the largest of tỷ, triệu, nghìn the amount reaches, with at most
  two decimals ("3,2 tỷ đồng", "890 nghìn đồng", "2,09 triệu đồng"); the exact amount
  ("3.197.890.000 ₫") is for hover titles and exports.

`parse_money` reads what a planner types in a budget field ("3,5 tỷ", "3.500.000.000",
"3500 triệu", "3 500 000 000", "3,5 ty") back into whole đồng.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

LANGS = ("vi", "en")
DASH = "–"  # a figure that does not exist (no whole to take a share of, no amount)
MAX_VND = 2**63 - 1  # what the store's integer columns hold

# Units of money, largest first: (đồng in one, Vietnamese word, English word).
UNITS = ((10**9, "tỷ", "billion"), (10**6, "triệu", "million"), (10**3, "nghìn", "thousand"))
CURRENCY = {"vi": "đồng", "en": "VND"}
POINTS = {"vi": "điểm %", "en": "pp"}


def _lang(lang: str) -> str:
    return lang if lang in LANGS else "vi"


def _separators(lang: str) -> tuple[str, str]:
    """(thousands, decimal) separators."""
    return (".", ",") if _lang(lang) == "vi" else (",", ".")


def _half_up(value: float | int | Decimal, places: int) -> Decimal:
    exact = value if isinstance(value, Decimal) else Decimal(repr(value)) \
        if isinstance(value, float) else Decimal(value)
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def decimal(value: float | int | Decimal | None, lang: str = "vi", places: int = 0) -> str:
    """`value` rounded half up to `places` decimals, with the language's separators."""
    if value is None:
        return DASH
    rounded = _half_up(value, places)
    if rounded == 0:
        rounded = abs(rounded)  # no "-0,0"
    text = f"{rounded:,.{places}f}"
    thousands, point = _separators(lang)
    return text.replace(",", "\0").replace(".", point).replace("\0", thousands)


def count(value: float | int | Decimal | None, lang: str = "vi") -> str:
    """A whole number: 1.109 in Vietnamese, 1,109 in English."""
    return decimal(value, lang, 0)


def figure(value: object, lang: str = "vi") -> str:
    """A published count that may be withheld ("<5", "*", "–"): digits are grouped as
    counts, anything else is shown as it is."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return count(value, lang)
    text = "" if value is None else str(value)
    return count(int(text), lang) if text.isascii() and text.isdigit() else (text or DASH)


def tenths(part: int, whole: int) -> int:
    """part / whole in tenths of a percent, the one rounding of every percentage shown."""
    if whole <= 0:
        raise ValueError("a share needs a whole above zero")
    shown = (2000 * part + whole) // (2 * whole)  # half up, in whole numbers
    if 0 <= part < whole and shown >= 1000:
        return 999
    if part > 0 and shown <= 0:
        return 1
    return shown


def percent(part: int | None, whole: int | None, lang: str = "vi") -> str:
    """66,7% (Vietnamese) or 66.7% (English); "–" without a whole."""
    if part is None or not whole or whole < 0:
        return DASH
    return decimal(Decimal(tenths(int(part), int(whole))) / 10, lang, 1) + "%"


def points(before: tuple[int, int] | None, after: tuple[int, int] | None,
           lang: str = "vi") -> str:
    """The change between two shares (part, whole), in percentage points, as the
    difference of the two percentages shown: "+2,7 điểm %" / "+2.7 pp"."""
    if not before or not after or before[1] <= 0 or after[1] <= 0:
        return DASH
    change = tenths(*after) - tenths(*before)
    sign = "+" if change > 0 else "−" if change < 0 else ""
    return f"{sign}{decimal(Decimal(abs(change)) / 10, lang, 1)} {POINTS[_lang(lang)]}"


def signed(text_of: str, change: int | float) -> str:
    """A change with its sign in front ("+12", "−3"); zero has none."""
    return f"+{text_of}" if change > 0 else f"−{text_of}" if change < 0 else text_of


def money(vnd: int | None, lang: str = "vi", sign: bool = False) -> str:
    """An amount in words: "3,2 tỷ đồng", "890 nghìn đồng", "500 đồng" / "3.2 billion VND".

    The largest unit the amount reaches, at most two decimals, trailing zeros dropped;
    with `sign`, a "+" or "−" in front of a change.
    """
    if vnd is None:
        return DASH
    lang = _lang(lang)
    size = abs(int(vnd))
    words = CURRENCY[lang]
    text = count(size, lang)
    for i, (one, vi, en) in enumerate(UNITS):
        if size >= one:
            shown = _half_up(Decimal(size) / one, 2)
            if shown >= 1000 and i > 0:  # 999.999.999 reads 1 tỷ, not 1.000 triệu
                one, vi, en = UNITS[i - 1]
                shown = _half_up(Decimal(size) / one, 2)
            number = decimal(shown, lang, 2).rstrip("0").rstrip(_separators(lang)[1])
            text = f"{number} {vi if lang == 'vi' else en}"
            break
    body = f"{text} {words}"
    if not sign:
        return f"−{body}" if vnd < 0 else body
    return signed(body, vnd)


def money_exact(vnd: int | None, lang: str = "vi") -> str:
    """The exact amount, for a hover title or an export: "3.197.890.000 ₫"."""
    if vnd is None:
        return DASH
    return f"{'−' if vnd < 0 else ''}{count(abs(int(vnd)), lang)} ₫"


# --- reading a typed amount --------------------------------------------------------------

# Each unit and the ways it is typed, with or without its marks.
_UNIT_WORDS = {
    10**9: ("tỷ", "tỉ", "ty", "ti", "billion", "billions", "bn", "b"),
    10**6: ("triệu", "trieu", "tr", "million", "millions", "mn", "m"),
    10**3: ("nghìn", "nghin", "ngàn", "ngan", "thousand", "thousands", "k"),
}
_CURRENCY_WORDS = ("đồng", "dong", "vnđ", "vnd", "đ", "₫", "d")
_AMOUNT = re.compile(r"(?P<number>[0-9][0-9.,]*)(?P<unit>[^\W\d_]*)")


class MoneyError(ValueError):
    """A typed amount that is not one; `key` names the words for it in the label tables."""

    def __init__(self, key: str, text: str) -> None:
        super().__init__(f"{key}: {text!r}")
        self.key = key
        self.text = text


def _unit(word: str) -> int | None:
    if not word:
        return 1
    return next((one for one, words in _UNIT_WORDS.items() if word in words), None)


def _number(digits: str, has_unit: bool, lang: str) -> Decimal:
    """Digits with '.' and ',' as grouping or decimal marks, read the way people write:
    a mark that repeats, or is followed by exactly three digits in an amount without a
    unit, groups thousands; the other mark (or a lone one) is the decimal point."""
    marks = [m for m in ".," if m in digits]
    point = ""
    if len(marks) == 2:
        point = max(marks, key=digits.rindex)  # the last mark written is the decimal point
        if digits.count(point) > 1:
            raise ValueError(digits)
    elif marks:
        mark = marks[0]
        groups = digits.split(mark)
        if len(groups) == 2 and not (len(groups[1]) == 3 and
                                     (not has_unit or mark == _separators(lang)[0])):
            point = mark
    group = next((m for m in marks if m != point), "")
    whole, _, fraction = digits.partition(point) if point else (digits, "", "")
    if group:
        head, *rest = whole.split(group)
        if not head or len(head) > 3 or any(len(g) != 3 for g in rest):
            raise ValueError(digits)
        whole = head + "".join(rest)
    if not whole.isdigit() or (point and not fraction.isdigit()):
        raise ValueError(digits)
    return Decimal(f"{whole}.{fraction}" if fraction else whole)


def parse_money(text: str, lang: str = "vi", most: int = MAX_VND) -> int | None:
    """Whole đồng from what a person typed; None for an empty field.

    Takes "3,5 tỷ", "3.500.000.000", "3500 triệu", "3 500 000 000", "3,5 ty",
    "890 nghìn đồng", "3.5 billion", "3,500,000,000 VND". A lone mark followed by three
    digits with a unit ("1.500 triệu") is read as the page's language writes it.
    Raises MoneyError with the label key of what is wrong.
    """
    typed = unicodedata.normalize("NFC", text or "").strip().lower()
    if not typed:
        return None
    squeezed = re.sub(r"[\s\u00a0\u202f_']+", "", typed)
    for word in sorted(_CURRENCY_WORDS, key=len, reverse=True):
        if squeezed.endswith(word) and squeezed != word:
            squeezed = squeezed[: -len(word)]
            break
    if squeezed.startswith(("-", "−")):
        raise MoneyError("money_negative", text)
    found = _AMOUNT.fullmatch(squeezed)
    unit = _unit(found.group("unit")) if found else None
    if not found or unit is None:
        raise MoneyError("money_unreadable", text)
    try:
        amount = _number(found.group("number"), unit > 1, lang) * unit
    except (ValueError, InvalidOperation):
        raise MoneyError("money_unreadable", text) from None
    if amount != amount.to_integral_value():
        raise MoneyError("money_fraction", text)
    if amount > most:
        raise MoneyError("money_too_large", text)
    return int(amount)
