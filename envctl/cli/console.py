"""The one owner of the terminal: results on stdout, diagnostics on stderr.

`markup=False` everywhere so user data (paths, `[extras]`, logs) prints as is.
NO_COLOR and non-TTY output are respected by Rich itself; we add nothing that
would defeat that.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from envctl.progress import clean
from envctl.spec.indexes import redact

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


LOG_WIDTH = 120


def _log_width() -> int | None:
    """Off a terminal (CI logs), Rich would wrap tables at 80 columns and split
    values such as timestamps; use 120 unless COLUMNS says otherwise."""
    if os.environ.get("COLUMNS") or sys.stdout.isatty():
        return None
    return LOG_WIDTH


# What makes Rich lay out or colour stdout otherwise than as a plain log.
_RICH_SETTINGS = ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS")


def is_plain_log() -> bool:
    """Is stdout what out() prints to without colour, LOG_WIDTH columns wide, in
    UTF-8 (a pipe or a CI log)? Output that is the same characters either way
    can then be written without importing Rich."""
    return (
        not sys.stdout.isatty()
        and not any(os.environ.get(name) is not None for name in _RICH_SETTINGS)
        # Rich draws the box in ASCII for any other encoding.
        and (getattr(sys.stdout, "encoding", None) or "utf-8").lower().startswith("utf")
    )


def print_line(text: str, *, style: str | None = None) -> None:
    """One line of results as out().print writes it (`style` only on a terminal)."""
    from envctl.cli.text_table import is_plain

    if is_plain_log() and is_plain(text):
        sys.stdout.write(text + "\n")
        return
    out().print(text, style=style)


def print_table(table: Any) -> None:
    """A Rich table on stdout. Off a terminal (CI logs, pipes) it is printed at
    its natural width, one line per row: wrapping every cell to fit 120 columns
    makes a log unreadable and a grep useless."""
    console = out()
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        console.print(table)
        return
    from rich.console import Console
    from rich.measure import Measurement

    natural = Measurement.get(console, console.options.update(width=10_000), table).maximum
    # Console.print clamps `width` to the console's own: print through one as wide.
    wide = Console(markup=False, highlight=False, soft_wrap=True, width=max(natural, console.width))
    wide.print(table)


def print_rows(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """A plain table (no borders, columns two spaces apart) on stdout. Off a
    terminal, where Rich would print it at its natural width anyway, text that
    Rich would print as is (printable ASCII: no wide characters, no `:emoji:`
    codes, no line breaks) is laid out here, without importing Rich: the
    everyday read commands then start without it. The same characters either way
    (tests/cli/test_console.py compares them)."""
    table = [list(columns), *(list(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(columns))]
    if (
        sys.stdout.isatty()
        or os.environ.get("COLUMNS")
        or not all(map(_plain, table))
        or widths == [0]  # Rich prints a blank for it
    ):
        print_table(_rich_table(table))
        return
    sys.stdout.write("".join(_plain_line(row, widths) for row in table))


def _plain(cells: list[str]) -> bool:
    return all(_PLAIN.fullmatch(cell) and not _EMOJI.search(cell) for cell in cells)


_PLAIN = re.compile(r"[ -~]*")  # printable ASCII
_EMOJI = re.compile(r":\S*:")  # what Rich could take for an :emoji: code


def _plain_line(row: list[str], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + "\n"


def _rich_table(table: list[list[str]]) -> Any:
    from rich.table import Table

    rich_table = Table(box=None, pad_edge=False)
    for column in table[0]:
        rich_table.add_column(column)
    for row in table[1:]:
        rich_table.add_row(*row)
    return rich_table


_json_documents = 0  # written to stdout in this run: the error boundary adds none after one


def print_json(data: Any) -> None:
    """Machine output: plain JSON, never coloured, one document (json escapes
    control characters; credentials in URLs are redacted)."""
    global _json_documents
    sys.stdout.write(redact(json.dumps(data, indent=2, sort_keys=False, default=str)) + "\n")
    _json_documents += 1


def json_documents_written() -> int:
    return _json_documents


def reset_json_documents() -> None:
    global _json_documents
    _json_documents = 0


def print_text(text: str) -> None:
    """Results: each line without escape sequences or control characters (they
    come from inputs: tag messages, file contents) and with `user:password@`
    redacted from any URL."""
    sys.stdout.write("".join(f"{safe(line)}\n" for line in text.split("\n")[: _lines(text)]))


def _lines(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def safe(line: str) -> str:
    """One line as it may reach a terminal or a log."""
    return redact(clean(line))


def error_line(message: str, *, label: str = "error") -> None:
    _styled_line(f"{label}: {message}", "bold red" if label == "error" else "bold yellow")


def warning_line(message: str) -> None:
    _styled_line(f"warning: {message}", "yellow")


def info_line(message: str) -> None:
    _styled_line(message, "dim")


def _styled_line(text: str, style: str) -> None:
    text = "\n".join(safe(line) for line in text.split("\n"))
    if os.environ.get("NO_COLOR") or not sys.stderr.isatty():
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
        return
    err().print(text, style=style)
