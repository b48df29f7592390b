"""rollback: re-assign the previous version of a stage, as a new recorded event."""

from __future__ import annotations

from envctl.errors import ConfirmationNeeded, InputError
from envctl.progress import Progress, silent
from envctl.promotion.lock import DEFAULT_TIMEOUT
from envctl.promotion.outcome import Outcome
from envctl.promotion.rollback import previous_version, record_rollback
from envctl.promotion.rules import Target
from envctl.promotion.trust import read_verified, require_signing, stage_environment
from envctl.promotion.workspace import (
    pick_model,
    require_project,
    require_stage,
    require_version,
    workspace,
)


def rollback(
    name: str,
    *,
    stage: str,
    push: bool = False,
    remote: str = "origin",
    confirmed: bool = False,
    lock_timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
) -> Outcome:
    """Re-assign the version that was in `stage` before the current one, as a new
    recorded event. No gates: it restores what already passed them, and its record
    carries the image the stage ran that version in (so `envctl image` still names
    it). A stage whose spec asks for approvals is rolled back only when `confirmed`
    (else ConfirmationNeeded, which says what would happen)."""
    say = progress or silent
    ws = workspace()
    require_project(ws)
    registry = read_verified(ws).trusted  # in signed stages, only events that count
    require_stage(ws, stage)
    sign = require_signing(ws, stage, "rolling back")
    model = pick_model(ws, registry, name)
    found = registry.model(model)
    current = found.stages.get(stage) if found else None
    if found is None or current is None or current.version is None:
        raise InputError(f"nothing to roll back: no version of {model} is in {stage}")
    previous = previous_version(found, stage, current.version)
    if previous is None:
        raise InputError(f"nothing to roll back to: {model} has had no other version in {stage}")
    hit = require_version(registry, model, previous)
    target = Target(model, previous, hit.commit, stage, None, current.version)
    env = stage_environment(ws, stage)
    what = f"roll back {stage}: {model}@{current.version} -> {model}@{previous}"
    if not confirmed and any(g.kind == "approvals" for g in env.spec.gates):
        raise ConfirmationNeeded(
            f"{what}? {stage} asks for approvals, so a rollback needs confirmation: "
            "answer at the prompt, or pass --yes (CI)",
            question=f"{what}?",
        )
    say(what)
    return record_rollback(
        ws,
        env,
        target,
        registry=registry,
        sign=sign,
        push=push,
        remote=remote,
        lock_timeout=lock_timeout,
        say=say,
    )
