"""status, history and image documents: what reading the registry reports, as
plain immutable data. Their models, with descriptions and JSON Schema, are in
envctl.output.registry_models and envctl.output.promotion; building these
instead keeps pydantic off `envctl status`, `history` and `image` (defining and
validating a model costs more than reading a ledger of hundreds of events).
Named tuples because a class of them is defined without generating code (a
dataclass costs its module several times as much at import). `to_json()` is
what the model's `model_dump(mode="json")` is, keys in the model's order
(`schema_version` first), and tests/output/test_registry_documents.py holds
the two to the same fields.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from envctl.output.plain import document_json, fields_json
from envctl.vocabulary import MetricBasis


class RecordedMetric(NamedTuple):
    """A metric value a gate decided on, as the record keeps it."""

    metric: str
    value: float
    basis: MetricBasis  # claimed (metrics gate) or measured (evaluate gate)
    source: str | None

    def to_json(self) -> dict[str, Any]:
        return fields_json(self)


class StageEvent(NamedTuple):
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
    gpu_bypass_reason: str | None
    rollback_of: str | None
    rollback_reason: str | None
    summary: str
    image: str | None
    image_id: str | None
    digest: str | None
    evidence: Literal["signed", "recorded", "none", "invalid"]
    counts: bool
    signer: str | None
    problems: list[str]
    metrics: list[RecordedMetric]

    def to_json(self) -> dict[str, Any]:
        return fields_json(self)


class ModelStatus(NamedTuple):
    """One model across the stages."""

    model: str
    latest: str | None
    stages: dict[str, StageEvent | None]

    def to_json(self) -> dict[str, Any]:
        return fields_json(self)


class StatusDocument(NamedTuple):
    """envctl status [NAME] --format json: each model's version per stage."""

    stages: list[str]
    models: list[ModelStatus]
    warnings: list[str]
    schema_version: Literal[1] = 1

    def to_json(self) -> dict[str, Any]:
        return document_json(self)


class RegisteredVersion(NamedTuple):
    """One registered version."""

    version: str
    commit: str
    by: str
    when: str | None
    active: bool

    def to_json(self) -> dict[str, Any]:
        return fields_json(self)


class HistoryDocument(NamedTuple):
    """envctl history NAME --format json: a model's ledger, newest first."""

    model: str
    events: list[StageEvent]
    versions: list[RegisteredVersion]
    warnings: list[str]
    schema_version: Literal[1] = 1

    def to_json(self) -> dict[str, Any]:
        return document_json(self)


class ImageDocument(NamedTuple):
    """envctl image NAME --stage STAGE --format json: the image a stage runs (its
    model: envctl.output.promotion.ImageDocument)."""

    model: str
    stage: str
    version: str
    tag: str
    digest: str
    image: str | None
    image_id: str | None
    content_fingerprint: str | None
    reused_from: str | None
    sbom: str | None
    sbom_artifact: str | None
    schema_version: Literal[1] = 1

    def to_json(self) -> dict[str, Any]:
        return document_json(self)
