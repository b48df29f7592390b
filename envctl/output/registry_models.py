"""status and history documents as models: their JSON Schema (`envctl schema
--output status`), docs/reference.md, and what a consumer validates against.
`envctl status` and `history` build the same documents as plain data
(envctl.output.registry: no pydantic on the read path);
tests/output/test_registry_documents.py keeps the two field for field.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from envctl.output import Document, Item
from envctl.vocabulary import MetricBasis


class RecordedMetric(Item):
    """A metric value a gate decided on, as the record keeps it."""

    metric: str
    value: float
    basis: MetricBasis = Field(
        description="claimed: read from the version's committed file (metrics gate); "
        "measured: computed by envctl from the model's answers (evaluate gate)."
    )
    source: str | None = Field(description="The metrics file, or the evaluation set's name.")


class StageEvent(Item):
    """One assignment of a version to a stage (a promotion or a rollback)."""

    n: int | None = Field(description="The stage assignment counter, from the tag.")
    model: str
    stage: str
    action: Literal["assign", "unassign"] = Field(description="A rollback is an assign too.")
    version: str | None
    commit: str
    by: str = Field(description="The tagger's email, or name.")
    when: str | None = Field(description="ISO 8601.")
    tag: str
    bypass_reason: str | None = Field(description="Why a stage was skipped (--force --reason).")
    gpu_bypass_reason: str | None = Field(
        None,
        description="Why the gates ran without the stage's GPUs (--accept-no-gpu REASON).",
    )
    rollback_of: str | None = Field(description="The version a rollback replaced.")
    rollback_reason: str | None = Field(
        None, description="Why, when the record says (check-live: check-live failed)."
    )
    summary: str = Field(description="The tag message's first line.")
    image: str | None = Field(
        description="The image the stage runs, from the record: its content tag (or, in "
        "older records, its id)."
    )
    image_id: str | None = Field(description="The image id, sha256:...")
    digest: str | None = Field(
        description="REPO@sha256:... to pull it by, when it was pushed; `envctl image` prints it."
    )
    evidence: Literal["signed", "recorded", "none", "invalid"] = Field(
        "recorded",
        description="signed: valid record, signed by an allowed principal; recorded: valid "
        "record; none: no record (GTO or by hand); invalid: a rule is broken.",
    )
    counts: bool = Field(True, description="False in a signed stage unless evidence is signed.")
    signer: str | None = Field(None, description="The verified signer, in a signed stage.")
    problems: list[str] = Field(
        default_factory=list, description="What reading found wrong, as `envctl audit` lists it."
    )
    metrics: list[RecordedMetric] = Field(
        default_factory=list,
        description="The metric values the stage's gates decided on, each claimed or measured.",
    )


class ModelStatus(Item):
    """One model across the stages."""

    model: str
    latest: str | None = Field(description="The newest registered version.")
    stages: dict[str, StageEvent | None] = Field(
        description="By stage: the event that put the current version there, or null."
    )


class StatusDocument(Document):
    """envctl status [NAME] --format json: each model's version per stage."""

    stages: list[str] = Field(description="The stages, in order.")
    models: list[ModelStatus]
    warnings: list[str] = Field(description="Tags that were ignored, and why.")


class RegisteredVersion(Item):
    """One registered version."""

    version: str
    commit: str
    by: str
    when: str | None = Field(description="ISO 8601.")
    active: bool = Field(description="False once deregistered.")


class HistoryDocument(Document):
    """envctl history NAME --format json: a model's ledger, newest first."""

    model: str
    events: list[StageEvent] = Field(description="Newest first, by n.")
    versions: list[RegisteredVersion] = Field(description="Newest version first.")
    warnings: list[str] = Field(description="Tags that were ignored, and why.")
