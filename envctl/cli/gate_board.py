"""How a promotion's gates show while they run (envctl.gates.events).

In a pipe or CI, one plain line per gate as it ends, on stderr:
`gate 2/4 metrics: passed, accuracy 0.98 >= 0.9 (0.1 s)`. On a terminal, a Rich
live board: the stage's gates so far, a spinner and the elapsed time on the
running one, collapsing to those same lines once the last gate has ended.
`--verbose` adds each gate's output (pytest's last lines, the server's log);
`--quiet` shows nothing but the result. The other progress lines (the image,
its build steps, the ledger) print as they come, above the board.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from envctl.cli import console
from envctl.cli.live import is_plain
from envctl.gates.events import GateEvent, GateProgress, unwatched
from envctl.progress import Progress, clean
from envctl.registry.results import GateResult

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live
    from rich.spinner import Spinner

# Evidence keys holding what a gate printed, by the gates that keep one.
_OUTPUT_KEYS = ("output_tail", "server_log_tail")
_STYLES = {"passed": "green", "failed": "bold red", "waiting": "yellow", "skipped": "dim"}
_MARKS = {"passed": "✓", "failed": "✗", "waiting": "…", "skipped": "-"}


def gate_line(event: GateEvent) -> str:
    """One gate in one line: `gate 1/4 tests: passed, 12 passed (8.3 s)`."""
    head = f"gate {event.index}/{event.total} {event.kind}"
    result = event.result
    if result is None:
        return f"{head}: running"
    summary = f", {clean(result.summary)}" if result.summary else ""
    took = f" ({result.seconds:.1f} s)" if result.seconds is not None else ""
    return f"{head}: {result.status}{summary}{took}"


def gate_output(result: GateResult) -> list[str]:
    """What the gate printed (its last lines), cleaned, for --verbose."""
    lines: list[str] = []
    for key in _OUTPUT_KEYS:
        text = result.evidence.get(key)
        if isinstance(text, str) and text.strip():
            lines.extend(clean(line) for line in text.strip().splitlines())
    return lines


@dataclass(frozen=True)
class PromotionReporter:
    say: Progress | None  # the concise lines; None: show nothing
    on_gate: GateProgress
    # Around anything printed on stdout while the board may be drawn on stderr.
    paused: Callable[[], AbstractContextManager[Any]] = nullcontext


@contextmanager
def promotion_progress(
    title: str, *, verbose: bool = False, quiet: bool = False
) -> Iterator[PromotionReporter]:
    if quiet:
        yield PromotionReporter(None, unwatched)
        return
    if is_plain():
        yield PromotionReporter(_say_plain, PlainGates(verbose=verbose))
        return
    with GateBoard(console.err(), title, verbose=verbose) as board:
        yield PromotionReporter(board.say, board.on_gate, board.paused)


def _say_plain(line: str) -> None:
    """Progress lines name tags, whose text anyone with push access chose."""
    console.info_line(clean(line))


@dataclass(frozen=True)
class PlainGates:
    """A pipe or CI: one line per gate as it ends (and its output with --verbose)."""

    verbose: bool = False
    write: Progress = console.info_line

    def __call__(self, event: GateEvent) -> None:
        if event.result is None:
            return
        self.write(gate_line(event))
        if self.verbose:
            for line in gate_output(event.result):
                self.write(f"    | {line}")


class GateBoard:
    """The live board on a terminal; a Rich renderable (`__rich__`) Live redraws."""

    def __init__(
        self,
        err: Console,
        title: str,
        *,
        verbose: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._console = err
        self._title = title
        self._verbose = verbose
        self._clock = clock
        self._started = clock()
        self._step = ""
        # The running suite, replaced whole (never mutated) so the refresh
        # thread always reads a consistent one.
        self._rows: tuple[GateEvent, ...] = ()
        self._running_since = self._started
        self._live: Live | None = None
        self._spinner: Spinner | None = None  # one, so that it turns from frame to frame

    def __enter__(self) -> GateBoard:
        from rich.live import Live

        # stdout is left alone: results stay on stdout even when only stderr is a terminal.
        self._live = Live(
            self, console=self._console, transient=True, refresh_per_second=8,
            redirect_stdout=False, redirect_stderr=False,
        )  # fmt: skip
        self._live.start(refresh=True)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._collapse()
        if self._live is not None:
            self._live.stop()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The board off the screen while something else prints."""
        if self._live is None:
            yield
            return
        self._live.stop()
        try:
            yield
        finally:
            self._live.start(refresh=True)

    def say(self, line: str) -> None:
        self._step = clean(line)
        self._print(self._step, "dim")

    def on_gate(self, event: GateEvent) -> None:
        if event.result is None:
            self._running_since = self._clock()
        rows = self._rows if event.index > 1 else ()
        self._rows = (*(r for r in rows if r.index != event.index), event)
        if event.is_last:
            self._collapse()

    def _collapse(self) -> None:
        """The finished gates as their final lines, above the board; the board
        then shows the next step."""
        rows, self._rows = self._rows, ()
        for event in rows:
            if event.result is None:
                continue
            self._print(gate_line(event), _STYLES.get(event.result.status, ""))
            if self._verbose:
                for line in gate_output(event.result):
                    self._print(f"    | {line}", "dim")

    def _print(self, line: str, style: str) -> None:
        """Above the board. A styled Text, not print(style=): Live draws the board
        in the same call, which would take that style too."""
        from rich.text import Text

        self._console.print(Text(line, style=style))

    def __rich__(self) -> RenderableType:
        from rich.console import Group
        from rich.spinner import Spinner
        from rich.text import Text

        if self._spinner is None:
            self._spinner = Spinner("dots")
        rows = self._rows
        if not rows:
            elapsed = self._clock() - self._started
            self._spinner.update(text=f"{self._title} ({elapsed:.0f} s): {self._step[:90]}")
            return self._spinner
        shown: list[RenderableType] = []
        for event in rows:
            if event.result is None:
                elapsed = self._clock() - self._running_since
                self._spinner.update(text=f"{gate_line(event)} ({elapsed:.1f} s)")
                shown.append(self._spinner)
            else:
                status = event.result.status
                mark = _MARKS.get(status, " ")
                shown.append(Text(f"{mark} {gate_line(event)}", style=_STYLES.get(status, "")))
        return Group(*shown)
