"""A broken ledger rule, as the audit names it."""

from __future__ import annotations

from dataclasses import dataclass

# Stable names (scripts match on them); docs/trust.md explains each.
VIOLATION_KINDS = (
    "no-record", "invalid-record", "gate-not-passed", "skipped-stage", "unknown-version",
    "unknown-stage", "unsigned", "bad-signature", "unknown-signer", "signer-not-allowed",
    "self-approval", "invalid-approval", "uncounted-approval", "counter-duplicate",
    "counter-gap", "name-mismatch", "unbound-record", "trust-ref-shadow", "spec-not-protected",
    "lightweight", "clock-skew",
)  # fmt: skip


@dataclass(frozen=True)
class Violation:
    tag: str
    kind: str  # one of VIOLATION_KINDS
    model: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.tag}: {self.kind}: {self.message}"
