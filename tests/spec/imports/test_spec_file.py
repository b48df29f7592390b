"""The spec text an import writes, and the defaults: format, name, base."""

from __future__ import annotations

import pytest
import yaml

from envctl.spec import yamldoc
from envctl.spec.imports import Imported, default_name, detect_format, spec_text
from envctl.spec.loading import read_spec


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("requirements.txt", "requirements"),
        ("reqs/prod.in", "requirements"),
        ("environment.yml", "conda"),
        ("conda/env.yaml", "conda"),
        ("pyproject.toml", "pyproject"),
        ("uv.lock", "uv-lock"),
        ("poetry.lock", None),
    ],
)
def test_detect_format_by_name(filename: str, expected: str | None) -> None:
    assert detect_format(filename) == expected


@pytest.mark.parametrize(
    ("operand", "expected"),
    [
        ("requirements.txt", "requirements"),
        ("reqs/Requirements-Dev.txt", "requirements-dev"),
        ("environment.yml", "environment"),
        ("my env.v2.txt", "my-env-v2"),
        ("3rdparty.txt", "imported"),
        ("image:team/model:1", "imported"),
    ],
)
def test_default_name_is_the_files_stem(operand: str, expected: str) -> None:
    assert default_name(operand) == expected


def test_spec_text_validates_and_round_trips() -> None:
    imported = Imported(
        source="reqs/requirements.txt",
        format="requirements",
        python="3.12",
        python_from="source",
        platform="linux/arm64",
        packages=(("requests[socks]", "==2.32.3"), ("six", "==1.16.0")),
    )
    text = spec_text("prod", imported, version=4, schema="envctl-environment.schema.json")
    spec = read_spec(yamldoc.parse(text), "prod.yaml")
    assert spec.packages == {"requests[socks]": "==2.32.3", "six": "==1.16.0"}
    assert (spec.name, spec.version, spec.python) == ("prod", 4, "3.12")
    assert (spec.image.base, spec.image.platform) == ("python:3.12-slim-bookworm", "linux/arm64")
    assert spec.description == "imported from reqs/requirements.txt"
    assert text.startswith("# yaml-language-server: $schema=../envctl-environment.schema.json\n")


def test_spec_text_without_packages() -> None:
    imported = Imported("e.yml", "conda", "3.11", "source", "linux/amd64", ())
    data = yaml.safe_load(spec_text("dev", imported))
    assert data["packages"] == {} and "platform" not in data["image"]
