"""The one shape of a progress callback: domain code reports a line, the CLI decides
how to show it (a live display on a terminal, one line per step in CI, nothing)."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]


def silent(_line: str) -> None:
    """A Progress that shows nothing."""
