"""advance: take a version through every stage after the one it has entered, each
through its own gates (one promotion per stage, envctl.promotion.flow), stopping
at the first refusal (exit 1) or wait (exit 5: approvals, or the stage's policy:
soak, windows, freeze, `auto: false`), or once it is in `until`.

Unattended and idempotent: a retraining job runs it after `register`, and again
later (after an approval, ...); it continues where the ledger says the version is.
"""

from __future__ import annotations

from collections.abc import Callable

from envctl.errors import AwaitingApproval, EnvctlError, GateFailed, NotYet, UsageError
from envctl.gates.events import GateProgress, unwatched
from envctl.ledger.lock import DEFAULT_TIMEOUT
from envctl.ledger.trust import read_verified
from envctl.ledger.write import current_event
from envctl.progress import Progress
from envctl.promotion.advance import Advance, AdvanceStatus, furthest_entered, stages_left
from envctl.promotion.flow import promote
from envctl.promotion.outcome import Outcome
from envctl.registry.workspace import (
    pick_model,
    require_project,
    require_stage,
    require_version,
    split_ref,
    workspace,
)


def advance(
    operand: str,
    *,
    until: str | None = None,
    push: bool = False,
    remote: str = "origin",
    lock_timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
    on_gate: GateProgress = unwatched,
    on_step: Callable[[Outcome], None] | None = None,
) -> Advance:
    """`on_gate` sees each gate of each stage start and end; `on_step` each stage's
    outcome once it is in the stage."""
    ws = workspace()
    require_project(ws)
    registry = read_verified(ws).trusted  # in signed stages, only events that count
    name, version = split_ref(operand)
    if version is None:
        raise UsageError(f"name the version: envctl advance {name}@vX.Y.Z")
    model = pick_model(ws, registry, name)
    require_version(registry, model, version)
    stages = ws.stages
    target = until or stages[-1]
    require_stage(ws, target)
    entered = furthest_entered(registry, model, version, stages)
    todo = stages_left(stages, entered, target)
    held = current_event(registry, model, entered) if entered is not None else None
    if not todo and push and held is not None and held.version == version:
        todo = [held.stage]  # publishes an event an earlier run wrote but did not push
    ref = f"{model}@{version}"
    steps: list[Outcome] = []
    for stage in todo:
        try:
            outcome = promote(
                ref, to=stage, push=push, remote=remote, lock_timeout=lock_timeout,
                progress=progress, on_gate=on_gate, unattended=True,
            )  # fmt: skip
        except (GateFailed, AwaitingApproval, NotYet) as stop:
            status: AdvanceStatus = "blocked" if isinstance(stop, GateFailed) else "waiting"
            if isinstance(stop.report, Outcome):
                steps.append(stop.report)
            result = Advance(
                model, version, entered, target, status, tuple(steps), stage, stop.message
            )
            raise _again(stop, result) from None
        steps.append(outcome)
        if on_step is not None:
            on_step(outcome)
    return Advance(model, version, entered, target, "reached", tuple(steps))


def _again(stop: EnvctlError, result: Advance) -> EnvctlError:
    """The same error (kind, exit code, line), reporting the whole run."""
    return type(stop)(stop.message, details=stop.details, location=stop.location, report=result)
