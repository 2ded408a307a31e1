"""Device identities recorded at handover: the phone's IMEI and, optionally, the SIM's ICCID.

Recording the IMEI ties each handover to one physical phone, so a sponsor can
be shown which device reached which household and a phone cannot be "handed
over" twice. Both numbers end in a Luhn check digit, which catches every
single mistyped digit and most swaps of neighbouring digits, so the officer
learns of a typo at the point rather than months later. Spaces and hyphens
(as printed on boxes and labels) are ignored; anything else is refused with
a sentence that says what is wrong.
"""

from __future__ import annotations

IMEI_LENGTH = 15
ICCID_LENGTHS = (19, 20)
ICCID_PREFIX = "89"  # telecommunications industry, ITU-T E.118

_DIGITS = frozenset("0123456789")


def luhn_valid(digits: str) -> bool:
    """Whether a digit string ends in its correct Luhn check digit."""
    if len(digits) < 2 or any(c not in _DIGITS for c in digits):
        return False
    return luhn_check_digit(digits[:-1]) == digits[-1]


def luhn_check_digit(payload: str) -> str:
    """The digit that makes `payload` + digit Luhn-valid."""
    if any(c not in _DIGITS for c in payload):
        raise ValueError("a Luhn payload holds digits only")
    total = 0
    # Doubling starts at the digit next to the check digit, i.e. the payload's last.
    for position, char in enumerate(reversed(payload)):
        d = int(char)
        if position % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str(-total % 10)


def check_imei(text: str | None) -> tuple[str | None, str | None]:
    """(the IMEI as 15 digits, None) when valid, else (None, why not)."""
    digits, problem = _digits(text, "IMEI")
    if problem:
        return None, problem
    if len(digits) != IMEI_LENGTH:
        return None, f"The IMEI has {len(digits)} digits; an IMEI has exactly {IMEI_LENGTH}."
    if not luhn_valid(digits):
        return None, ("The IMEI's check digit (the last) is wrong: a digit is mistyped. "
                      "Read the IMEI again from the box or dial *#06#.")
    return digits, None


def check_iccid(text: str | None) -> tuple[str | None, str | None]:
    """(the ICCID as 19 or 20 digits, None) when valid, else (None, why not)."""
    digits, problem = _digits(text, "ICCID")
    if problem:
        return None, problem
    if len(digits) not in ICCID_LENGTHS:
        return None, f"The ICCID has {len(digits)} digits; an ICCID has 19 or 20."
    if not digits.startswith(ICCID_PREFIX):
        return None, f"The ICCID does not start with {ICCID_PREFIX}, as every SIM's does."
    if not luhn_valid(digits):
        return None, ("The ICCID's check digit (the last) is wrong: a digit is mistyped. "
                      "Read the number again from the SIM card.")
    return digits, None


def _digits(text: str | None, name: str) -> tuple[str, str | None]:
    if not isinstance(text, str) or not text.strip():
        return "", f"No {name} is given."
    compact = "".join(c for c in text if not c.isspace() and c != "-")
    if any(c not in _DIGITS for c in compact):
        return "", f"The {name} holds characters other than digits, spaces and hyphens."
    return compact, None
