"""What a promotion reports while its gates run: each gate as it starts and as it
ends (with its result, which holds how long it took). The CLI decides how to
show them (a live board on a terminal, one line per gate in CI, nothing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from envctl.registry.results import GateResult
from envctl.vocabulary import GateKind


@dataclass(frozen=True)
class GateEvent:
    index: int  # 1-based position in the stage's gates
    total: int
    kind: GateKind
    result: GateResult | None = None  # None: the gate started; else it ended

    @property
    def is_last(self) -> bool:
        """The stage's last gate has ended: the suite is done."""
        return self.result is not None and self.index == self.total


GateProgress = Callable[[GateEvent], None]


def unwatched(_event: GateEvent) -> None:
    """A GateProgress that shows nothing."""
