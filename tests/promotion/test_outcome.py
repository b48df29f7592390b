"""The outcome value and its JSON document (the shape scripts and CI read)."""

from __future__ import annotations

import pydantic
import pytest

from envctl.output.promotion import PromotionDocument
from envctl.promotion.handoff import StageImage
from envctl.promotion.outcome import Outcome
from envctl.registry.results import GateResult
from envctl.registry.target import Target
from envctl.supply.sbom import Recorded

TARGET = Target("churn", "v1.1.0", "c" * 40, "staging", "dev", "v1.0.0")
METRICS = GateResult(
    "metrics",
    "failed",
    "accuracy 0.8 is not >= 0.9",
    {"file": "metrics.json", "metrics": [{"metric": "accuracy", "value": 0.8}]},
)
FIELDS = [
    "schema_version",
    "status",
    "model",
    "version",
    "commit",
    "stage",
    "from_stage",
    "replaces",
    "order",
    "compatibility",
    "findings",
    "gates",
    "planned_gates",
    "image",
    "image_id",
    "tag",
    "pushed",
    "bypass_reason",
    "digest",
    "content_fingerprint",
    "reused_from",
    "image_differences",
    "sbom",
    "sbom_artifact",
    "policy",
    "not_before",
    "gpu_bypass",
    "runner",
]


def test_outcome_to_json_fields_in_order() -> None:
    assert list(Outcome(TARGET, "planned", "ok").to_json()) == FIELDS


def test_outcome_to_json_blocked_carries_the_gates_and_their_evidence() -> None:
    skipped = GateResult("http", "skipped", "not run: an earlier gate failed")
    outcome = Outcome(
        TARGET,
        "blocked",
        "ok",
        findings=({"path": "packages.numpy", "blocks": False},),
        gates=(METRICS, skipped),
        planned_gates=("metrics", "http"),
        image="envctl/staging:abc",
        image_id="sha256:abc",
    )
    assert outcome.to_json() == {
        "schema_version": 1,
        "status": "blocked",
        "model": "churn",
        "version": "v1.1.0",
        "commit": "c" * 40,
        "stage": "staging",
        "from_stage": "dev",
        "replaces": "v1.0.0",
        "order": "ok",
        "compatibility": [],
        "findings": [{"path": "packages.numpy", "blocks": False}],
        "gates": [METRICS.to_json(), skipped.to_json()],
        "planned_gates": ["metrics", "http"],
        "image": "envctl/staging:abc",
        "image_id": "sha256:abc",
        "tag": None,
        "pushed": False,
        "bypass_reason": None,
        "digest": None,
        "content_fingerprint": None,
        "reused_from": None,
        "image_differences": [],
        "sbom": None,
        "sbom_artifact": None,
        "policy": None,
        "not_before": None,
        "gpu_bypass": None,
        "runner": None,
    }


def test_outcome_bypass_is_the_documents_bypass_reason() -> None:
    outcome = Outcome(TARGET, "promoted", "not entered", bypass="hotfix", tag="churn#staging#4")
    data = outcome.to_json()
    assert (data["bypass_reason"], data["tag"], data["status"]) == (
        "hotfix",
        "churn#staging#4",
        "promoted",
    )


def test_outcome_is_frozen() -> None:
    with pytest.raises(AttributeError):
        Outcome(TARGET, "planned", "ok").status = "promoted"  # type: ignore[misc]  # frozen: the point


def test_promotion_document_is_strict() -> None:
    data = Outcome(TARGET, "waiting", "ok").to_json()
    assert PromotionDocument.model_validate(data).to_json() == data
    with pytest.raises(pydantic.ValidationError):
        PromotionDocument.model_validate({**data, "extra": 1})
    with pytest.raises(pydantic.ValidationError):
        PromotionDocument.model_validate({**data, "status": "maybe"})
    with pytest.raises(pydantic.ValidationError):
        PromotionDocument.model_validate({**data, "schema_version": 2})


def test_outcome_to_json_carries_the_image_the_stage_reused() -> None:
    image = StageImage(
        ref="envctl/model-churn:v1.1.0-0123456789ab",
        id="sha256:" + "1" * 64,
        digest="127.0.0.1:5000/t/envctl/model-churn@sha256:" + "2" * 64,
        content_fingerprint="0123456789ab" + "0" * 52,
        reused_from="dev",
    )
    data = Outcome(TARGET, "promoted", "ok", stage_image=image).to_json()
    assert (data["digest"], data["reused_from"], data["image_differences"]) == (
        image.digest,
        "dev",
        [],
    )
    assert data["content_fingerprint"] == image.content_fingerprint
    assert (data["sbom"], data["sbom_artifact"]) == (None, None)


def test_outcome_to_json_and_the_record_carry_the_sbom() -> None:
    sbom = Recorded("cyclonedx-json", "sha256:" + "3" * 64, "r:5000/t/m@sha256:" + "4" * 64)
    image = StageImage(
        ref="envctl/model-churn:v1.1.0-0123456789ab",
        id="sha256:" + "1" * 64,
        digest="r:5000/t/m@sha256:" + "2" * 64,
        content_fingerprint="0" * 64,
        reused_from=None,
        sbom=sbom,
    )
    data = Outcome(TARGET, "promoted", "ok", stage_image=image).to_json()
    assert (data["sbom"], data["sbom_artifact"]) == (sbom.sha256, sbom.artifact)
    assert image.to_json()["sbom"] == sbom.to_json()
    assert StageImage.from_json(image.to_json()) == image
