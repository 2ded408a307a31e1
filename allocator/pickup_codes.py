"""Pickup codes: the secret a household shows at the point to collect its phone.

A code is 8 characters of Crockford base32 (40 bits, about 10^12 codes). It is
drawn from `secrets`, never derived from a household or allocation id, so
knowing one code (or the ids) tells nothing about another; an officer or a
neighbour cannot guess a code to collect someone else's phone. Crockford's
alphabet leaves out I, L, O and U, so a code read aloud, typed on a phone or
copied from paper survives the usual confusions: `normalise_code` reads I and
L as 1 and O as 0, ignores case, spaces and hyphens.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Collection

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 8
SPACE = len(ALPHABET) ** LENGTH

# What people and scanners add or confuse; everything else outside the alphabet is refused.
_DROPPED = str.maketrans("", "", " \t\r\n-")
_CONFUSED = str.maketrans("ILO", "110")
_LONGEST_INPUT = 64  # a code with generous spacing; longer input is not a code


def new_code() -> str:
    """One code from the cryptographic random source."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def draw_codes(count: int, existing: Collection[str] = ()) -> list[str]:
    """`count` new codes, distinct among themselves and from `existing` (the campaign's codes).

    Collisions are rare (one in 10^12 per pair) but checked, since a shared code
    would hand one household's phone to another.
    """
    if count < 0:
        raise ValueError(f"cannot draw {count} codes")
    taken = set(existing)
    if len(taken) + count > SPACE // 2:  # far beyond any campaign; keeps the loop short
        raise ValueError(f"{count:,} more codes would use over half of all {SPACE:,} codes")
    drawn: list[str] = []
    while len(drawn) < count:
        for code in _batch(count - len(drawn)):
            if code not in taken:
                taken.add(code)
                drawn.append(code)
    return drawn


# RFC 4648 base32 to Crockford's, symbol for symbol: 5 random bits make one symbol either way.
_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET.encode())


def _batch(count: int) -> list[str]:
    """`count` codes (maybe repeating) from 5 random bytes each: the same source and
    spread as `new_code`, about fifty times faster for a city's round."""
    text = base64.b32encode(secrets.token_bytes(5 * count)).translate(_CROCKFORD).decode()
    return [text[i:i + LENGTH] for i in range(0, LENGTH * count, LENGTH)]


def normalise_code(text: str | None) -> str | None:
    """The canonical code an officer typed or a QR scan gave, or None if it is not a code.

    Only ASCII is read: `str.upper` turns some other letters into Latin ones
    ("ß" into "SS", a dotless "ı" into "I"), which must not make a code.
    """
    if not isinstance(text, str) or len(text) > _LONGEST_INPUT or not text.isascii():
        return None
    code = text.translate(_DROPPED).upper().translate(_CONFUSED)
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def display_code(code: str) -> str:
    """The code in two groups of four ("ABCD-EFGH"), easier to read out and type."""
    half = LENGTH // 2
    return f"{code[:half]}-{code[half:]}"
