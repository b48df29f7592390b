"""A model's declared needs (`requires:` in envctl.yaml) against what a gate
measured it using (pure): a peak above the declaration is a finding, so the
declaration stays true. How grave is the stage's choice: by default an error in
the last stage (prod: the gate fails) and a warning before it (staging: the gate
passes, saying so)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from envctl.gates.peaks import Peaks
from envctl.gates.resources import memory_text
from envctl.registry.results import FAILED, PASSED, GateResult
from envctl.spec.project_file import Requires

Gravity = Literal["error", "warning", "off"]


@dataclass(frozen=True)
class Excess:
    """One measured peak above the model's declared need."""

    resource: Literal["memory", "cpu"]
    declared: str
    measured: str
    severity: Gravity

    @property
    def message(self) -> str:
        return f"peak {self.resource} {self.measured} is above requires.{self.resource} " + (
            f"{self.declared} ({self.severity})"
        )

    def evidence(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "declared": self.declared,
            "measured": self.measured,
            "severity": self.severity,
        }


def gravity(stage: str, stages: Sequence[str], chosen: Gravity | None) -> Gravity:
    """The gate's own choice, else error in the last stage and warning before it."""
    if chosen is not None:
        return chosen
    return "error" if stages and stage == stages[-1] else "warning"


def excesses(peaks: Peaks, requires: Requires, severity: Gravity) -> tuple[Excess, ...]:
    """Each declared need a measured peak went above (none when `severity` is off)."""
    if severity == "off":
        return ()
    found: list[Excess] = []
    if requires.memory is not None and peaks.memory is not None and peaks.memory > requires.memory:
        found.append(
            Excess("memory", memory_text(requires.memory), memory_text(peaks.memory), severity)
        )
    if requires.cpu is not None and peaks.cpu is not None and peaks.cpu > requires.cpu:
        found.append(Excess("cpu", f"{requires.cpu:g}", f"{peaks.cpu:.2f}", severity))
    return tuple(found)


def judged(result: GateResult, found: Sequence[Excess]) -> GateResult:
    """`result` with the findings in its evidence; an error fails a passed gate, a
    warning is named in its summary."""
    evidence = {**result.evidence, "requires": [f.evidence() for f in found]}
    if not found:
        return replace(result, evidence=evidence)
    said = "; ".join(f.message for f in found)
    if result.status == PASSED and any(f.severity == "error" for f in found):
        return replace(result, status=FAILED, summary=said, evidence=evidence)
    return replace(result, summary=f"{result.summary}; {said}", evidence=evidence)
