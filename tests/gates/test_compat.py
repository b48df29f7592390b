"""The compatibility gate's pure half: a model's requirements against a spec."""

from __future__ import annotations

from typing import Any

import pytest

from envctl.gates.compat import unmet_requirements
from envctl.spec.model import validated
from envctl.spec.project_file import Requires
from envctl.spec.types import Spec


def spec(**overrides: Any) -> Spec:
    data: dict[str, Any] = {
        "name": "staging",
        "version": 1,
        "image": {"base": "python:3.11-slim"},
        "python": "3.11",
        "packages": {"scikit-learn": "==1.5.2", "numpy": ">=1.26", "pandas": "*"},
        "data": {"allowed": ["internal", "public"]},
        "compute": {"cpu": 4, "memory": "8Gi", "gpu": 0, "engines": ["spark"]},
    }
    data.update(overrides)
    return validated(Spec, data)


MET: list[dict[str, Any]] = [
    {},
    {"python": ">=3.11"},
    {"python": "~=3.11"},
    {"packages": {"scikit_learn": ">=1.5,<1.6"}},  # names compared PEP 503-normalised
    {"packages": {"numpy": ">=2"}},  # not pinned in the spec: nothing to compare
    {"packages": {"pandas": "*"}},
    {"data": ["internal"]},
    {"cpu": 4, "memory": "8Gi", "engines": ["spark"]},
    {"cpu": "500m", "memory": "512Mi"},
]


@pytest.mark.parametrize("requires", MET)
def test_unmet_requirements_none(requires: dict[str, Any]) -> None:
    assert unmet_requirements(Requires.model_validate(requires), spec()) == []


UNMET: list[tuple[dict[str, Any], str]] = [
    ({"python": ">=3.12"}, "the model needs Python >=3.12; staging has 3.11"),
    ({"packages": {"torch": ">=2"}}, "the model needs torch >=2; staging does not have it"),
    (
        {"packages": {"scikit-learn": ">=1.6"}},
        "the model needs scikit-learn>=1.6; staging pins scikit-learn==1.5.2",
    ),
    (
        {"data": ["pii", "internal", "secret"]},
        "the model reads pii, secret data at inference; staging allows only internal, public",
    ),
    ({"cpu": 8}, "the model needs 8 cpu; staging has 4"),
    ({"memory": "16Gi"}, "the model needs 16Gi memory; staging has 8Gi"),
    ({"gpu": 1}, "the model needs 1 GPU(s); staging has 0"),
    ({"engines": ["ray", "spark"]}, "the model needs ray; staging does not provide it"),
]


@pytest.mark.parametrize(("requires", "problem"), UNMET)
def test_unmet_requirements_one(requires: dict[str, Any], problem: str) -> None:
    assert unmet_requirements(Requires.model_validate(requires), spec()) == [problem]


def test_unmet_requirements_no_data_allowed() -> None:
    problems = unmet_requirements(Requires(data=["internal"]), spec(data={"allowed": []}))
    assert problems == ["the model reads internal data at inference; staging allows only none"]


def test_unmet_requirements_unknown_compute_is_not_a_problem() -> None:
    # A spec that does not say its cpu or memory is not held against the model.
    assert (
        unmet_requirements(Requires.model_validate({"cpu": 64, "memory": "1Ti"}), spec(compute={}))
        == []
    )


def test_unmet_requirements_lists_every_problem_in_order() -> None:
    requires = Requires.model_validate({"python": ">=3.12", "gpu": 2, "data": ["pii"]})
    assert unmet_requirements(requires, spec()) == [
        "the model needs Python >=3.12; staging has 3.11",
        "the model reads pii data at inference; staging allows only internal, public",
        "the model needs 2 GPU(s); staging has 0",
    ]
