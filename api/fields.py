"""Request fields whose check and whose description in /openapi.json are the same rule.

JSON Schema's "integer" allows 3.0, so a whole number may be written so (3.5, true
and "3" stay refused), whatever its bounds (api.schemas has Days, Quantity and Vnd).
Text is described by one pattern: the characters the store cannot keep, and how much
must be written besides spaces (a reason, two letters of a name, three words). The
router refuses the characters with its sentence; the store refuses too little text
with its own (in Vietnamese too), counting exactly as the pattern does, so a request
the document allows is taken and one it forbids refused. A time of day is answered
"08:00", which JSON Schema's "time" format (it needs an offset) is not.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from allocator.limits import CONTROL, NOTE_CONTROL

# The characters a one-line field (a name, a number) and a note (which may run over lines)
# refuse, as the inside of a character class: see allocator.limits.
ONE_LINE = CONTROL.pattern[1:-1]
NOTE = NOTE_CONTROL.pattern[1:-1]


def _whole_float(value: Any) -> Any:
    """3.0 is the whole number 3; 3.5, true and "3" stay refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# After a strict `Field(ge=, le=, strict=True)` (so that its bounds reach the schema as
# minimum and maximum): a whole number JSON may write as 3 or 3.0.
AS_WHOLE = BeforeValidator(_whole_float)


SURROGATES = r"\ud800-\udfff"


def _class(codes: list[int]) -> str:
    """Code points as the inside of a character class, in runs ("\\u2000-\\u200a")."""
    runs: list[list[int]] = []
    for code in sorted(codes):
        if runs and runs[-1][1] == code - 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return "".join(f"\\u{a:04x}" + (f"-\\u{b:04x}" if b > a else "") for a, b in runs)


def _refused(forbidden: str) -> re.Pattern[str]:
    return re.compile(f"[{forbidden}]")


# Every space character, spelled out: Python's \s (str.isspace, which the store's strip and
# split use), ECMAScript's and Rust's \s each differ a little.
_ALL_SPACES = [c for c in range(0x3000 + 1) if chr(c).isspace()]


def spaces(forbidden: str) -> str:
    """The space characters a text may hold (those `forbidden` aside), as a class's inside."""
    refused = _refused(forbidden)
    return _class([c for c in _ALL_SPACES if not refused.match(chr(c))])


def _classes(forbidden: str) -> tuple[str, str, str]:
    """Any character, any but a space, and a space, as the text may hold them. A lone
    surrogate is left out of the patterns (it is no character: a validator working on
    UTF-8 cannot even be given one, and takes no pattern that names one); the server
    refuses it all the same."""
    named = forbidden.replace(SURROGATES, "")
    return f"[^{named}]", f"[^{_class(_ALL_SPACES)}{named}]", f"[{spaces(forbidden)}]"


def clean(forbidden: str) -> str:
    """Any text without the `forbidden` characters (the inside of a character class)."""
    some, _, _ = _classes(forbidden)
    return f"^{some}*$"


def visible(forbidden: str, least: int) -> str:
    """At least `least` characters once the spaces at both ends are cut off."""
    some, mark, _ = _classes(forbidden)
    middle = "" if least <= 1 else f"{some}{{{least - 2},}}{mark}"
    return f"^{some}*{mark}{middle}{some}*$"


def non_space(forbidden: str, least: int) -> str:
    """At least `least` characters that are not spaces."""
    some, mark, _ = _classes(forbidden)
    return f"^{some}*(?:{mark}{some}*){{{least}}}$"


def blank(forbidden: str) -> str:
    """Nothing, or nothing but spaces."""
    _, _, gap = _classes(forbidden)
    return f"^{gap}*$"


def words(forbidden: str, least: int, blank_ok: bool = True) -> str:
    """At least `least` words (runs of characters between spaces), or (if `blank_ok`)
    nothing but spaces."""
    some, mark, gap = _classes(forbidden)
    more = "".join(f"{gap}+{mark}+" for _ in range(least - 2))
    written = f"{mark}+{more}{gap}+{mark}{some}*"
    return f"^{gap}*(?:{written})?$" if blank_ok else f"^{gap}*{written}$"


def either(*patterns: str) -> str:
    """Text that one of the (anchored) patterns matches."""
    return "^(?:" + "|".join(p.removeprefix("^").removesuffix("$") for p in patterns) + ")$"


def spaced_digits(forbidden: str, count: str, first: str = "", hyphens: bool = False) -> str:
    """`count` digits ("15", "17,18"), after the digits `first`, with spaces (and hyphens)
    anywhere between them, as a number is typed or read off a box."""
    gap = f"[{spaces(forbidden)}{'-' if hyphens else ''}]*"
    start = "".join(f"{digit}{gap}" for digit in first)
    return f"^{gap}{start}(?:[0-9]{gap}){{{count}}}$"


def described(max_length: int, pattern: str, **more: Any) -> Any:
    """A string field of at most `max_length` characters that the schema describes by
    `pattern` (checked by `refusing` and by the store, each with its own sentence)."""
    return Field(max_length=max_length, json_schema_extra={"pattern": pattern}, **more)


def refusing(forbidden: str, message: str = "holds a control or invisible character") -> Any:
    """Refuse, with `message`, a string holding one of the `forbidden` characters."""
    found = _refused(forbidden)

    def check(value: str) -> str:
        if found.search(value):
            raise PydanticCustomError("text_characters", message)
        return value

    return AfterValidator(check)


def _clock(moment: Any) -> Any:
    return moment.strftime("%H:%M") if isinstance(moment, dt.time) else moment


# A time of day in Vietnam, "08:00" (JSON Schema's "time" format needs an offset).
ClockTime = Annotated[str, BeforeValidator(_clock),
                      Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
