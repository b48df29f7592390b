"""Frozen dataclass values made in bulk. A frozen class's generated __init__ sets
each field through object.__setattr__ (the class's own __setattr__ refuses), which
makes it several times dearer than a plain class's; reading the registry makes one
value per tag, and at 5,000 tags those constructors were a third of the read."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar, cast, dataclass_transform

_T = TypeVar("_T")


def made(cls: type[_T], **fields: Any) -> _T:
    """The value `cls(**fields)`, made without calling its __init__. Only for frozen
    dataclasses whose __init__ sets the fields and nothing more (no __post_init__,
    no slots, every field given): the tests of each caller hold both ways equal."""
    value = object.__new__(cls)
    value.__dict__.update(fields)
    return value


class _Factory:
    """A field's default made anew for each value (`field(default_factory=list)`)."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], _T]) -> _T:
    """A default made anew for each value, as dataclasses.field's."""
    return cast(_T, _Factory(default_factory))


_V = TypeVar("_V", bound="Value")


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(field,))
class Value:
    """A frozen value with keyword fields, declared as a dataclass is (annotations,
    defaults, `field(default_factory=...)`), without generating code: defining a
    class is as cheap as any class, where @dataclass costs a module of two dozen
    classes about three times `python -c pass`. Equality is by type and fields."""

    _names: ClassVar[frozenset[str]] = frozenset()
    _order: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}
    _factories: ClassVar[tuple[tuple[str, Callable[[], Any]], ...]] = ()

    def __init_subclass__(cls) -> None:
        own = inspect.get_annotations(cls)
        order = tuple(
            n for n, a in own.items() if not (n.startswith("_") or str(a).startswith("ClassVar"))
        )
        defaults: dict[str, Any] = {}
        factories: list[tuple[str, Callable[[], Any]]] = []
        for name in order:
            if name not in cls.__dict__:
                continue
            default = cls.__dict__[name]
            if isinstance(default, _Factory):
                factories.append((name, default.make))
                delattr(cls, name)
            else:
                defaults[name] = default
        cls._order, cls._names = order, frozenset(order)
        cls._defaults, cls._factories = defaults, tuple(factories)

    def __init__(self, **fields: Any) -> None:
        own = self.__dict__
        own.update(self._defaults)
        for name, make in self._factories:
            if name not in fields:
                own[name] = make()
        own.update(fields)
        if len(own) != len(self._names) or not own.keys() <= self._names:
            unknown = sorted(own.keys() - self._names)
            missing = sorted(self._names - own.keys())
            raise TypeError(f"{type(self).__name__}: unknown {unknown}, missing {missing}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot set {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot delete {name}")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    def __hash__(self) -> int:
        return hash((type(self), *(self.__dict__[name] for name in self._order)))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={self.__dict__[name]!r}" for name in self._order)
        return f"{type(self).__name__}({shown})"

    def replace(self: _V, **changes: Any) -> _V:
        """A copy with `changes`, as dataclasses.replace."""
        return type(self)(**{**self.__dict__, **changes})

    def fields(self) -> dict[str, Any]:
        """The fields, in declaration order."""
        return {name: self.__dict__[name] for name in self._order}
