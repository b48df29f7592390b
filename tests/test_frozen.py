"""envctl.frozen: a value made without __init__ is the one __init__ makes."""

from __future__ import annotations

import dataclasses
from functools import cached_property

import pytest

from envctl.frozen import made


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: str

    @cached_property
    def both(self) -> str:
        return f"{self.x}{self.y}"


def test_made_is_the_constructors_value_and_stays_frozen() -> None:
    value, again = made(Point, x=1, y="a"), Point(1, "a")
    assert (value, hash(value), repr(value), vars(value)) == (
        again, hash(again), repr(again), vars(again)
    )  # fmt: skip
    assert value.both == "1a"
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.x = 2  # type: ignore[misc]
