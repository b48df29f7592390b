"""Frozen dataclass values made in bulk. A frozen class's generated __init__ sets
each field through object.__setattr__ (the class's own __setattr__ refuses), which
makes it several times dearer than a plain class's; reading the registry makes one
value per tag, and at 5,000 tags those constructors were a third of the read."""

from __future__ import annotations

from typing import Any, TypeVar

_T = TypeVar("_T")


def made(cls: type[_T], **fields: Any) -> _T:
    """The value `cls(**fields)`, made without calling its __init__. Only for frozen
    dataclasses whose __init__ sets the fields and nothing more (no __post_init__,
    no slots, every field given): the tests of each caller hold both ways equal."""
    value = object.__new__(cls)
    value.__dict__.update(fields)
    return value
