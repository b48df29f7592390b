"""The order gates run in, what they report as they go and how long each took
(a fake clock: no sleeps, no image)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from envctl.gates.checks import GateSpec, gate_kind, gate_spec
from envctl.gates.events import GateEvent
from envctl.gates.suite import run_in_order, timed
from envctl.registry.results import GateResult
from envctl.spec.model import Gate

TESTS = gate_spec(Gate.model_validate({"tests": {}}))
METRICS = gate_spec(
    Gate.model_validate({"metrics": {"file": "m.json", "require": {"accuracy": ">= 0.9"}}})
)
HTTP = gate_spec(Gate.model_validate({"http": {}}))


class Clock:
    """Time moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def runner(
    clock: Clock, durations: dict[str, float], failing: frozenset[str] = frozenset()
) -> tuple[list[str], Callable[[GateSpec], GateResult]]:
    ran: list[str] = []

    def run_one(spec: GateSpec) -> GateResult:
        kind = gate_kind(spec)
        ran.append(kind)
        clock.now += durations[kind]
        if kind in failing:
            return GateResult(kind, "failed", f"{kind} said no")
        return GateResult(kind, "passed", f"{kind} said yes")

    return ran, run_one


@pytest.fixture
def clock() -> Iterator[Clock]:
    yield Clock()


def test_each_gate_reports_its_start_then_its_end_with_elapsed_seconds(clock: Clock) -> None:
    events: list[GateEvent] = []
    ran, run_one = runner(clock, {"tests": 8.25, "metrics": 0.125, "http": 2.0})

    results = run_in_order(
        [TESTS, METRICS, HTTP],
        run_one,
        on_gate=events.append,
        clock=clock,
    )

    assert ran == ["tests", "metrics", "http"]
    assert [r.seconds for r in results] == [8.25, 0.125, 2.0]
    assert [(e.index, e.total, e.kind, e.result) for e in events] == [
        (1, 3, "tests", None),
        (1, 3, "tests", results[0]),
        (2, 3, "metrics", None),
        (2, 3, "metrics", results[1]),
        (3, 3, "http", None),
        (3, 3, "http", results[2]),
    ]
    assert [e.is_last for e in events] == [False, False, False, False, False, True]


def test_after_a_failure_the_rest_end_skipped_without_starting(clock: Clock) -> None:
    events: list[GateEvent] = []
    ran, run_one = runner(clock, {"tests": 1.0, "metrics": 0.5}, failing=frozenset({"tests"}))

    results = run_in_order(
        [TESTS, METRICS, HTTP],
        run_one,
        on_gate=events.append,
        clock=clock,
    )

    assert ran == ["tests"]
    assert [(r.kind, r.status, r.seconds) for r in results] == [
        ("tests", "failed", 1.0),
        ("metrics", "skipped", None),
        ("http", "skipped", None),
    ]
    assert [(e.index, e.result.status if e.result else "started") for e in events] == [
        (1, "started"),
        (1, "failed"),
        (2, "skipped"),
        (3, "skipped"),
    ]
    assert events[-1].is_last


def test_no_gates_report_nothing() -> None:
    events: list[GateEvent] = []

    assert (
        run_in_order([], lambda spec: GateResult("tests", "passed", ""), on_gate=events.append)
        == ()
    )
    assert events == []


def test_timed_keeps_the_result_and_adds_the_seconds(clock: Clock) -> None:
    def gate() -> GateResult:
        clock.now += 0.0004 + 3
        return GateResult("command", "passed", "exited 0", {"exit_code": 0})

    result = timed(gate, clock)

    assert result == GateResult("command", "passed", "exited 0", {"exit_code": 0}, 3.0)
