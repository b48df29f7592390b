"""What a promotion moves where: the vocabulary the gates and the ledger share."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    model: str
    version: str
    commit: str
    stage: str
    from_stage: str | None
    replaces: str | None  # version now in the stage
