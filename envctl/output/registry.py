"""status and history documents: what reading the registry reports, as plain
frozen data. Their models, with descriptions and JSON Schema, are in
envctl.output.registry_models (envctl.output.promotion names them); building
these instead keeps pydantic off `envctl status`, `history` and `image`
(defining and validating a model costs more than reading a ledger of hundreds of
events). `to_json()` is what the model's `model_dump(mode="json")` is, and
tests/output/test_registry_documents.py holds the two to the same fields.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, kw_only=True)
class _Plain:
    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class StageEvent(_Plain):
    """One assignment of a version to a stage (a promotion or a rollback)."""

    n: int | None
    model: str
    stage: str
    action: str  # "assign" or "unassign": the registry's EventAction value
    version: str | None
    commit: str
    by: str
    when: str | None
    tag: str
    bypass_reason: str | None
    rollback_of: str | None
    rollback_reason: str | None = None
    summary: str
    image: str | None
    image_id: str | None
    digest: str | None
    evidence: Literal["signed", "recorded", "none", "invalid"] = "recorded"
    counts: bool = True
    signer: str | None = None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ModelStatus(_Plain):
    """One model across the stages."""

    model: str
    latest: str | None
    stages: dict[str, StageEvent | None]


@dataclass(frozen=True, kw_only=True)
class StatusDocument(_Plain):
    """envctl status [NAME] --format json: each model's version per stage."""

    schema_version: Literal[1] = 1
    stages: list[str]
    models: list[ModelStatus]
    warnings: list[str]


@dataclass(frozen=True, kw_only=True)
class RegisteredVersion(_Plain):
    """One registered version."""

    version: str
    commit: str
    by: str
    when: str | None
    active: bool


@dataclass(frozen=True, kw_only=True)
class HistoryDocument(_Plain):
    """envctl history NAME --format json: a model's ledger, newest first."""

    schema_version: Literal[1] = 1
    model: str
    events: list[StageEvent]
    versions: list[RegisteredVersion]
    warnings: list[str]


@dataclass(frozen=True, kw_only=True)
class ImageDocument(_Plain):
    """envctl image NAME --stage STAGE --format json: the image a stage runs (its
    model: envctl.output.promotion.ImageDocument)."""

    schema_version: Literal[1] = 1
    model: str
    stage: str
    version: str
    tag: str
    digest: str
    image: str | None
    image_id: str | None
    content_fingerprint: str | None
    reused_from: str | None
