"""Rolling a stage back: the version it held before the current one, assigned
again as a new recorded event (`envctl rollback`, and `envctl check-live` with
`rollback: auto`). No gates: it restores what already passed them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from envctl import registry as reg
from envctl.errors import GateFailed
from envctl.progress import Progress
from envctl.promotion.handoff import StageImage, recorded_image, text_or_none
from envctl.promotion.ledger import AlreadyInStage, Decide, Entry, current_event, record
from envctl.promotion.outcome import Outcome
from envctl.promotion.rules import Target
from envctl.promotion.trust import read_verified, trust_config
from envctl.promotion.workspace import Workspace
from envctl.spec.loading import Environment


@dataclass(frozen=True)
class Choice:
    """Where a rollback of `stage` may go: `version`, the newest version the stage
    held before with no failed verdict since it last entered (None: none is safe),
    and `skipped`, the newer ones passed over, each with the tag that judged it."""

    version: str | None
    skipped: tuple[tuple[str, str], ...] = ()

    @property
    def note(self) -> str:
        """`v1.1.0 (rolled back by tiny#prod#3)`, for each version passed over."""
        return ", ".join(f"{version} (rolled back by {tag})" for version, tag in self.skipped)


def failed_verdicts(model: reg.Model, stage: str) -> dict[str, str]:
    """version -> the tag of the rollback that replaced it in `stage` since it last
    entered. A rollback is the ledger's verdict on the version it replaced (by
    check-live's failed checks, or by a person): that version stays failed in the
    stage until it is assigned there again."""
    failed: dict[str, str] = {}
    for event in _stage_events(model, stage):
        failed.pop(event.version or "", None)  # it entered (again): judged afresh
        replaced = text_or_none((event.record or {}).get("rollback_of"))
        if replaced is not None and replaced != event.version:
            failed[replaced] = event.tag
    return failed


def choose_previous(model: reg.Model, stage: str, current: str) -> Choice:
    """The newest version other than `current` that `stage` held, skipping every
    version with a failed verdict there (a rollback never restores what failed)."""
    failed = failed_verdicts(model, stage)
    skipped: list[tuple[str, str]] = []
    seen = {current}
    for event in reversed(_stage_events(model, stage)):
        version = event.version
        if version is None or version in seen:
            continue
        seen.add(version)
        if version in failed:
            skipped.append((version, failed[version]))
            continue
        return Choice(version, tuple(skipped))
    return Choice(None, tuple(skipped))


def _stage_events(model: reg.Model, stage: str) -> list[reg.StageEvent]:
    """The assignments to `stage`, in #N order."""
    events = [e for e in model.events if e.stage == stage and e.action is reg.Action.ASSIGN]
    return sorted(events, key=lambda e: e.counter or 0)


def nothing_safe(model: str, stage: str, choice: Choice) -> str:
    """Why there is nowhere to roll back to."""
    if not choice.skipped:
        return f"nothing to roll back to: {model} has had no other version in {stage}"
    return (
        f"nothing safe to roll back to: every other version {model} had in {stage} failed "
        f"there since it last entered: {choice.note}; promote a fixed version instead"
    )


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
        image=text_or_none(image.get("ref")) if image is not None else None,
        image_id=text_or_none(image.get("id")) if image is not None else None,
        stage_image=StageImage.from_json(image) if image is not None else None,
    )  # fmt: skip


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
