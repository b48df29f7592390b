"""register, approve and promote (rollback) documents; the status and history
models are in envctl.output.registry_models, re-exported here."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from envctl.output import Document, Item
from envctl.output.registry_models import HistoryDocument as HistoryDocument
from envctl.output.registry_models import ModelStatus as ModelStatus
from envctl.output.registry_models import RegisteredVersion as RegisteredVersion
from envctl.output.registry_models import StageEvent as StageEvent
from envctl.output.registry_models import StatusDocument as StatusDocument
from envctl.vocabulary import GateKind, GateStatus


class RegisterDocument(Document):
    """envctl register NAME VERSION --format json: the registration tag."""

    tag: str = Field(description="The annotated tag made, NAME@vX.Y.Z.")
    commit: str
    pushed: bool


class ApproveDocument(Document):
    """envctl approve NAME@VERSION --stage STAGE --format json: the approval tag."""

    tag: str = Field(description="The approval tag.")
    approver: str = Field(description="The approver's email (git user.email).")
    model: str
    version: str
    stage: str


class GateOutcome(Item):
    """One gate's result, as the assignment tag records it too."""

    kind: GateKind
    status: GateStatus = Field(
        description="waiting: approvals only; skipped: an earlier gate failed."
    )
    summary: str = Field(description="One line, as printed.")
    evidence: dict[str, Any] = Field(description="What the gate saw; its keys depend on kind.")
    seconds: float | None = Field(
        None,
        description="How long the gate took, in seconds; null when it was skipped.",
    )


class PromotionDocument(Document):
    """envctl promote --format json (and rollback): what the promotion came to.

    Printed whether it succeeded or not: blocked (exit 1) and waiting (exit 5)
    carry the gates run so far."""

    status: Literal["planned", "unchanged", "promoted", "rolled back", "blocked", "waiting"]
    model: str
    version: str
    commit: str
    stage: str = Field(description="The target stage.")
    from_stage: str | None = Field(description="The stage before it; null for the first.")
    replaces: str | None = Field(description="The version now in the stage.")
    order: str = Field(description='"ok", "rollback", or why the stage order does not hold.')
    compatibility: list[str] = Field(description="The model's requirements the env does not meet.")
    findings: list[dict[str, Any]] = Field(
        description="Diff findings from the previous stage's env (as in diff), each with blocks."
    )
    gates: list[GateOutcome] = Field(description="The gates run (or skipped), in order.")
    planned_gates: list[str] = Field(description="The target stage's gate kinds, in order.")
    image: str | None = Field(
        description="The image gated, by content tag: envctl/model-NAME:vX.Y.Z-CONTENT12."
    )
    image_id: str | None
    tag: str | None = Field(description="The assignment tag written, NAME#STAGE#N.")
    pushed: bool
    bypass_reason: str | None = Field(description="Why a stage was skipped (--force --reason).")
    digest: str | None = Field(
        description="REPO@sha256:... of the image in the registry, once pushed or pulled."
    )
    content_fingerprint: str | None = Field(
        description="sha256 of what is in the image; the same in every stage with that content."
    )
    reused_from: str | None = Field(
        description="The previous stage, when this is the very image it tested; else null."
    )
    image_differences: list[str] = Field(
        description="How the image content differs from the previous stage's (diff findings)."
    )
    sbom: str | None = Field(
        None,
        description="sha256:... of the image's CycloneDX SBOM, as the record holds it; null "
        "until the gates passed.",
    )
    sbom_artifact: str | None = Field(
        None,
        description="REPO@sha256:... of the SBOM pushed beside the image (an OCI referrer); "
        "null when the image is in no registry or --push was not given.",
    )
    policy: dict[str, Any] | None = Field(
        description="The stage policy's verdict (allowed, summary, not_before, evidence); "
        "null when the stage has no policy or it was not evaluated."
    )
    not_before: str | None = Field(
        description="ISO 8601: when the stage's policy will allow the promotion (status "
        "waiting); null otherwise, or when a person must promote (auto: false)."
    )
    gpu_bypass: dict[str, Any] | None = Field(
        None,
        description="The gates ran without the stage's GPUs (its gate engine has none) "
        "and the promoter accepted it (--accept-no-gpu): {gpus, reason, engine_said}.",
    )
    runner: str | None = Field(
        None,
        description="The Docker Engine URL the stage's gates run on (its runner:); null: "
        "envctl's own engine (DOCKER_HOST).",
    )


class Renumbered(Item):
    """A local-only stage event re-written with the next N after the remote's."""

    old_tag: str = Field(description="The local tag whose N the remote already used (deleted).")
    new_tag: str | None = Field(
        description="The event re-written with the next N (its record says renumbered_from); "
        "null when it was dropped: it no longer holds on the remote's ledger."
    )
    reason: str | None = Field(
        None,
        description="Why it was dropped (already in the stage, the stage order, the policy, "
        "a gate decided again, a rollback of what the stage no longer holds); null when "
        "re-written.",
    )


