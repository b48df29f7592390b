"""One model's events judged on demand, each at most once. Pure.

The audit's order rule reads the ledger as it stood before an event: a version
enters a stage only after it entered the stage before (or that stage itself)
through an event that counts. Replaying every event in #N order answers that for
all of them; `status`, `image` and `history` need the verdicts of a few events
only (each stage's newest counted assignment, one model's events), so this
answers the same question per event: did an earlier assignment of (version,
stage) count? Each (version, stage) is scanned oldest first and at most once, so
judging every event costs what the replay in order costs, and judging one costs
only the events its verdict depends on. Which events those are is the rules'
own: a verdict here is computed by the same judge, never recalled from a cache.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from types import MappingProxyType
from typing import Generic, TypeVar

from envctl.registry.grammar import Action
from envctl.registry.state import EventHead, Model, StageEvent, event_heads

Entered = Callable[[str, str], bool]  # (version, stage) entered before this event?
V = TypeVar("V")
_ASSIGN = Action.ASSIGN  # read per event: a member read from its Enum class costs a lookup
_KEY = itemgetter(2, 0, 1)  # of an event's head: version, stage, action
_SCANS = 16


class ModelReplay(Generic[V]):
    """`verdict(position)` of `model.events[position]`; `judge(event, entered)`
    decides one event, asking `entered` about the events before it."""

    def __init__(
        self,
        model: Model,
        judge: Callable[[StageEvent, Entered], V],
        counts: Callable[[V], bool],
        judged: dict[str, V] | None = None,
    ) -> None:
        self.model = model
        self._judge = judge
        self._counts = counts
        self._verdicts: dict[int, V] = {}
        self.judged = judged if judged is not None else {}  # tag -> verdict, once judged
        self._assigned: dict[tuple[str, str], list[int]] | None = None
        self._keys: list[tuple[str | None, str, Action]] | None = None
        self._looked = 0  # positions looked up by scanning, before `_assigned` is built
        self._scanned: dict[tuple[str, str], int] = {}  # key -> the positions before examined
        self._first: dict[tuple[str, str], int] = {}  # key -> its first counted position

    def verdict(self, position: int) -> V:
        found = self._verdicts.get(position)
        if found is None:
            event = self.model.events[position]
            found = self._judge(event, self._entered_before(position))
            self._verdicts[position] = self.judged[event.tag] = found
        return found

    def _entered_before(self, position: int) -> Entered:
        def entered(version: str, stage: str) -> bool:
            return self._has_counted((version, stage), position)

        return entered

    def _has_counted(self, key: tuple[str, str], before: int) -> bool:
        """Whether an assignment of `key` (version, stage) at a position before
        `before` counts. The positions of `key` are examined oldest first, each
        once: one examined and found not to count is never asked about again."""
        first = self._first.get(key)
        if first is not None:
            return first < before
        at = self._scanned.get(key, 0)
        while (position := self._next(key, at)) is not None and position < before:
            at = position + 1
            self._scanned[key] = at  # before judging: its own rule asks about earlier ones
            if self._counts(self.verdict(position)):
                self._first[key] = position
                return True
        return False

    def _next(self, key: tuple[str, str], at: int) -> int | None:
        """The first position from `at` on that assigns `key`, or None. The first
        _SCANS are found by a search (in C) of the events' keys: status and image
        ask a few. Then every key's positions are indexed at once: audit and
        history ask about every event, and a search per key would cost more."""
        if self._assigned is None and self._looked < _SCANS:
            self._looked += 1
            if self._keys is None:
                self._keys = list(map(_KEY, self._heads()))
            try:
                return self._keys.index((*key, _ASSIGN), at)
            except ValueError:
                return None
        positions = self._positions().get(key, [])
        found = bisect_left(positions, at)
        return positions[found] if found < len(positions) else None

    def _positions(self) -> dict[tuple[str, str], list[int]]:
        if self._assigned is None:
            self._assigned = {}
            for position, (stage, action, version, _, _, _, _) in enumerate(self._heads()):
                if version and action is _ASSIGN:
                    self._assigned.setdefault((version, stage), []).append(position)
        return self._assigned

    def _heads(self) -> Sequence[EventHead]:
        return event_heads(self.model.events)

    def stages(self) -> Mapping[str, StageEvent]:
        """The stage -> event in force, counting only the events that count: per
        stage, among (stage, version) pairs whose last counted event is an
        assignment of an active version, the latest (`state.current_stages`),
        found from the newest event back, judging only the events it passes."""
        heads = self._heads()
        inactive = {v.version for v in self.model.versions if not v.active}
        left = set(map(itemgetter(0), heads))
        found: dict[str, StageEvent] = {}
        seen: set[tuple[str, str]] = set()
        for position in range(len(heads) - 1, -1, -1):
            if not left:
                break
            stage, action, version, commit, _, _, _ = heads[position]
            pair = (stage, version or commit)
            if stage not in left or pair in seen:
                continue
            if not self._counts(self.verdict(position)):
                continue
            seen.add(pair)
            if action is _ASSIGN and pair[1] not in inactive:
                found[stage] = self.model.events[position]
                left.discard(stage)
        return MappingProxyType(dict(sorted(found.items())))
