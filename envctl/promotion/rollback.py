"""Rolling a stage back: the version it held before the current one, assigned
again as a new recorded event (`envctl rollback`, and `envctl check-live` with
`rollback: auto`). No gates: it restores what already passed them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from envctl import registry as reg
from envctl.errors import GateFailed
from envctl.ledger.write import AlreadyInStage, Entry, current_event, record
from envctl.progress import Progress
from envctl.promotion.handoff import StageImage, recorded_image
from envctl.promotion.outcome import Outcome
from envctl.registry.records import text_or_none
from envctl.registry.target import Target
from envctl.registry.workspace import Workspace
from envctl.spec.loading import Environment


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


def record_rollback(
    ws: Workspace,
    env: Environment,
    target: Target,
    *,
    registry: reg.Registry,
    sign: bool,
    push: bool,
    remote: str,
    lock_timeout: float,
    say: Progress,
    cause: Mapping[str, Any] | None = None,
) -> Outcome:
    """Assign `target.version` to `target.stage` again, replacing `target.replaces`,
    only if the stage still holds that (else GateFailed: it changed meanwhile).
    The record carries the image the stage ran that version in (found in
    `registry`, the ledger the decision was taken on), so `envctl image` still
    names it, and `cause` (why, and its evidence)."""
    history = registry.model(target.model)
    image = restored_image(history, target.stage, target.version) if history else None
    if image is not None:
        say(f"{target.stage} runs {image.get('digest') or image.get('ref')} again")
    entry = Entry(target, image=image, rollback_of=target.replaces, sign=sign, cause=cause)
    try:
        done = record(
            ws, env, entry, decide=_decide, push=push, remote=remote, say=say,
            lock_timeout=lock_timeout,
        )  # fmt: skip
    except GateFailed as exc:
        report = Outcome(target, "blocked", order="rollback")
        raise GateFailed(exc.message, details=exc.details, report=report) from None
    if isinstance(done, AlreadyInStage):
        return Outcome(target, "unchanged", "rollback", tag=done.event.tag, pushed=done.pushed)
    return Outcome(
        target, "rolled back", order="rollback", tag=done.tag, pushed=done.pushed,
        image=text_or_none(image.get("ref")) if image is not None else None,
        image_id=text_or_none(image.get("id")) if image is not None else None,
        stage_image=StageImage.from_json(image) if image is not None else None,
    )  # fmt: skip


def _decide(registry: reg.Registry, entry: Entry, after_fetch: bool) -> Entry | AlreadyInStage:
    """Roll back only what the stage still holds: if it changed meanwhile, stop."""
    target = entry.target
    current = current_event(registry, target.model, target.stage)
    now = current.version if current else None
    if current is not None and now == target.version:
        return AlreadyInStage(current)
    if now != entry.rollback_of:
        where = "after fetching tags, " if after_fetch else ""
        raise GateFailed(
            f"{where}{target.stage} now holds {now or 'nothing'}, not {entry.rollback_of} "
            f"(changed meanwhile); look at envctl status, then roll back again"
        )
    return entry
