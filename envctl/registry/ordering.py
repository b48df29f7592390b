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
from operator import le
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
    removals, then tag name.

    The order `ordered_by_keys` gives, found with less work per tag when no N is
    used twice (every read orders every event): the counted tags sorted by N alone,
    and each counterless one placed after the counted tags up to its slot."""
    counted = [item for item in items if item[0].counter is not None]
    numbers = [name.counter or 0 for name, _ in counted]
    if len(set(numbers)) < len(numbers):
        return ordered_by_keys(items, names, stamps)  # an N used twice: rank and name decide
    order = sorted(range(len(counted)), key=numbers.__getitem__)
    counted, numbers = [counted[k] for k in order], [numbers[k] for k in order]
    loose = [item for item in items if item[0].counter is None]
    if not loose:
        return counted
    times, highest = _slots(numbers, [stamps[i] for _, i in counted])
    placed = sorted(
        (_slot(name, stamps[i], times, highest), stamps[i], _rank(name), names[i], n)
        for n, (name, i) in enumerate(loose)
    )
    found: list[Item] = []
    at = 0
    for slot, *_, n in placed:
        end = bisect_right(numbers, slot)  # the counted tags up to its slot go first
        found += counted[at:end]
        found.append(loose[n])
        at = max(at, end)
    return found + counted[at:]


def _slots(numbers: list[int], times: list[float]) -> tuple[list[float], list[int]]:
    """The counted tags' times in order, and the highest N among those up to each."""
    if all(map(le, times, times[1:])):  # the common case: each tag no older than the one before
        return times, numbers  # numbers ascend: each is the highest so far
    by_time = sorted(range(len(times)), key=times.__getitem__)
    return [times[k] for k in by_time], list(accumulate((numbers[k] for k in by_time), max))


def _slot(name: TagName, stamp: float, times: list[float], highest: list[int]) -> int:
    """The highest N among the counted tags older than a counterless one (for a
    removal: not newer than it); 0 when there is none."""
    at = (bisect_right if _rank(name) else bisect_left)(times, stamp)
    return highest[at - 1] if at else 0


def _rank(name: TagName) -> int:
    return 1 if name.action in _REMOVALS else 0


def ordered_by_keys(items: list[Item], names: Sequence[str], stamps: Sequence[float]) -> list[Item]:
    """`ordered_events`, each tag given its whole sort key."""
    counted = sorted((stamps[i], name.counter) for name, i in items if name.counter is not None)
    times = [stamp for stamp, _ in counted]
    highest = list(accumulate((n for _, n in counted), max))
    keys: list[tuple[Any, ...]] = []
    for name, i in items:
        rank = _rank(name)
        if name.counter is not None:
            keys.append((name.counter, 0, 0.0, rank, names[i]))
        else:
            at = (bisect_right if rank else bisect_left)(times, stamps[i])
            keys.append((highest[at - 1] if at else 0, 1, stamps[i], rank, names[i]))
    # Every key holds its tag's name: no two are equal.
    return [items[k] for k in sorted(range(len(items)), key=keys.__getitem__)]
