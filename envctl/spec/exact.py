"""Reading a value only when it is of exactly its type: what the two plain readers
(envctl.yaml's settings, envctl.spec.project_settings, and the environment spec,
envctl.spec.plain) share. A value the pydantic models would coerce (a bool for a
count, a number for a string) is theirs to judge: `Unsure` sends the whole document
to them, whose messages then name what is wrong. Imports nothing: reading
envctl.yaml (`status`) loads it too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")


class Unsure(Exception):
    """The plain rules cannot vouch for this value: the models decide."""


def text(raw: object) -> str:
    if type(raw) is not str:
        raise Unsure
    return raw


def integer(raw: object, low: int | None = None, high: int | None = None) -> int:
    """A whole number (not a bool), within [low, high] where given."""
    if type(raw) is not int or (low is not None and raw < low) or (high is not None and raw > high):
        raise Unsure
    return raw


def flag(raw: object) -> bool:
    if type(raw) is not bool:
        raise Unsure
    return raw


def listed(raw: object, item: Callable[[Any], _T], least: int = 0) -> list[_T]:
    """A list of at least `least` items, each read by `item`."""
    if type(raw) is not list or len(raw) < least:
        raise Unsure
    return [item(each) for each in raw]
