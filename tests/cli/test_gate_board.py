"""How gates show while a promotion runs: the one-line form (a pipe, CI), its
--verbose output, and the live board on a (fake) terminal, with a fake clock."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from rich.console import Console

from envctl.cli.gate_board import GateBoard, PlainGates, gate_line, gate_output
from envctl.gates.events import GateEvent
from envctl.registry.results import GateResult

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
TESTS_PASSED = GateResult(
    "tests", "passed", "12 passed", {"output_tail": "....\n12 passed in 8.1s"}, 8.25
)
METRICS_FAILED = GateResult("metrics", "failed", "accuracy 0.8 is not >= 0.9", {}, 0.125)
HTTP_SKIPPED = GateResult("http", "skipped", "not run: an earlier gate failed")


@pytest.mark.parametrize(
    ("event", "line"),
    [
        (GateEvent(1, 4, "tests"), "gate 1/4 tests: running"),
        (GateEvent(1, 4, "tests", TESTS_PASSED), "gate 1/4 tests: passed, 12 passed (8.2 s)"),
        (
            GateEvent(2, 4, "metrics", METRICS_FAILED),
            "gate 2/4 metrics: failed, accuracy 0.8 is not >= 0.9 (0.1 s)",
        ),
        (
            GateEvent(3, 4, "http", HTTP_SKIPPED),
            "gate 3/4 http: skipped, not run: an earlier gate failed",
        ),
        (
            GateEvent(4, 4, "approvals", GateResult("approvals", "waiting", "", {}, 0.0)),
            "gate 4/4 approvals: waiting (0.0 s)",
        ),
        (
            GateEvent(
                1, 1, "command", GateResult("command", "failed", "x\x1b[31m said\rno", {}, 1)
            ),
            "gate 1/1 command: failed, no (1.0 s)",
        ),
    ],
)
def test_gate_line(event: GateEvent, line: str) -> None:
    assert gate_line(event) == line


def test_gate_output_is_what_the_gate_printed_cleaned() -> None:
    http = GateResult("http", "failed", "no answer", {"server_log_tail": "boot\n\x1b[31moops"})

    assert gate_output(TESTS_PASSED) == ["....", "12 passed in 8.1s"]
    assert gate_output(http) == ["boot", "oops"]
    assert gate_output(METRICS_FAILED) == []


@pytest.mark.parametrize(
    ("verbose", "shown"),
    [
        (False, ["gate 1/2 tests: passed, 12 passed (8.2 s)"]),
        (
            True,
            [
                "gate 1/2 tests: passed, 12 passed (8.2 s)",
                "    | ....",
                "    | 12 passed in 8.1s",
            ],
        ),
    ],
)
def test_plain_gates_print_one_line_per_gate_end(verbose: bool, shown: list[str]) -> None:
    lines: list[str] = []
    plain = PlainGates(verbose=verbose, write=lines.append)

    plain(GateEvent(1, 2, "tests"))
    plain(GateEvent(1, 2, "tests", TESTS_PASSED))

    assert lines == shown


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def terminal() -> tuple[Console, StringIO]:
    buffer = StringIO()
    return Console(file=buffer, force_terminal=True, width=100), buffer


def printed(buffer: StringIO) -> list[str]:
    """The lines left on the screen, without colours: a small terminal that knows
    the moves Live makes to redraw and erase the board in place."""
    lines, row, col = [""], 0, 0
    for token in re.split(r"(\x1b\[[0-?]*[ -/]*[@-~]|\n|\r)", buffer.getvalue()):
        if token == "\n":
            row, col = row + 1, 0
            lines.extend([""] * (row + 1 - len(lines)))
        elif token == "\r":
            col = 0
        elif token == "\x1b[1A":
            row = max(row - 1, 0)
        elif token == "\x1b[2K":
            lines[row] = ""
        elif not token.startswith("\x1b"):
            lines[row] = lines[row][:col] + token + lines[row][col + len(token) :]
            col += len(token)
    return [line for line in lines if line.strip()]


def frame(board: GateBoard) -> str:
    """What the board draws now, without colours."""
    console, buffer = terminal()
    console.print(board)
    return ANSI.sub("", buffer.getvalue())


def test_board_shows_the_gates_a_spinner_and_the_running_ones_elapsed_time() -> None:
    clock = Clock()
    console, _ = terminal()
    board = GateBoard(console, "promoting churn@v1.0.0 to staging", clock=clock)

    board.say("image envctl/model-churn:v1.0.0-abc (built)")
    clock.now += 3
    assert frame(board).splitlines() == [
        "⠋ promoting churn@v1.0.0 to staging (3 s): image envctl/model-churn:v1.0.0-abc (built)"
    ]
    board.on_gate(GateEvent(1, 3, "tests"))
    clock.now += 8.25
    board.on_gate(GateEvent(1, 3, "tests", TESTS_PASSED))
    board.on_gate(GateEvent(2, 3, "metrics"))
    clock.now += 1.25

    assert frame(board).splitlines() == [
        "✓ gate 1/3 tests: passed, 12 passed (8.2 s)",
        "⠋ gate 2/3 metrics: running (1.2 s)",
    ]


def test_board_collapses_to_the_final_lines_once_the_last_gate_ends() -> None:
    clock = Clock()
    console, buffer = terminal()

    with GateBoard(console, "promoting churn@v1.0.0 to staging", clock=clock) as board:
        board.on_gate(GateEvent(1, 2, "tests"))
        board.on_gate(GateEvent(1, 2, "tests", TESTS_PASSED))
        board.on_gate(GateEvent(2, 2, "metrics"))
        board.on_gate(GateEvent(2, 2, "metrics", METRICS_FAILED))
        assert frame(board).startswith("⠋ promoting churn@v1.0.0 to staging")

    assert printed(buffer) == [
        "gate 1/2 tests: passed, 12 passed (8.2 s)",
        "gate 2/2 metrics: failed, accuracy 0.8 is not >= 0.9 (0.1 s)",
    ]


def test_board_prints_what_finished_when_a_promotion_stops_mid_suite() -> None:
    console, buffer = terminal()

    with (
        pytest.raises(KeyboardInterrupt),
        GateBoard(console, "promoting", clock=Clock(), verbose=True) as board,
    ):
        board.on_gate(GateEvent(1, 2, "tests"))
        board.on_gate(GateEvent(1, 2, "tests", TESTS_PASSED))
        board.on_gate(GateEvent(2, 2, "http"))
        raise KeyboardInterrupt

    assert printed(buffer) == [
        "gate 1/2 tests: passed, 12 passed (8.2 s)",
        "    | ....",
        "    | 12 passed in 8.1s",
    ]


def test_board_steps_aside_while_a_result_prints() -> None:
    console, buffer = terminal()

    with GateBoard(console, "advancing churn@v1.0.0", clock=Clock()) as board:
        board.say("image envctl/model-churn:v1.0.0-abc (built)")
        assert printed(buffer)[-1].endswith(
            "advancing churn@v1.0.0 (0 s): image envctl/model-churn:v1.0.0-abc (built)"
        )
        with board.paused():
            assert printed(buffer) == ["image envctl/model-churn:v1.0.0-abc (built)"]
        assert len(printed(buffer)) == 2
