"""A promotion's target and outcome, and the stage-order rule. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from envctl import registry as reg
from envctl.errors import InputError
from envctl.promotion.gates import GateResult


@dataclass(frozen=True)
class Target:
    model: str
    version: str
    commit: str
    stage: str
    from_stage: str | None
    replaces: str | None  # version now in the stage


@dataclass
class Outcome:
    target: Target
    order: str
    compatibility: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    gates: list[GateResult] = field(default_factory=list)
    planned_gates: list[str] = field(default_factory=list)
    image: str | None = None
    image_id: str | None = None
    tag: str | None = None
    pushed: bool = False
    bypass: str | None = None
    status: str = "planned"  # planned | promoted | unchanged | blocked | waiting

    def to_json(self) -> dict[str, Any]:
        t = self.target
        return {
            "schema_version": 1,
            "status": self.status,
            "model": t.model,
            "version": t.version,
            "commit": t.commit,
            "stage": t.stage,
            "from_stage": t.from_stage,
            "replaces": t.replaces,
            "order": self.order,
            "compatibility": self.compatibility,
            "findings": self.findings,
            "gates": [g.to_json() for g in self.gates],
            "planned_gates": self.planned_gates,
            "image": self.image,
            "image_id": self.image_id,
            "tag": self.tag,
            "pushed": self.pushed,
            "bypass_reason": self.bypass,
        }


def default_version(registry: reg.Registry, model: str, from_stage: str | None) -> str:
    found = registry.model(model)
    if from_stage is None:
        latest = found.latest if found else None
        if latest is None:
            raise InputError(f"{model} has no registered version; envctl register {model} v1.0.0")
        return latest.version
    event = found.stages.get(from_stage) if found else None
    if event is None or event.version is None:
        raise InputError(
            f"no version of {model} is in {from_stage}; name one: "
            f"envctl promote {model}@vX.Y.Z --to ..."
        )
    return event.version


def order_problem(registry: reg.Registry, target: Target) -> str:
    if target.from_stage is None:
        return "ok"
    found = registry.model(target.model)
    entered = found is not None and any(
        e.stage == target.from_stage
        and e.version == target.version
        and e.action is reg.Action.ASSIGN
        for e in found.events
    )
    if entered:
        return "ok"
    return (
        f"{target.model}@{target.version} has not entered {target.from_stage}, "
        f"the stage before {target.stage}"
    )
