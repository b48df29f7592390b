"""sync: fetch a remote's registry tags, renumber local-only events that clash
with its numbering, and push what is only local (envctl.promotion.sync)."""

from __future__ import annotations

from envctl.ledger.lock import DEFAULT_TIMEOUT
from envctl.output.promotion import SyncDocument
from envctl.progress import Progress, silent
from envctl.promotion.sync import sync as run_sync
from envctl.registry.workspace import workspace


def sync(
    *,
    remote: str = "origin",
    push: bool = True,
    lock_timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
) -> SyncDocument:
    return run_sync(
        workspace(), remote=remote, push=push, lock_timeout=lock_timeout, say=progress or silent
    )
