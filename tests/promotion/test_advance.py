"""Which stages an advance has left: the furthest stage entered, read from the ledger."""

from __future__ import annotations

import pytest

from envctl.promotion.advance import furthest_entered, stages_left
from tests.registry.test_registry import C1, C2, C3, tag
from tests.registry.test_registry import reg as make_registry

STAGES = ["dev", "staging", "prod"]


@pytest.mark.parametrize(
    ("entered", "until", "left"),
    [
        (None, "prod", ["dev", "staging", "prod"]),
        ("dev", "prod", ["staging", "prod"]),
        ("staging", "staging", []),
        ("prod", "prod", []),
        (None, "dev", ["dev"]),
        ("prod", "dev", []),
    ],
)
def test_stages_left(entered: str | None, until: str, left: list[str]) -> None:
    assert stages_left(STAGES, entered, until) == left


# v1.0.0 at C1 went dev, staging, prod; v1.1.0 at C2 entered dev, then prod
# (forced past staging), replacing v1.0.0 there; v1.2.0 at C3 is only registered.
REGISTRY = make_registry(
    tag("m@v1.0.0", C1, at=1),
    tag("m@v1.1.0", C2, at=2),
    tag("m@v1.2.0", C3, at=3),
    tag("m#dev#1", C1, at=4),
    tag("m#staging#2", C1, at=5),
    tag("m#prod#3", C1, at=6),
    tag("m#dev#4", C2, at=7),
    tag("m#prod#5", C2, at=8),
)


@pytest.mark.parametrize(
    ("version", "entered"),
    [
        ("v1.0.0", "prod"),  # replaced in prod since: it entered it, it is not taken again
        ("v1.1.0", "prod"),  # the furthest stage, not the first or the latest event
        ("v1.2.0", None),
        ("v9.9.9", None),
    ],
)
def test_furthest_entered(version: str, entered: str | None) -> None:
    assert furthest_entered(REGISTRY, "m", version, STAGES) == entered


def test_furthest_entered_of_an_unknown_model() -> None:
    assert furthest_entered(REGISTRY, "other", "v1.0.0", STAGES) is None
    assert furthest_entered(make_registry(), "m", "v1.0.0", STAGES) is None
