"""Event order within a model. Unlike GTO, events are ordered by their `#N`, never by
tagger time (1-second resolution makes GTO pick the wrong "current" version when tags
are written fast). A tag without `#N` (GTO's default for register/deregister/
deprecate) carries no order of its own, so it is slotted after the highest-N tag of
its model that is older than it; that is the only place a timestamp is consulted.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

from envctl.registry.grammar import Action, TagName

_REMOVALS = (Action.DEREGISTER, Action.UNASSIGN, Action.DEPRECATE)  # a tuple: no Enum hash
Item = tuple[TagName, int]  # a parsed name and the tag's position in its table


def ordered_events(items: list[Item], names: Sequence[str], stamps: Sequence[float]) -> list[Item]:
    """`items` in event order; `names` and `stamps` (tagger dates in seconds, 0 for
    none) are the tags' by position. Counted tags sort by N; a counterless tag goes
    after the highest N whose tag is older than it. In the same second a counterless
    addition goes before the counted tags and a removal after them (register,
    assign, deregister is the only sensible reading). Equal keys: additions before
    removals, then tag name."""
    counted = sorted((stamps[i], name.counter) for name, i in items if name.counter is not None)
    times = [stamp for stamp, _ in counted]
    highest = list(accumulate((n for _, n in counted), max))
    keys: list[tuple[Any, ...]] = []
    for name, i in items:
        rank = 1 if name.action in _REMOVALS else 0
        if name.counter is not None:
            keys.append((name.counter, 0, 0.0, rank, names[i]))
        else:
            at = (bisect_right if rank else bisect_left)(times, stamps[i])
            keys.append((highest[at - 1] if at else 0, 1, stamps[i], rank, names[i]))
    # Every key holds its tag's name: no two are equal.
    return [items[k] for k in sorted(range(len(items)), key=keys.__getitem__)]
