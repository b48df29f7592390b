"""Event order within a model. Unlike GTO, events are ordered by their `#N`, never by
tagger time (1-second resolution makes GTO pick the wrong "current" version when tags
are written fast). A tag without `#N` (GTO's default for register/deregister/
deprecate) carries no order of its own, so it is slotted after the highest-N tag of
its model that is older than it; that is the only place a timestamp is consulted.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import accumulate
from typing import TYPE_CHECKING, Any, NamedTuple

from envctl.registry.grammar import Action, TagName

if TYPE_CHECKING:
    from envctl.vcs import RawTag

_REMOVALS = (Action.DEREGISTER, Action.UNASSIGN, Action.DEPRECATE)  # a tuple: no Enum hash


class Event(NamedTuple):  # internal and built per tag: a tuple is cheaper to make
    name: TagName
    raw: RawTag
    key: tuple[Any, ...]


def ordered_events(items: list[tuple[TagName, RawTag]]) -> list[Event]:
    """`items` in event order. Counted tags sort by N; a counterless tag goes after
    the highest N whose tag is older than it. In the same second a counterless
    addition goes before the counted tags and a removal after them (register, assign,
    deregister is the only sensible reading). Equal keys: additions before removals,
    then tag name."""
    stamps = [raw.date.timestamp() if raw.date else 0.0 for _, raw in items]
    counted = sorted(
        (stamp, name.counter)
        for (name, _), stamp in zip(items, stamps, strict=True)
        if name.counter is not None
    )
    times = [stamp for stamp, _ in counted]
    highest = list(accumulate((n for _, n in counted), max))
    events = []
    for (name, raw), stamp in zip(items, stamps, strict=True):
        rank = 1 if name.action in _REMOVALS else 0
        if name.counter is not None:
            key: tuple[Any, ...] = (name.counter, 0, 0.0, rank, raw.name)
        else:
            at = (bisect_right if rank else bisect_left)(times, stamp)
            key = (highest[at - 1] if at else 0, 1, stamp, rank, raw.name)
        events.append(Event(name, raw, key))
    events.sort(key=lambda e: e.key)
    return events
