"""envctl.progress.clean: nothing from Docker, apt or a tag reaches a terminal raw."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envctl.progress import clean


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[91mE: Unable to locate package foo\x1b[0m", "E: Unable to locate package foo"),
        ("50%\r100% done\r", "100% done"),
        ("title\x1b]0;owned\x07 here", "title here"),
        ("bell\x07 and\x00 nul", "bell and nul"),
        ("tab\tstays", "tab\tstays"),
        ("c1 \x9b31m csi", "c1 31m csi"),
        ("line\r\n", "line"),
        ("invoice\u202etxt.exe", "invoicetxt.exe"),  # shown as "invoiceexe.txt" raw
        ("\u2066isolated\u2069 \u200fmark\u200e \u061calm", "isolated mark alm"),
        ("\u202alre\u202b rle\u202c \u202doverride", "lre rle override"),
        ("zero\u200bwidth\u200c\u200d\u2060\ufeff", "zerowidth"),
        ("line\u2028separator\u2029", "lineseparator"),
    ],
)
def test_clean_strips_escapes_and_controls(raw: str, shown: str) -> None:
    assert clean(raw) == shown


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_clean_never_leaves_a_control_character(raw: str) -> None:
    shown = clean(raw)
    assert not any((ord(c) < 32 and c != "\t") or 0x7F <= ord(c) <= 0x9F for c in shown)


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80))
def test_clean_keeps_printable_text(raw: str) -> None:
    assert clean(raw) == raw


INVISIBLE = [0x061C, *range(0x200B, 0x2010), *range(0x2028, 0x202F), *range(0x2060, 0x2065)]
INVISIBLE += [*range(0x2066, 0x206A), 0xFEFF]


@given(st.text(alphabet=[chr(c) for c in INVISIBLE] + list("ab \t\u05d0\u0627"), min_size=1))
def test_clean_never_leaves_a_bidi_or_zero_width_character(raw: str) -> None:
    assert not set(clean(raw)) & {chr(c) for c in INVISIBLE}
