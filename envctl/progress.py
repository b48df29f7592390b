"""The one shape of a progress callback: domain code reports a line, the CLI decides
how to show it (a live display on a terminal, one line per step in CI, nothing).

Two streams use it: concise progress (one line per step, for people) and the
raw log (every line an engine or a tool printed, for the log file and
`--verbose`). Both pass through `clean` so no escape sequence from Docker, apt
or a tag message reaches a terminal raw.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Progress = Callable[[str], None]

# CSI (colours, cursor moves), OSC (titles, hyperlinks) and two-byte escapes.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
# C0/C1 controls; bidi controls (U+061C, U+200E/F, U+202A-E, U+2066-9), which
# reorder what a terminal draws (U+202E shows `exe.txt` for `txt.exe`); zero-width
# characters (U+200B-D, U+2060-4, U+FEFF), which hide text; line/paragraph separators.
_CONTROLS = re.compile(
    r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def silent(_line: str) -> None:
    """A Progress that shows nothing."""


def clean(line: str) -> str:
    """`line` without terminal escape sequences, control characters, bidi controls
    or zero-width characters (tabs stay; a carriage return keeps only what was
    drawn last, as a terminal would show)."""
    line = line.rstrip("\r\n").rsplit("\r", 1)[-1]
    return _CONTROLS.sub("", _ESCAPES.sub("", line))