class SyncDocument(Document):
    """envctl sync --format json: the local ledger brought in line with a remote's."""

    remote: str
    fetched: list[str] = Field(description="Tags the remote had and this clone did not.")
    renumbered: list[Renumbered] = Field(
        description="Local-only stage events whose N clashed with the remote's."
    )
    replaced: list[str] = Field(
        description="Local version or approval tags that differed from the remote's same-named "
        "tag for the same commit and approver; the remote's was taken."
    )
    pushed: list[str] = Field(description="Local-only registry tags pushed, in one atomic push.")


class ImageDocument(Document):
    """envctl image NAME --stage STAGE --format json: the image a stage runs."""

    model: str
    stage: str
    version: str = Field(description="The version now in the stage.")
    tag: str = Field(description="The assignment tag that put it there, NAME#STAGE#N.")
    digest: str = Field(description="REPO@sha256:...: what a deploy pulls.")
    image: str | None = Field(description="The content tag it was built as.")
    image_id: str | None = Field(description="The image id, sha256:...")
    content_fingerprint: str | None = Field(description="sha256 of what is in the image.")
    reused_from: str | None = Field(
        description="The previous stage, when the stage runs the very image that stage tested."
    )
    sbom: str | None = Field(
        None, description="sha256:... of the image's SBOM, as the record holds it."
    )
    sbom_artifact: str | None = Field(
        None,
        description="REPO@sha256:... of that SBOM beside the image (an OCI referrer); null "
        "when the promotion did not push it.",
    )


class AuditViolation(Item):
    """One rule the ledger breaks, at one tag."""

    tag: str
    kind: str = Field(description="A stable name: no-record, skipped-stage, unsigned, ...")
    model: str | None = Field(description="null when the tag name itself does not parse.")
    message: str


class AuditDocument(Document):
    """envctl audit [MODEL] --format json: every violation in the ledger; exit 1 if any."""

    model: str | None = Field(description="The model audited; null for all.")
    signed_stages: list[str] = Field(description="Stages whose events must be signed.")
    events: int = Field(description="Stage events checked.")
    approvals: int = Field(description="Approval tags checked.")
    clean: bool = Field(description="True when no violation was found.")
    violations: list[AuditViolation] = Field(description="By tag name, then kind.")
    warnings: list[str] = Field(description="Tags that were ignored, and the trust root's state.")


class AdvanceDocument(Document):
    """envctl advance NAME@VERSION --format json: the version taken through the stages.

    Printed whether it reached the target or not: blocked (exit 1) and waiting
    (exit 5) carry the stages done so far and the one that stopped it."""

    status: Literal["reached", "blocked", "waiting"] = Field(
        description="reached: in the target stage (exit 0); blocked: a gate, the stage "
        "order or the compatibility check said no (exit 1); waiting: approvals are "
        "missing or the stage's policy does not allow it yet, run again later (exit 5)."
    )
    model: str
    version: str
    from_stage: str | None = Field(
        description="The furthest stage the version had entered before this run; null for none."
    )
    until: str = Field(description="The target stage: --until, else the last stage.")
    reached: str | None = Field(description="The furthest stage the version has entered now.")
    stopped_at: str | None = Field(description="The stage that stopped it; null when reached.")
    message: str | None = Field(description="Why it stopped, as the error line says; else null.")
    not_before: str | None = Field(
        description="ISO 8601: when the policy of the stage that stopped it will allow it; "
        "null otherwise."
    )
    stages: list[PromotionDocument] = Field(
        description="One promote document per stage tried in this run, in order; the last "
        "one is the stage that stopped it, if any."
    )


class CheckLiveDocument(Document):
    """envctl check-live NAME --stage STAGE --format json: the running service checked.

    Printed whatever the outcome: failed (exit 1) carries the checks' evidence and,
    with `rollback: auto`, the rollback recorded."""

    status: Literal["passed", "failed", "rolled back", "waiting"] = Field(
        description="passed (exit 0); failed: a check failed and the stage was not rolled "
        "back (exit 1); rolled back: a check failed and the previous version was put back "
        "(exit 1); waiting: the service still runs another version than the stage holds, "
        "nothing checked (exit 5)."
    )
    model: str
    stage: str
    version: str = Field(description="The version the stage held when checked.")
    commit: str = Field(description="Its commit (the request files were read there).")
    url: str = Field(description="The service's base URL: --url, else policy.live.url.")
    running_version: str | None = Field(
        description="The version the service reports it runs (X-Model-Version header, or "
        "model_version in its health answer); null when it reports none."
    )
    version_probe: dict[str, Any] | None = Field(
        description="How the version was asked for: url (the health endpoint: with the "
        "checks' urls, every URL contacted), status, version, source (header or body)."
    )
    checks: list[GateOutcome] = Field(
        description="One per http gate of the stage, then the metrics endpoint; all run."
    )
    rollback_policy: Literal["auto", "manual"] = Field(
        description="policy.live.rollback (manual when not set)."
    )
    rollback: str | None = Field(description="The rollback event's tag, NAME#STAGE#N; else null.")
    restored: str | None = Field(description="The version the rollback put back; else null.")
    pushed: bool = Field(description="Whether the rollback event was pushed (--push).")
    message: str | None = Field(description="Why it failed, as the error line says; else null.")
