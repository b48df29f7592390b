"""Progress, not logs: how a long command (build, promote) shows what it does.

On a terminal, a Rich live line (spinner, elapsed time, the current step) with
each finished step printed above it. In a pipe or CI, one plain line per step
on stderr. `--verbose` adds every raw log line; `--quiet` shows nothing but the
result. Lines arrive already cleaned of escape sequences (envctl.progress.clean).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from envctl.cli import console
from envctl.progress import Progress, clean, silent


@dataclass(frozen=True)
class Reporter:
    step: Progress  # one concise line per step
    log: Progress | None  # every raw line (only with --verbose)


def is_plain() -> bool:
    """No live display: NO_COLOR, or stderr is not a terminal (a pipe, CI)."""
    return bool(os.environ.get("NO_COLOR")) or not sys.stderr.isatty()


@contextmanager
def progress(title: str, *, verbose: bool = False, quiet: bool = False) -> Iterator[Reporter]:
    if quiet:
        yield Reporter(silent, None)
        return
    if is_plain():
        yield Reporter(_plain_step, _plain_log if verbose else None)
        return
    started = time.monotonic()
    err = console.err()
    with err.status(title) as status:

        def step(line: str) -> None:
            text = clean(line)
            err.print(f"  {text}", markup=False, highlight=False)
            status.update(f"{title} ({time.monotonic() - started:.0f}s): {text[:90]}")

        def log(line: str) -> None:
            err.print(f"    | {clean(line)}", markup=False, highlight=False, style="dim")

        yield Reporter(step, log if verbose else None)


def _plain_step(line: str) -> None:
    sys.stderr.write(f"  {clean(line)}\n")


def _plain_log(line: str) -> None:
    sys.stderr.write(f"    | {clean(line)}\n")
