"""Free text (captions, comments, bios, display names): what is kept, and the pattern the
API documents for "at least one visible character"."""

from __future__ import annotations

import re
import sys

import pytest

from snapscale.core.accounts.rules import VISIBLE_CHARACTER, clean_text


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("  a caption  ", "a caption"),
        ("line one\nline two", "line one\nline two"),
        ("bell\x07 and del\x7f and nel\x85 gone", "bell and del and nel gone"),
        ("\x01  padded after a control character\x02 ", "padded after a control character"),
        ("\u00a0non-breaking\u3000", "non-breaking"),
        ("emoji 📷 and accents é stay", "emoji 📷 and accents é stay"),
    ],
)
def test_control_characters_are_dropped_then_the_text_trimmed(sent: str, kept: str) -> None:
    assert clean_text(sent) == kept


def test_the_documented_pattern_matches_exactly_the_characters_that_are_kept() -> None:
    """A comment is accepted when one character survives cleaning; the schema says so
    with VISIBLE_CHARACTER. Checked for every code point, so neither can drift."""
    pattern = re.compile(VISIBLE_CHARACTER)
    disagreements = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if (pattern.search(chr(code)) is not None) != (clean_text(chr(code)) != "")
    ]

    assert disagreements == []
