"""A gate's result: the vocabulary gates produce and the ledger records.

It lives in the registry, below both, so the ledger records gate results without
importing the gates that produce them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from envctl.vocabulary import GateKind, GateStatus

PASSED: Final = "passed"
FAILED: Final = "failed"
WAITING: Final = "waiting"
SKIPPED: Final = "skipped"


@dataclass(frozen=True)
class GateResult:
    kind: GateKind
    status: GateStatus
    summary: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    seconds: float | None = None  # how long it ran; None when it did not run (skipped)

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": self.status,
            "summary": self.summary,
            "evidence": dict(self.evidence),
            "seconds": self.seconds,
        }
