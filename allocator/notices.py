"""SMS notices telling a household when and where to collect its phone, and what to bring.

Each allocation gets two texts of the same notice:

- the accented text, proper Vietnamese (NFC), sent as UCS-2: 70 characters in
  a single SMS, 67 per part once concatenated;
- the unaccented text in the GSM 03.38 basic character set, because many
  brandname SMS gateways and old 2G handsets show only that. It is held to two
  parts (2 x 153 = 306 septets) so the cost per household stays known.

Commune and point names are free text and can be long, so the unaccented text
is shortened in fixed steps until it fits: the usual abbreviations ("Phường"
to "P.", "Nhà văn hóa" to "NVH"), then no device model, then the point name cut
and the point's id added so the point stays identifiable, then the commune
name cut. The code, the day, the window, the point and "bring your CCCD" are
never dropped; `facts_held` says which facts a text holds, so a caller (or a
test) can check that nothing a household needs was lost.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time
from functools import lru_cache

from allocator.pickup_codes import display_code, normalise_code

# GSM 03.38 default alphabet, without the escape to the extension table (0x1B).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
# Reached through the escape, so each costs two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153  # septets; a concatenated part gives 7 to its header
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 code units
MAX_GSM7_SEGMENTS = 2
MAX_SEPTETS = MAX_GSM7_SEGMENTS * GSM7_PART  # 306
POINT_KEEP = 24  # characters of a cut point name kept before the commune name is cut
ID_KEEP = 64  # the store's longest point id

SENDER, POINT, DAY, WINDOW, CCCD, CODE, DEVICE = (
    "sender", "point", "day", "window", "cccd", "code", "device")
REQUIRED = frozenset({CODE, DAY, WINDOW, POINT, CCCD})

# Administrative and place words, matched on the accented text so that "xã"
# (commune) is abbreviated but "xá" (as in "trạm xá", a clinic) is not; both
# placements of the tone mark ("hóa"/"hoá", "ủy"/"uỷ") occur in registries.
_ABBREVIATIONS = [(re.compile(rf"\b(?:{words})\b", re.IGNORECASE), short) for words, short in [
    (r"(?:ủy|uỷ|uy)\s+ban\s+nhân\s+dân", "UBND"),
    (r"nhà\s+văn\s+h(?:óa|oá)", "NVH"),
    (r"bưu\s+điện", "BĐ"),
    (r"trạm\s+y\s+tế", "TYT"),
    (r"khu\s+phố", "KP"),
    (r"thành\s+phố", "TP."),
    (r"thị\s+trấn", "TT."),
    (r"phường", "P."),
    (r"xã", "X."),
    (r"quận", "Q."),
    (r"huyện", "H."),
]]

# Letters NFKD leaves whole, and punctuation with a plain equivalent; the
# GSM extension characters are replaced too, so the text stays in the basic set.
_PLAIN = {"đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE",
          "œ": "oe", "Œ": "OE", "ß": "ss", "ł": "l", "Ł": "L", "þ": "th", "Þ": "Th",
          "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "−": "-", "‘": "'", "’": "'",
          "‚": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "`": "'",
          "[": "(", "]": ")", "{": "(", "}": ")", "~": "-", "|": "/", "\\": "/", "^": "",
          "€": "EUR"}
_ASCII_GSM7 = frozenset(c for c in GSM7_BASIC if c.isascii() and c.isprintable())


@dataclass(frozen=True)
class Notice:
    """What one household must be told, as plain facts."""

    commune: str  # as people know it, e.g. "Phường Tân Sơn Nhất"; the sender is its UBND
    point_id: str
    point_name: str
    day: date
    opens: time
    closes: time
    code: str  # canonical pickup code
    device: str = ""  # the phone's model, when known

    def __post_init__(self) -> None:
        if normalise_code(self.code) != self.code:
            raise ValueError("a notice needs a canonical pickup code")
        if not self.opens < self.closes:
            raise ValueError("a pickup window must close after it opens")
        if not (clean(self.commune) and clean(self.point_name) and clean(self.point_id)):
            raise ValueError("a notice needs the commune, the point's id and its name")


@dataclass(frozen=True)
class NoticeTexts:
    """The two forms of one notice; the segment counts are what the sending costs."""

    accented: str  # UCS-2
    unaccented: str  # GSM-7 basic set, at most MAX_SEPTETS

    @property
    def accented_segments(self) -> int:
        return segments_ucs2(self.accented)

    @property
    def unaccented_segments(self) -> int:
        return segments_gsm7(self.unaccented)


def notice_texts(notice: Notice) -> NoticeTexts:
    """Both texts of one notice."""
    accented = clean(_compose(notice, clean(notice.commune), clean(notice.device),
                              clean(notice.point_name), ""))
    return NoticeTexts(accented, _unaccented(notice))


def _compose(n: Notice, commune: str, device: str, point: str, point_ref: str) -> str:
    model = f" {device}" if device else ""
    ref = f" (mã điểm {point_ref})" if point_ref else ""
    # Short, so that a notice with everyday names fits one GSM-7 SMS (160).
    return (f"UBND {commune}: Mời ông/bà nhận điện thoại{model} tại {point}{ref}, "
            f"ngày {n.day:%d/%m/%Y}, {n.opens:%H:%M}-{n.closes:%H:%M}. "
            f"Mang theo CCCD. Mã nhận: {display_code(n.code)}")


def _unaccented(n: Notice) -> str:
    commune, point, device = clean(n.commune), clean(n.point_name), clean(n.device)
    ref = "" if _readable(point) else fold(n.point_id)
    short_commune, short_point = fold(abbreviate(commune)), fold(abbreviate(point))
    for c, p, d in ((fold(commune), fold(point), fold(device)),
                    (short_commune, short_point, fold(device)),
                    (short_commune, short_point, "")):
        text = fold(_compose(n, c, d, p, ref))
        if septets_gsm7(text) <= MAX_SEPTETS:
            return text
    # Cut the point name (its id keeps it identifiable), then the commune name.
    ref = _cut(fold(n.point_id), ID_KEEP)
    # One-letter stand-ins, not empty names, so the spaces around the names are counted.
    room = MAX_SEPTETS - septets_gsm7(fold(_compose(n, "C", "", "P", ref))) + 2
    p = _cut(short_point, max(room - len(short_commune), POINT_KEEP))
    c = _cut(short_commune, room - len(p))
    return fold(_compose(n, c, "", p, ref))


def facts_held(text: str, notice: Notice) -> frozenset[str]:
    """Which facts of the notice the text (accented or not) states in full.

    A name counts when it appears whole, abbreviated the usual way, or (for the
    point) by its id; a cut name does not count.
    """
    raw, plain = clean(text).casefold(), fold(text).lower()
    day = f"{notice.day:%d/%m/%Y}"

    def holds(before: str, value: str, after: str) -> bool:
        """`value` between those words of the template, in either text."""
        value = clean(value)
        if f"{before}{value.casefold()}{after}" in raw:
            return True
        return _readable(value) and any(
            f"{_fold_words(before)}{form.lower()}{_fold_words(after)}" in plain
            for form in {fold(value), fold(abbreviate(value))})

    found = {
        SENDER: holds("ubnd ", notice.commune, ":"),
        POINT: holds("tại ", notice.point_name, ",")
        or holds("(mã điểm ", notice.point_id, ")"),
        DAY: f"ngay {day}" in plain,
        WINDOW: f"{notice.opens:%H:%M}-{notice.closes:%H:%M}" in plain,
        CCCD: "mang theo cccd" in plain,
        CODE: display_code(notice.code) in text or notice.code in text,
        DEVICE: bool(clean(notice.device)) and holds("thoại ", notice.device, " tại"),
    }
    return frozenset(fact for fact, present in found.items() if present)


def clean(text: str) -> str:
    """NFC with control characters and lone surrogates removed and white space collapsed."""
    kept = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cs") or c.isspace())
    return " ".join(unicodedata.normalize("NFC", kept).split())


def abbreviate(text: str) -> str:
    """The usual short forms of administrative and place words (accented text in, NFC)."""
    text = unicodedata.normalize("NFC", text)
    for pattern, short in _ABBREVIATIONS:
        text = pattern.sub(short, text)
    return text


def fold(text: str) -> str:
    """The text without diacritics, in printable ASCII that is also GSM-7 basic.

    NFKD splits every Vietnamese letter into a base letter and its tone and
    vowel marks (ệ = e + circumflex + dot below), which are dropped; đ/Đ have
    no decomposition and are mapped by hand. Characters with no plain form
    (other scripts, emoji) are dropped rather than shown as "?".
    """
    plain = "".join(map(_plain_char, unicodedata.normalize("NFKD", text)))
    return " ".join(plain.split())


@lru_cache(maxsize=4096)
def _plain_char(char: str) -> str:
    if unicodedata.combining(char):
        return ""
    char = _PLAIN.get(char, char)
    if char.isspace():
        return " "
    return char if all(c in _ASCII_GSM7 for c in char) else ""


def _fold_words(words: str) -> str:
    """Template words folded and lower-cased, keeping the spaces around them."""
    lead = " " if words.startswith(" ") else ""
    trail = " " if words.endswith(" ") else ""
    return f"{lead}{fold(words).lower()}{trail}"


def _readable(text: str) -> bool:
    """Whether folding keeps every letter and digit, i.e. the plain text still names it."""
    plain = fold(text)
    return bool(plain) and sum(c.isalnum() for c in plain) >= sum(c.isalnum() for c in text)


def _cut(text: str, most: int) -> str:
    """At most `most` characters, ending in "..." when cut, at a word boundary if near."""
    if len(text) <= most:
        return text
    if most <= 3:
        return ""
    head = text[:most - 3]
    space = head.rfind(" ")
    if space >= len(head) // 2:
        head = head[:space]
    return head.rstrip(" ,.-") + "..."


def is_gsm7(text: str, *, extension: bool = True) -> bool:
    """Whether GSM-7 can carry the text (with extension=False: the basic set alone)."""
    return all(c in GSM7_BASIC or (extension and c in GSM7_EXTENSION) for c in text)


def septets_gsm7(text: str) -> int:
    """Length in septets: extension characters take two (escape + character)."""
    if not is_gsm7(text):
        raise ValueError("the text holds characters GSM-7 cannot carry")
    return sum(2 if c in GSM7_EXTENSION else 1 for c in text)


def segments_gsm7(text: str) -> int:
    """SMS parts needed; an escape pair is never split across two parts."""
    if septets_gsm7(text) <= GSM7_SINGLE:
        return 1
    return _parts((2 if c in GSM7_EXTENSION else 1 for c in text), GSM7_PART)


def segments_ucs2(text: str) -> int:
    """SMS parts needed in UCS-2 (UTF-16); a surrogate pair is never split."""
    units = [2 if ord(c) > 0xFFFF else 1 for c in text]
    if sum(units) <= UCS2_SINGLE:
        return 1
    return _parts(units, UCS2_PART)


def _parts(costs: Iterable[int], size: int) -> int:
    parts, used = 1, 0
    for cost in costs:
        if used + cost > size:
            parts, used = parts + 1, 0
        used += cost
    return parts
