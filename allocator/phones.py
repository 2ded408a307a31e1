"""Vietnamese mobile numbers, as the registry holds them and an SMS gateway needs them.

A notice can only reach a household by SMS on a mobile number: 10 digits
starting 03, 05, 07, 08 or 09 (the prefixes since the 2018 renumbering).
Registries write the same number many ways (+84 91..., 84-91..., 091.234.5678),
so separators are dropped and the country code is turned into the leading 0;
anything else is refused with a sentence, and the household is visited instead.
The sentences never repeat the number: they end up in logs and lists that need
not hold personal data.
"""

from __future__ import annotations

MOBILE_PREFIXES = ("03", "05", "07", "08", "09")
LENGTH = 10
COUNTRY = "84"

_SEPARATORS = ".-()"
_DIGITS = frozenset("0123456789")


def normalise_phone(text: str | None) -> tuple[str | None, str | None]:
    """(the number as 0XXXXXXXXX, None) for a valid mobile, else (None, why not)."""
    if not isinstance(text, str) or not text.strip():
        return None, "No phone number is given."
    # Whitespace of any kind (a spreadsheet's non-breaking space too) separates groups.
    compact = "".join(c for c in text if not c.isspace() and c not in _SEPARATORS)
    international = compact.startswith("+")
    if international:
        compact = compact[1:]
    if not compact or any(c not in _DIGITS for c in compact):
        return None, ("The phone number holds characters other than digits, spaces, "
                      "dots, hyphens, parentheses and a leading +.")
    if international:
        if not compact.startswith(COUNTRY):
            return None, "The phone number is not Vietnamese: a +number must start +84."
        if compact.startswith(COUNTRY + "0"):
            return None, "After +84 the leading 0 of the number must be left out."
        return _national("0" + compact[len(COUNTRY):])
    if compact.startswith(COUNTRY) and len(compact) == LENGTH + 1:
        return _national("0" + compact[len(COUNTRY):])
    return _national(compact)


def is_mobile(text: str | None) -> bool:
    """Whether the text reads as a Vietnamese mobile number."""
    return normalise_phone(text)[0] is not None


def _national(digits: str) -> tuple[str | None, str | None]:
    if digits.startswith("01") and len(digits) == LENGTH + 1:
        return None, ("The phone number is an old 11-digit mobile number (01x); these "
                      "were renumbered in 2018 and need the household's current number.")
    if digits.startswith("02") and len(digits) in (LENGTH, LENGTH + 1):
        # Landlines have 11 digits since 2017 (028 xxxx xxxx in the city), 10 before.
        return None, "The phone number is a landline (02x), which cannot receive SMS."
    if len(digits) != LENGTH:
        hint = ("; a spreadsheet may have dropped its leading 0"
                if len(digits) == LENGTH - 1 and not digits.startswith("0") else "")
        return None, (f"The phone number has {len(digits)} digits; a Vietnamese mobile "
                      f"number has {LENGTH}{hint}.")
    if not digits.startswith(MOBILE_PREFIXES):
        return None, ("The phone number does not start with a mobile prefix "
                      "(03, 05, 07, 08 or 09).")
    return digits, None
