"""rollback: re-assign the previous version of a stage, as a new recorded event."""

from __future__ import annotations

from envctl.errors import CheckFailed, ConfirmationNeeded, InputError
from envctl.ledger.lock import DEFAULT_TIMEOUT
from envctl.ledger.trust import read_verified, require_signing, stage_environment
from envctl.progress import Progress, silent
from envctl.promotion.outcome import Outcome
from envctl.promotion.rollback import record_rollback
from envctl.registry.rollbacks import choose_previous, nothing_safe
from envctl.registry.target import Target
from envctl.registry.workspace import (
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
    """Re-assign the newest version that was in `stage` before the current one and
    has not been rolled back from it since it last entered, as a new recorded event
    (none safe: CheckFailed, nothing written). No gates: it restores what already
    passed them, and its record carries the image the stage ran that version in (so
    `envctl image` still names it). A stage whose spec asks for approvals is rolled
    back only when `confirmed` (else ConfirmationNeeded, which says what would happen)."""
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
    choice = choose_previous(found, stage, current.version)
    previous = choice.version
    if previous is None:
        why = nothing_safe(model, stage, choice)
        raise CheckFailed(why) if choice.skipped else InputError(why)
    hit = require_version(registry, model, previous)
    target = Target(model, previous, hit.commit, stage, None, current.version)
    env = stage_environment(ws, stage)
    what = f"roll back {stage}: {model}@{current.version} -> {model}@{previous}"
    if choice.skipped:
        what += f", skipping {choice.note}"
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
