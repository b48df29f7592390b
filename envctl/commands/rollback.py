"""rollback: re-assign the previous version of a stage, as a new recorded event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from envctl import registry as reg
from envctl.errors import ConfirmationNeeded, GateFailed, InputError
from envctl.progress import Progress, silent
from envctl.promotion.handoff import StageImage, recorded_image
from envctl.promotion.ledger import AlreadyInStage, Decide, Entry, current_event, record
from envctl.promotion.lock import DEFAULT_TIMEOUT
from envctl.promotion.outcome import Outcome
from envctl.promotion.rules import Target
from envctl.promotion.trust import read_verified, require_signing, trust_config
from envctl.promotion.workspace import (
    Workspace,
    pick_model,
    require_project,
    require_stage,
    require_version,
    workspace,
)
from envctl.spec.loading import load_environment


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
    project = require_project(ws)
    registry = read_verified(ws).trusted  # in signed stages, only events that count
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
    what = f"roll back {stage}: {model}@{current.version} -> {model}@{previous}"
    if not confirmed and any(g.kind == "approvals" for g in env.spec.gates):
        raise ConfirmationNeeded(
            f"{what}? {stage} asks for approvals, so a rollback needs confirmation: "
            "answer at the prompt, or pass --yes (CI)",
            question=f"{what}?",
        )
    say(what)
    image = restored_image(found, stage, previous)
    if image is not None:
        say(f"{stage} runs {image.get('digest') or image.get('ref')} again")
    entry = Entry(target, image=image, rollback_of=current.version, sign=sign)
    try:
        done = record(
            ws, env, entry, decide=_trusted(ws, _decide), push=push, remote=remote, say=say,
            lock_timeout=lock_timeout,
        )  # fmt: skip
    except AlreadyInStage as already:
        return Outcome(
            target, "unchanged", "rollback", tag=already.event.tag, pushed=already.pushed
        )
    except GateFailed as exc:
        report = Outcome(target, "blocked", order="rollback")
        raise GateFailed(exc.message, details=exc.details, report=report) from None
    return Outcome(
        target, "rolled back", order="rollback", tag=done.tag, pushed=done.pushed,
        image=_text(image, "ref"), image_id=_text(image, "id"),
        stage_image=StageImage.from_json(image) if image is not None else None,
    )  # fmt: skip


def restored_image(model: reg.Model, stage: str, version: str) -> dict[str, Any] | None:
    """The image of the latest event that put `version` into `stage` with one, as
    recorded there, plus `restored_from`: that event's tag. None when no such event
    records an image object (records older than images, or older rollbacks)."""
    for event in sorted(model.events, key=lambda e: e.counter or 0, reverse=True):
        if event.stage != stage or event.action is not reg.Action.ASSIGN:
            continue
        image = recorded_image(event) if event.version == version else None
        if image is not None:
            return {**image, "restored_from": image.get("restored_from") or event.tag}
    return None


def _text(image: Mapping[str, Any] | None, key: str) -> str | None:
    value = image.get(key) if image is not None else None
    return value if isinstance(value, str) and value else None


def _trusted(ws: Workspace, decide: Decide) -> Decide:
    """`decide` on the trusted view when envctl.yaml signs stages: an event that does
    not count must not look like the stage's current version."""
    if trust_config(ws) is None:
        return decide
    return lambda _registry, entry, after_fetch: decide(
        read_verified(ws).trusted, entry, after_fetch
    )


def _decide(registry: reg.Registry, entry: Entry, after_fetch: bool) -> Entry:
    """Roll back only what the stage still holds: if it changed meanwhile, stop."""
    target = entry.target
    current = current_event(registry, target.model, target.stage)
    now = current.version if current else None
    if current is not None and now == target.version:
        raise AlreadyInStage(current)
    if now != entry.rollback_of:
        where = "after fetching tags, " if after_fetch else ""
        raise GateFailed(
            f"{where}{target.stage} now holds {now or 'nothing'}, not {entry.rollback_of} "
            f"(changed meanwhile); look at envctl status, then roll back again"
        )
    return entry


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
