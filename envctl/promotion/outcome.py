"""What a promotion (or a rollback) came to: a frozen value, printed as the
`--format json` document (envctl.output.promotion) whether it succeeded or stopped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from envctl.output.promotion import GateOutcome, PromotionDocument
from envctl.promotion.handoff import StageImage
from envctl.registry.results import GateResult
from envctl.registry.target import Target

Status = Literal["planned", "unchanged", "promoted", "rolled back", "blocked", "waiting"]


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
    stage_image: StageImage | None = None  # the image gated (and recorded)
    policy: Mapping[str, Any] | None = None  # the stage policy's verdict (Verdict.to_json())
    gpu_bypass: Mapping[str, Any] | None = None  # gates ran without the stage's GPUs, accepted
    runner: str | None = None  # the stage's runner: URL; None: envctl's own engine

    def to_document(self) -> PromotionDocument:
        t = self.target
        built = self.stage_image
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
            gates=[GateOutcome.model_validate(g.to_json()) for g in self.gates],
            planned_gates=list(self.planned_gates),
            image=self.image,
            image_id=self.image_id,
            tag=self.tag,
            pushed=self.pushed,
            bypass_reason=self.bypass,
            digest=built.digest if built else None,
            content_fingerprint=built.content_fingerprint if built else None,
            reused_from=built.reused_from if built else None,
            image_differences=list(built.differences) if built else [],
            sbom=built.sbom.sha256 if built and built.sbom else None,
            sbom_artifact=built.sbom.artifact if built and built.sbom else None,
            policy=dict(self.policy) if self.policy is not None else None,
            not_before=self.policy.get("not_before") if self.policy else None,
            gpu_bypass=dict(self.gpu_bypass) if self.gpu_bypass is not None else None,
            runner=self.runner,
        )

    def to_json(self) -> dict[str, Any]:
        return self.to_document().to_json()
