"""The stage-order rule and the default version: pure functions of a Registry."""

from __future__ import annotations

import pytest

from envctl.errors import InputError
from envctl.promotion.rules import default_version, order_problem
from envctl.registry import Registry
from envctl.registry.target import Target
from tests.registry.test_registry import C1, C2, C3, reg, tag

# v1.0.0 at C1 went dev then staging; v1.1.0 at C2 is in dev; v1.2.0 at C3 is only registered.
REGISTRY = reg(
    tag("m@v1.0.0", C1, at=1),
    tag("m@v1.1.0", C2, at=2),
    tag("m@v1.2.0", C3, at=3),
    tag("m#dev#1", C1, at=4),
    tag("m#staging#2", C1, at=5),
    tag("m#dev#3", C2, at=6),
)


def target(version: str, stage: str, from_stage: str | None) -> Target:
    return Target("m", version, C1, stage, from_stage, None)


ORDER: list[tuple[str, str, str | None, str]] = [
    ("v1.2.0", "dev", None, "ok"),  # the first stage has no stage before it
    ("v1.0.0", "staging", "dev", "ok"),
    ("v1.1.0", "staging", "dev", "ok"),
    ("v1.0.0", "prod", "staging", "ok"),
    ("v1.2.0", "staging", "dev", "m@v1.2.0 has not entered dev, the stage before staging"),
    ("v1.1.0", "prod", "staging", "m@v1.1.0 has not entered staging, the stage before prod"),
]


@pytest.mark.parametrize(("version", "stage", "from_stage", "problem"), ORDER)
def test_order_problem(version: str, stage: str, from_stage: str | None, problem: str) -> None:
    assert order_problem(REGISTRY, target(version, stage, from_stage)) == problem


def test_order_problem_counts_having_entered_even_if_replaced_since() -> None:
    # v1.0.0 entered dev (#1) and was replaced there by v1.1.0 (#3): it still did.
    assert order_problem(REGISTRY, target("v1.0.0", "staging", "dev")) == "ok"


def test_order_problem_unknown_model() -> None:
    problem = order_problem(reg(), Target("x", "v1.0.0", C1, "prod", "staging", None))
    assert problem == "x@v1.0.0 has not entered staging, the stage before prod"


DEFAULTS: list[tuple[Registry, str | None, str]] = [
    (REGISTRY, None, "v1.2.0"),  # the first stage: the latest registered version
    (REGISTRY, "dev", "v1.1.0"),  # else the version now in the stage before
    (REGISTRY, "staging", "v1.0.0"),
]


@pytest.mark.parametrize(("registry", "from_stage", "version"), DEFAULTS)
def test_default_version(registry: Registry, from_stage: str | None, version: str) -> None:
    assert default_version(registry, "m", from_stage) == version


@pytest.mark.parametrize(
    ("registry", "model", "from_stage", "message"),
    [
        (reg(), "m", None, "m has no registered version; envctl register m v1.0.0"),
        (
            REGISTRY,
            "m",
            "prod",
            "no version of m is in prod; name one: envctl promote m@vX.Y.Z --stage ...",
        ),
        (reg(), "m", "dev", "no version of m is in dev"),
    ],
)
def test_default_version_refuses(
    registry: Registry, model: str, from_stage: str | None, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        default_version(registry, model, from_stage)
    assert caught.value.message.startswith(message)


def test_target_is_frozen() -> None:
    with pytest.raises(AttributeError):
        target("v1.0.0", "dev", None).version = "v2.0.0"  # type: ignore[misc]  # frozen: the point
