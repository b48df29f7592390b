"""Which image a promotion reuses: the previous stage's record, and the content
differences it records when the image is a new one."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from envctl import registry as reg
from envctl.errors import EngineError, InputError
from envctl.promotion.handoff import (
    StageImage,
    content_differences,
    fetch_running_image,
    previous_image,
    recorded_image,
    running_image,
)
from envctl.registry.target import Target
from tests.registry.test_registry import reg as reg_of

IMAGE = {"ref": "envctl/model-churn:v1.0.0-abc", "id": "sha256:1", "content_fingerprint": "abc"}


def event(stage: str, version: str, record: dict[str, Any] | None) -> reg.StageEvent:
    message = "free text" if record is None else reg.format_record("promotes", record)
    return reg.StageEvent(
        message=message,
        model="churn",
        stage=stage,
        action=reg.Action.ASSIGN,
        counter=1,
        version=version,
        commit="c" * 40,
        author="Ada",
        author_email="ada@example.com",
        date=datetime(2026, 1, 1, tzinfo=timezone.utc),
        tag=f"churn#{stage}#1",
    )


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"image": IMAGE}, IMAGE),
        ({"image": "sha256:1"}, None),  # records from before image objects
        ({"image": None}, None),  # a rollback
        (None, None),  # a tag GTO wrote
    ],
)
def test_recorded_image_is_an_object_or_nothing(
    record: dict[str, Any] | None, expected: dict[str, Any] | None
) -> None:
    assert recorded_image(event("dev", "v1.0.0", record)) == expected
    assert recorded_image(None) is None


def registry_with(*events: reg.StageEvent) -> reg.Registry:
    model = reg.Model("churn", (), events, {e.stage: e for e in events}, deprecated=False)
    return reg.Registry(models={"churn": model}, counters={}, approvals={}, warnings=())


def test_previous_image_is_the_previous_stages_for_the_same_version() -> None:
    registry = registry_with(event("dev", "v1.0.0", {"image": IMAGE}))
    same = Target("churn", "v1.0.0", "c" * 40, "staging", "dev", None)
    assert previous_image(registry, same) == IMAGE
    other = Target("churn", "v1.1.0", "c" * 40, "staging", "dev", None)
    assert previous_image(registry, other) is None
    first = Target("churn", "v1.0.0", "c" * 40, "dev", None, None)
    assert previous_image(registry, first) is None


def test_content_differences_keep_findings_about_the_image() -> None:
    findings = [
        {"path": "packages.rich", "message": "dev has rich 15.0.0; staging does not"},
        {"path": "python.version", "message": "Python 3.11 vs 3.12"},
        {"path": "data.allowed.research", "message": "research data"},
        {"path": "compute.cpu", "message": "8 vs 2 CPUs"},
        {"path": "image.base", "message": "another base image"},
    ]
    assert content_differences(findings) == (
        "dev has rich 15.0.0; staging does not",
        "Python 3.11 vs 3.12",
        "another base image",
    )


def test_content_differences_say_so_when_the_spec_diff_shows_none() -> None:
    (only,) = content_differences([{"path": "compute.cpu", "message": "8 vs 2 CPUs"}])
    assert only.startswith("the image content differs (lock, templates or model files)")


def test_stage_image_json_is_the_record() -> None:
    image = StageImage("r", "sha256:1", None, "abc", None, ("x",))
    assert image.to_json() == {
        "ref": "r",
        "id": "sha256:1",
        "digest": None,
        "content_fingerprint": "abc",
        "reused_from": None,
        "differences": ["x"],
    }


def test_stage_image_from_json_round_trips() -> None:
    image = StageImage("r", "sha256:1", "reg/r@sha256:2", "abc", "staging", ("x",))
    assert StageImage.from_json(image.to_json()) == image
    assert StageImage.from_json({**image.to_json(), "restored_from": "churn#prod#4"}) == image


@pytest.mark.parametrize(
    "record",
    [{}, {**IMAGE, "ref": None}, {**IMAGE, "id": 7}, {**IMAGE, "content_fingerprint": ""}],
)
def test_stage_image_from_json_needs_ref_id_and_fingerprint(record: dict[str, Any]) -> None:
    assert StageImage.from_json(record) is None


def test_running_image_of_an_empty_stage_says_how_to_fill_it() -> None:
    # diff --images, scan and sbom --stage all ask this of a new project's empty prod.
    with pytest.raises(InputError) as raised:
        running_image(reg_of(), "churn", "prod")

    assert str(raised.value) == (
        "no version of churn is in prod, so it runs no image: "
        "promote one there first (envctl promote churn@VERSION --to prod)"
    )


@pytest.mark.docker
@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (
            "sha256:" + "0" * 64,
            "churn#prod#1's image sha256:{z} (churn@v1.0.0 in prod) is not in this engine "
            "(removed since, or promoted on another engine) and its record names no registry "
            "digest to pull it by: set registry: in envctl.yaml so that promotions push their "
            "images and record one",
        ),
        (
            "127.0.0.1:1/churn@sha256:" + "0" * 64,
            "churn#prod#1's image 127.0.0.1:1/churn@sha256:{z} (churn@v1.0.0 in prod) is not in "
            "this engine and cannot be pulled (",
        ),
    ],
)
def test_a_stage_s_image_gone_from_the_engine_is_named_as_the_stage_s_not_a_base_image(
    ref: str, message: str
) -> None:
    # Was "base image sha256:... is not present ...; pin one your engine can reach".
    with pytest.raises(EngineError) as raised:
        fetch_running_image(event("prod", "v1.0.0", {"image": {"id": ref}}), ref)

    assert str(raised.value).startswith(message.format(z="0" * 64))
    assert "base image" not in str(raised.value)
