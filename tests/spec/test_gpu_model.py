"""compute.gpu: a plain count, or {count, vendor, driver, cuda, capability}."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from envctl.spec.model import Gpu, Spec, json_schema

BASE: dict[str, Any] = {
    "name": "dev",
    "version": 1,
    "image": {"base": "python:3.11-slim"},
    "python": "3.11",
}


def spec_with(gpu: Any) -> Spec:
    return Spec.model_validate({**BASE, "compute": {"gpu": gpu}})


def test_a_plain_number_is_a_count_and_stays_a_number_in_the_canonical_form() -> None:
    spec = spec_with(2)
    assert spec.compute.gpu == Gpu(count=2)
    assert spec.canonical()["compute"]["gpu"] == 2
    # the fingerprint of `gpu: 2` is what it was before the object form existed
    assert spec.fingerprint() == spec_with({"count": 2}).fingerprint()
    assert Spec.model_validate(BASE).compute.gpu.count == 0


def test_the_object_form_normalises_floors() -> None:
    gpu = spec_with(
        {"count": 1, "driver": "535.104", "cuda": "12.2", "capability": ">= 8.0"}
    ).compute.gpu
    assert (gpu.count, gpu.vendor, gpu.driver, gpu.cuda, gpu.capability) == (
        1,
        "nvidia",
        ">=535.104",
        "12.2",
        ">=8.0",
    )
    assert spec_with(gpu.model_dump()).compute.gpu == gpu


@pytest.mark.parametrize(
    ("gpu", "message"),
    [
        ({"count": 1, "driver": "latest"}, "driver: 'latest' is not a floor"),
        ({"count": 1, "capability": "<9"}, "capability: '<9' is not a floor"),
        ({"count": 1, "cuda": "12"}, "is not a CUDA version like"),
        ({"driver": ">=535"}, "Field required"),
        ({"count": 1, "vendr": "amd"}, "Extra inputs"),
        (-1, "greater than or equal to 0"),
    ],
)
def test_bad_gpu_declarations_are_refused(gpu: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        spec_with(gpu)
    assert len(info.value.errors()) == 1  # one problem, not one per union branch


def test_schema_accepts_both_spellings() -> None:
    schema = json_schema()
    gpu = schema["$defs"]["Compute"]["properties"]["gpu"]
    assert gpu["anyOf"][0] == {"type": "integer", "minimum": 0}
    assert gpu["anyOf"][1] == {"$ref": "#/$defs/Gpu"}
    assert set(schema["$defs"]["Gpu"]["properties"]) == {
        "count",
        "vendor",
        "driver",
        "cuda",
        "capability",
    }
