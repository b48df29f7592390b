"""Where a stage may roll back to: the versions it held, less those the ledger
knows failed there (a rollback is the ledger's verdict on the version it replaced).
Pure; read by `envctl rollback`, check-live's automatic rollback and its relative
live thresholds (whose baseline is the version a rollback would restore)."""

from __future__ import annotations

from dataclasses import dataclass

from envctl.registry.grammar import Action
from envctl.registry.records import text_or_none
from envctl.registry.state import Model, StageEvent


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


def failed_verdicts(model: Model, stage: str) -> dict[str, str]:
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


def choose_previous(model: Model, stage: str, current: str) -> Choice:
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


def _stage_events(model: Model, stage: str) -> list[StageEvent]:
    """The assignments to `stage`, in #N order."""
    events = [e for e in model.events if e.stage == stage and e.action is Action.ASSIGN]
    return sorted(events, key=lambda e: e.counter or 0)


def nothing_safe(model: str, stage: str, choice: Choice) -> str:
    """Why there is nowhere to roll back to."""
    if not choice.skipped:
        return f"nothing to roll back to: {model} has had no other version in {stage}"
    return (
        f"nothing safe to roll back to: every other version {model} had in {stage} failed "
        f"there since it last entered: {choice.note}; promote a fixed version instead"
    )
