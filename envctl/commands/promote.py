"""promote: gated, recorded stage assignments.

Order of work (DESIGN.md §6): resolve the version, check the stage order, the
compatibility gate, build or reuse the target image, run the target stage's
gates, and only when all passed write the assignment tag `NAME#STAGE#N`.
Nothing is written before that point, so a failure, an error or Ctrl-C leaves
no tag; containers are removed by the engine adapter however a gate ends.
"""

from __future__ import annotations

from typing import Any

from envctl import registry as reg
from envctl.errors import AwaitingApproval, GateFailed, UsageError
from envctl.progress import Progress
from envctl.promotion.compat import compatibility
from envctl.promotion.gates import FAILED, PASSED, WAITING
from envctl.promotion.ledger import record
from envctl.promotion.rules import Outcome, Target, default_version, order_problem
from envctl.promotion.suite import recheck_baselines, run_gates
from envctl.promotion.workspace import (
    Workspace,
    pick_model,
    read_registry,
    require_project,
    require_stage,
    require_version,
    split_ref,
    workspace,
)
from envctl.spec.loading import load_environment


def promote(
    operand: str | None,
    *,
    to: str,
    plan: bool = False,
    push: bool = False,
    force: bool = False,
    reason: str | None = None,
    remote: str = "origin",
    progress: Progress | None = None,
) -> Outcome:
    say = progress or (lambda _line: None)
    if force and not (reason and reason.strip()):
        raise UsageError("--force needs --reason TEXT: a bypass is recorded with its reason")
    ws = workspace()
    project = require_project(ws)
    registry = read_registry(ws)
    target = resolve_target(ws, registry, operand, to)
    outcome = Outcome(target, order=order_problem(registry, target))
    if target.replaces == target.version:
        outcome.status = "unchanged"
        return outcome
    if outcome.order != "ok":
        if not force:
            raise GateFailed(
                f"{outcome.order}; promote one stage at a time, or "
                "--force --reason TEXT to record a bypass"
            )
        outcome.bypass = reason
    env = load_environment(target.stage, project)
    outcome.compatibility, outcome.findings = compatibility(project, target, env)
    outcome.planned_gates = [g.kind for g in env.spec.gates]
    if plan:
        return outcome
    blocking = outcome.compatibility + [f["message"] for f in outcome.findings if f["blocks"]]
    if blocking:
        raise GateFailed(
            f"{target.model}@{target.version} is not compatible with "
            f"{target.stage}: {blocking[0]}"
            + (f" (+{len(blocking) - 1} more)" if len(blocking) > 1 else ""),
            details=blocking,
        )
    from envctl import engine

    for orphan in engine.reap_orphans():
        say(f"removed container {orphan[:12]} left by a killed envctl run")
    say(f"image for {target.model}@{target.version} in {target.stage}: build or reuse")
    image = _build(target, progress)
    outcome.image, outcome.image_id = image.image, image.id
    say(f"image {image.image} ({'reused, nothing built' if image.cached else 'built'})")
    run_gates(project, ws, registry, target, env, outcome, say)
    _settle_gates(outcome)
    record(
        ws,
        target,
        env,
        outcome,
        push=push,
        remote=remote,
        say=say,
        recheck=lambda: recheck_baselines(ws, target, env, outcome),
    )
    outcome.status = "promoted"
    return outcome


def resolve_target(
    ws: Workspace, registry: reg.Registry, operand: str | None, stage: str
) -> Target:
    require_stage(ws, stage)
    name, version = split_ref(operand) if operand else (None, None)
    model = pick_model(ws, registry, name)
    stages = ws.stages
    index = stages.index(stage)
    from_stage = stages[index - 1] if index > 0 else None
    found = registry.model(model)
    current = found.stages.get(stage) if found else None
    if version is None:
        version = default_version(registry, model, from_stage)
    hit = require_version(registry, model, version)
    return Target(
        model, version, hit.commit, stage, from_stage, current.version if current else None
    )


def _build(target: Target, progress: Progress | None) -> Any:
    from envctl.build.image import build_image

    return build_image(target.stage, model=f"{target.model}@{target.version}", on_line=progress)


def _settle_gates(outcome: Outcome) -> None:
    statuses = [g.status for g in outcome.gates]
    if FAILED in statuses:
        bad = next(g for g in outcome.gates if g.status == FAILED)
        outcome.status = "blocked"
        raise GateFailed(
            f"gate {bad.kind} failed for {outcome.target.model}@"
            f"{outcome.target.version} -> {outcome.target.stage}: {bad.summary}"
        )
    if WAITING in statuses:
        wait = next(g for g in outcome.gates if g.status == WAITING)
        outcome.status = "waiting"
        raise AwaitingApproval(
            f"{outcome.target.model}@{outcome.target.version} waits for approvals to enter "
            f"{outcome.target.stage}: {wait.summary}; another person runs envctl approve "
            f"{outcome.target.model}@{outcome.target.version} --for {outcome.target.stage}, "
            "then promote again"
        )
    assert all(s == PASSED for s in statuses)
