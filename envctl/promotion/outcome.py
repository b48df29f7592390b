"""What a promotion (or a rollback) came to: a frozen value, and the
`--format json` document it prints as, whether it succeeded or stopped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from envctl.output import Document
from envctl.promotion.gates import GateKind, GateResult, GateStatus
from envctl.promotion.rules import Target

Status = Literal["planned", "unchanged", "promoted", "rolled back", "blocked", "waiting"]


class GateDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: GateKind
    status: GateStatus
    summary: str
    evidence: dict[str, Any]


class PromotionDocument(Document):
    """`envctl promote --format json` and `envctl rollback --format json`."""

    status: Status
    model: str
    version: str
    commit: str
    stage: str
    from_stage: str | None
    replaces: str | None
    order: str
    compatibility: list[str]
    findings: list[dict[str, Any]]
    gates: list[GateDocument]
    planned_gates: list[str]
    image: str | None
    image_id: str | None
    tag: str | None
    pushed: bool
    bypass_reason: str | None


@dataclass(frozen=True)
class Outcome:
    target: Target
    status: Status
    order: str  # "ok", "rollback", or why the stage order does not hold
    compatibility: tuple[str, ...] = ()
    findings: tuple[Mapping[str, Any], ...] = ()
    gates: tuple[GateResult, ...] = ()
    planned_gates: tuple[str, ...] = ()
    image: str | None = None
    image_id: str | None = None
    tag: str | None = None
    pushed: bool = False
    bypass: str | None = None  # the reason a stage was skipped (--force)

    def to_document(self) -> PromotionDocument:
        t = self.target
        return PromotionDocument(
            status=self.status,
            model=t.model,
            version=t.version,
            commit=t.commit,
            stage=t.stage,
            from_stage=t.from_stage,
            replaces=t.replaces,
            order=self.order,
            compatibility=list(self.compatibility),
            findings=[dict(f) for f in self.findings],
            gates=[GateDocument.model_validate(g.to_json()) for g in self.gates],
            planned_gates=list(self.planned_gates),
            image=self.image,
            image_id=self.image_id,
            tag=self.tag,
            pushed=self.pushed,
            bypass_reason=self.bypass,
        )

    def to_json(self) -> dict[str, Any]:
        return self.to_document().to_json()
