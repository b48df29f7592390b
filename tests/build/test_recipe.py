"""Image naming: where a tag is pushed, and which model version an operand names."""

from __future__ import annotations

import pytest

from envctl.build import recipe
from envctl.errors import InputError
from envctl.promotion.workspace import split_ref


@pytest.mark.parametrize(
    ("tag", "registry", "expected"),
    [
        ("envctl/dev:abc", "127.0.0.1:5000/team", "127.0.0.1:5000/team/envctl/dev:abc"),
        ("envctl/dev:abc", "reg.example.com/", "reg.example.com/envctl/dev:abc"),
        ("envctl/dev:abc", None, None),
        ("localhost:5000/dev:abc", "elsewhere", "localhost:5000/dev:abc"),
        ("ghcr.io/team/dev:abc", None, "ghcr.io/team/dev:abc"),
        ("localhost/dev:abc", None, "localhost/dev:abc"),
        ("team/dev:abc", None, None),
    ],
)
def test_push_ref_keeps_a_registry_host_else_prefixes_the_registry(
    tag: str, registry: str | None, expected: str | None
) -> None:
    assert recipe.push_ref(tag, registry) == expected


@pytest.mark.parametrize(
    ("operand", "expected"),
    [
        ("churn@v1.3.0", ("churn", "v1.3.0")),
        ("team/churn@v2.0.0-rc.1", ("team/churn", "v2.0.0-rc.1")),
    ],
)
def test_parse_model_ref_reads_registry_versions(operand: str, expected: tuple[str, str]) -> None:
    assert recipe.parse_model_ref(operand) == expected


@pytest.mark.parametrize("operand", ["churn@1.3.0", "churn@v1.3", "churn@v01.0.0", "churn@latest"])
def test_parse_model_ref_refuses_what_promote_refuses(operand: str) -> None:
    with pytest.raises(InputError) as built:
        recipe.parse_model_ref(operand)
    with pytest.raises(InputError) as promoted:
        split_ref(operand)

    assert built.value.message == promoted.value.message
    assert built.value.message.endswith(
        "is not a version like v1.2.3 (GTO's NAME@vMAJOR.MINOR.PATCH)"
    )


@pytest.mark.parametrize("operand", ["churn", "@v1.0.0"])
def test_parse_model_ref_needs_a_name_and_a_version(operand: str) -> None:
    with pytest.raises(InputError, match=r"is not a model version like churn@v1\.3\.0"):
        recipe.parse_model_ref(operand)
