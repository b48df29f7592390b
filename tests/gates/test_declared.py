"""A model's requires: against measured peaks (pure)."""

from __future__ import annotations

import pytest

from envctl.gates import declared
from envctl.gates.peaks import Peaks
from envctl.registry.results import GateResult
from envctl.spec.project_file import Requires

MIB = 2**20
PASSED = GateResult("load", "passed", "p95 5 ms")


@pytest.mark.parametrize(
    ("stage", "chosen", "gravity"),
    [
        ("prod", None, "error"),
        ("staging", None, "warning"),
        ("prod", "warning", "warning"),
        ("staging", "error", "error"),
        ("prod", "off", "off"),
    ],
)
def test_exceeding_requires_is_an_error_in_the_last_stage_unless_the_gate_says(
    stage: str, chosen: declared.Gravity | None, gravity: str
) -> None:
    assert declared.gravity(stage, ["dev", "staging", "prod"], chosen) == gravity


def test_a_peak_above_a_declared_need_is_found_and_one_within_is_not() -> None:
    requires = Requires(memory="512Mi", cpu=1)  # parsed as the YAML is
    seen = Peaks(memory=700 * MIB, cpu=0.8, samples=4)

    found = declared.excesses(seen, requires, "warning")

    assert [f.message for f in found] == [
        "peak memory 700Mi is above requires.memory 512Mi (warning)"
    ]


def test_nothing_is_found_where_nothing_is_declared_or_the_check_is_off() -> None:
    seen = Peaks(memory=700 * MIB, cpu=3.0, samples=4)

    assert declared.excesses(seen, Requires(), "error") == ()
    assert declared.excesses(seen, Requires(memory="1Mi", cpu=1), "off") == ()


def test_cpu_above_its_declaration_is_found() -> None:
    found = declared.excesses(Peaks(cpu=1.75, samples=3), Requires(cpu=1), "error")

    assert [f.evidence() for f in found] == [
        {"resource": "cpu", "declared": "1", "measured": "1.75", "severity": "error"}
    ]


def test_a_warning_is_said_and_an_error_fails_the_gate() -> None:
    seen = Peaks(memory=700 * MIB, samples=4)
    requires = Requires(memory="512Mi")

    warned = declared.judged(PASSED, declared.excesses(seen, requires, "warning"))
    failed = declared.judged(PASSED, declared.excesses(seen, requires, "error"))
    clean = declared.judged(PASSED, ())

    assert (warned.status, warned.summary) == (
        "passed",
        "p95 5 ms; peak memory 700Mi is above requires.memory 512Mi (warning)",
    )
    assert (failed.status, failed.summary) == (
        "failed",
        "peak memory 700Mi is above requires.memory 512Mi (error)",
    )
    assert failed.evidence["requires"][0]["severity"] == "error"
    assert clean == GateResult("load", "passed", "p95 5 ms", {"requires": []})
