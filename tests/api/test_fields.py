"""The patterns /openapi.json gives for text say exactly what the server takes: each matches
a text if and only if the check it describes (the store's count of characters, letters or
words, the router's refused characters) takes it; and every pattern of the document is
one a JSON Schema validator written in Rust (as Schemathesis uses) can read."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
from hypothesis import given
from hypothesis import strategies as st

from allocator.limits import CONTROL, NOTE_CONTROL
from api.fields import NOTE, ONE_LINE, blank, non_space, spaced_digits, visible, words
from api.main import create_app
from api.settings import Settings

# Spaces of every kind, the characters the classes refuse, and ordinary letters.
TEXT = st.text(st.sampled_from(" \t\n\r\x0b\x85\xa0\u1680\u2000\u2028\u3000\x00\x1f\x7f"
                               "\x9fab-7\u0301ệ"), max_size=8)


def _matches(pattern: str, text: str) -> bool:
    return re.fullmatch(pattern, text) is not None


@given(TEXT)
def test_visible_is_the_length_once_the_ends_are_cut(text: str) -> None:
    for least in (1, 3):
        expected = not NOTE_CONTROL.search(text) and len(text.strip()) >= least
        assert _matches(visible(NOTE, least), text) == expected


@given(TEXT)
def test_non_space_counts_the_characters_besides_spaces(text: str) -> None:
    cc = r"\x00-\x1f\x7f-\x9f"
    expected = not re.search(f"[{cc}]", text) and len("".join(text.split())) >= 2
    assert _matches(non_space(cc, 2), text) == expected


@given(TEXT)
def test_words_are_runs_between_spaces(text: str) -> None:
    clean, count = not NOTE_CONTROL.search(text), len(text.split())
    assert _matches(words(NOTE, 3), text) == (clean and (count == 0 or count >= 3))
    assert _matches(words(NOTE, 3, blank_ok=False), text) == (clean and count >= 3)
    assert _matches(blank(ONE_LINE), text) == (not CONTROL.search(text) and not text.strip())


@given(st.text(st.sampled_from("0123456789 -\xa0\t"), max_size=24))
def test_digits_may_be_spaced_as_typed(text: str) -> None:
    compact = "".join(c for c in text if not c.isspace() and c != "-")
    expected = "\t" not in text and len(compact) == 15
    assert _matches(spaced_digits(ONE_LINE, "15", hyphens=True), text) == expected


def _patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for value in node.values() for p in _patterns(value)]
    if isinstance(node, list):
        return [p for value in node for p in _patterns(value)]
    return []


def test_every_pattern_of_the_document_is_one_a_validator_reads(tmp_path: Any) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}",
                              run_worker=False))
    patterns = _patterns(app.openapi())
    assert len(patterns) > 10
    for pattern in patterns:
        jsonschema_rs.validator_for({"type": "string", "pattern": pattern})  # raises if not
        re.compile(pattern)
