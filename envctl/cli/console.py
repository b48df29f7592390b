"""The one owner of the terminal: results on stdout, diagnostics on stderr.

`markup=False` everywhere so user data (paths, `[extras]`, logs) prints as is.
NO_COLOR and non-TTY output are respected by Rich itself; we add nothing that
would defeat that.
"""

from __future__ import annotations

import json
import os
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


@cache
def out() -> Console:
    from rich.console import Console

    # No `file=`: Rich then writes to whatever sys.stdout is at print time, so a
    # cached Console still follows redirection (pytest's capture, contextlib).
    return Console(markup=False, highlight=False, soft_wrap=True, width=_log_width())


@cache
def err() -> Console:
    from rich.console import Console

    return Console(markup=False, highlight=False, soft_wrap=True, stderr=True, width=_log_width())


def _log_width() -> int | None:
    """Off a terminal (CI logs), Rich would wrap tables at 80 columns and split
    values such as timestamps; use 120 unless COLUMNS says otherwise."""
    if os.environ.get("COLUMNS") or sys.stdout.isatty():
        return None
    return 120


_json_documents = 0  # written to stdout in this run: the error boundary adds none after one


def print_json(data: Any) -> None:
    """Machine output: plain JSON, never coloured, one document."""
    global _json_documents
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    _json_documents += 1


def json_documents_written() -> int:
    return _json_documents


def reset_json_documents() -> None:
    global _json_documents
    _json_documents = 0


def print_text(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def error_line(message: str, *, label: str = "error") -> None:
    _styled_line(f"{label}: {message}", "bold red" if label == "error" else "bold yellow")


def warning_line(message: str) -> None:
    _styled_line(f"warning: {message}", "yellow")


def info_line(message: str) -> None:
    _styled_line(message, "dim")


def _styled_line(text: str, style: str) -> None:
    if os.environ.get("NO_COLOR") or not sys.stderr.isatty():
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
        return
    err().print(text, style=style)
