"""Advancing a version through the stages: which stages are left (pure), and what
the run came to, as a frozen value printed as the `advance` document.

A version's place is the furthest stage it has entered (an assignment event, as
the stage-order rule reads the ledger): a rolled-back version is not taken
forward again. Each remaining stage is one promotion (envctl.promotion.flow),
through that stage's gates only; the first refusal or wait stops the run, and
running it again later continues from where the ledger says the version is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from envctl import registry as reg
from envctl.output.promotion import AdvanceDocument
from envctl.promotion.outcome import Outcome

AdvanceStatus = Literal["reached", "blocked", "waiting"]


def furthest_entered(
    registry: reg.Registry, model: str, version: str, stages: Sequence[str]
) -> str | None:
    """The last stage, in order, that the version has ever been assigned to."""
    found = registry.model(model)
    entered = {
        e.stage
        for e in (found.events if found else ())
        if e.version == version and e.action is reg.Action.ASSIGN
    }
    return next((s for s in reversed(stages) if s in entered), None)


def stages_left(stages: Sequence[str], entered: str | None, until: str) -> list[str]:
    """The stages after `entered`, up to and including `until`, in order."""
    start = stages.index(entered) + 1 if entered is not None else 0
    return list(stages[start : stages.index(until) + 1])


@dataclass(frozen=True)
class Advance:
    model: str
    version: str
    from_stage: str | None  # the furthest stage entered before this run
    until: str
    status: AdvanceStatus
    steps: tuple[Outcome, ...] = ()
    stopped_at: str | None = None
    message: str | None = None  # why it stopped

    @property
    def reached(self) -> str | None:
        """The furthest stage the version has entered once this run is over."""
        done = [s.target.stage for s in self.steps if s.status in ("promoted", "unchanged")]
        return done[-1] if done else self.from_stage

    @property
    def not_before(self) -> str | None:
        """When the policy of the stage that stopped the run will allow it (ISO 8601)."""
        last = self.steps[-1] if self.steps and self.status == "waiting" else None
        return last.policy.get("not_before") if last and last.policy else None

    def to_document(self) -> AdvanceDocument:
        return AdvanceDocument(
            status=self.status,
            model=self.model,
            version=self.version,
            from_stage=self.from_stage,
            until=self.until,
            reached=self.reached,
            stopped_at=self.stopped_at,
            message=self.message,
            not_before=self.not_before,
            stages=[s.to_document() for s in self.steps],
        )

    def to_json(self) -> dict[str, Any]:
        return self.to_document().to_json()
