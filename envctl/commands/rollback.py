"""rollback: re-assign the previous version of a stage, as a new recorded event."""

from __future__ import annotations

from envctl import registry as reg
from envctl.errors import GateFailed, InputError
from envctl.progress import Progress, silent
from envctl.promotion.ledger import Entry, record
from envctl.promotion.outcome import Outcome
from envctl.promotion.rules import Target
from envctl.promotion.trust import read_ledger, require_signing
from envctl.promotion.workspace import (
    pick_model,
    require_project,
    require_stage,
    require_version,
    workspace,
)
from envctl.spec.loading import load_environment


def rollback(
    name: str | None,
    *,
    stage: str,
    push: bool = False,
    remote: str = "origin",
    progress: Progress | None = None,
) -> Outcome:
    """Re-assign the version that was in `stage` before the current one, as a new
    recorded event. No gates: it restores what already passed them."""
    ws = workspace()
    project = require_project(ws)
    registry = read_ledger(ws).trusted  # in signed stages, only events that count
    require_stage(ws, stage)
    sign = require_signing(ws, stage, "rolling back")
    model = pick_model(ws, registry, name)
    found = registry.model(model)
    current = found.stages.get(stage) if found else None
    if found is None or current is None or current.version is None:
        raise InputError(f"nothing to roll back: no version of {model} is in {stage}")
    previous = _previous_version(found, stage, current.version)
    hit = require_version(registry, model, previous)
    target = Target(model, previous, hit.commit, stage, None, current.version)
    env = load_environment(stage, project)
    entry = Entry(target, image=None, rollback_of=current.version, sign=sign)
    try:
        done = record(ws, env, entry, push=push, remote=remote, say=progress or silent)
    except GateFailed as exc:
        report = Outcome(target, "blocked", order="rollback")
        raise GateFailed(exc.message, details=exc.details, report=report) from None
    return Outcome(target, "rolled back", order="rollback", tag=done.tag, pushed=done.pushed)


def _previous_version(model: reg.Model, stage: str, current: str) -> str:
    for event in sorted(model.events, key=lambda e: e.counter or 0, reverse=True):
        if (
            event.stage == stage
            and event.action is reg.Action.ASSIGN
            and event.version
            and event.version != current
        ):
            return event.version
    raise InputError(f"nothing to roll back to: {model.name} has had no other version in {stage}")
