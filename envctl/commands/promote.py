"""promote: gated, recorded stage assignments.

Order of work (DESIGN.md §6): resolve the version, check the stage order, the
compatibility gate, build or reuse the target image, run the target stage's
gates, and only when all passed write the assignment tag `NAME#STAGE#N`.
Nothing is written before that point, so a failure, an error or Ctrl-C leaves
no tag; containers are removed by the engine adapter however a gate ends.

The outcome is a frozen value: a refusal, a failed gate or missing approvals
raise GateFailed / AwaitingApproval carrying the outcome so far as their report.
"""

from __future__ import annotations

from dataclasses import replace

from envctl import registry as reg
from envctl.errors import AwaitingApproval, GateFailed, UsageError
from envctl.progress import Progress, silent
from envctl.promotion.compat import compatibility
from envctl.promotion.gates import FAILED, holding_back
from envctl.promotion.ledger import Entry, record
from envctl.promotion.outcome import Outcome
from envctl.promotion.rules import Target, default_version, order_problem
from envctl.promotion.suite import recheck_baselines, run_gates
from envctl.promotion.trust import read_ledger, require_signing
from envctl.promotion.workspace import (
    Workspace,
    pick_model,
    require_project,
    require_stage,
    require_version,
    split_ref,
    workspace,
)
from envctl.spec.loading import Environment, Project, load_environment


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
    say = progress or silent
    if force and not (reason and reason.strip()):
        raise UsageError("--force needs --reason TEXT: a bypass is recorded with its reason")
    ws = workspace()
    project = require_project(ws)
    registry = read_ledger(ws).trusted  # in signed stages, only events that count
    target = resolve_target(ws, registry, operand, to)
    sign = require_signing(ws, target.stage, "promoting") if not plan else False
    order = order_problem(registry, target)
    if target.replaces == target.version:
        return Outcome(target, "unchanged", order)
    if order != "ok" and not force:
        raise GateFailed(
            f"{order}; promote one stage at a time, or --force --reason TEXT to record a bypass",
            report=Outcome(target, "blocked", order),
        )
    env = load_environment(target.stage, project)
    unmet, findings = compatibility(project, target, env)
    checked = Outcome(
        target,
        "planned",
        order,
        compatibility=tuple(unmet),
        findings=tuple(findings),
        planned_gates=tuple(g.kind for g in env.spec.gates),
        bypass=reason if order != "ok" else None,
    )
    if plan:
        return checked
    _refuse_incompatible(checked)
    gated = _run(project, ws, registry, env, checked, say, progress)
    _refuse_unpassed(gated)
    return _record(project, ws, env, gated, push=push, remote=remote, say=say, sign=sign)


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


def _refuse_incompatible(checked: Outcome) -> None:
    t = checked.target
    blocking = [*checked.compatibility, *(f["message"] for f in checked.findings if f["blocks"])]
    if blocking:
        raise GateFailed(
            f"{t.model}@{t.version} is not compatible with {t.stage}: {blocking[0]}"
            + (f" (+{len(blocking) - 1} more)" if len(blocking) > 1 else ""),
            details=blocking,
            report=replace(checked, status="blocked"),
        )


def _run(
    project: Project,
    ws: Workspace,
    registry: reg.Registry,
    env: Environment,
    checked: Outcome,
    say: Progress,
    progress: Progress | None,
) -> Outcome:
    """Build or reuse the target image, then run the stage's gates in it."""
    from envctl import engine
    from envctl.build.image import build_image

    t = checked.target
    for orphan in engine.reap_orphans():
        say(f"removed container {orphan[:12]} left by a killed envctl run")
    say(f"image for {t.model}@{t.version} in {t.stage}: build or reuse")
    image = build_image(t.stage, model=f"{t.model}@{t.version}", on_line=progress)
    say(f"image {image.image} ({'reused, nothing built' if image.cached else 'built'})")
    results = run_gates(project, ws, registry, t, env, image=image.image, say=say)
    return replace(checked, gates=results, image=image.image, image_id=image.id)


def _refuse_unpassed(gated: Outcome) -> None:
    held = holding_back(gated.gates)
    if held is None:
        return
    ref, stage = f"{gated.target.model}@{gated.target.version}", gated.target.stage
    if held.status == FAILED:
        raise GateFailed(
            f"gate {held.kind} failed for {ref} -> {stage}: {held.summary}",
            report=replace(gated, status="blocked"),
        )
    raise AwaitingApproval(
        f"{ref} waits for approvals to enter {stage}: {held.summary}; another person runs "
        f"envctl approve {ref} --for {stage}, then promote again",
        report=replace(gated, status="waiting"),
    )


def _record(
    project: Project,
    ws: Workspace,
    env: Environment,
    gated: Outcome,
    *,
    push: bool,
    remote: str,
    say: Progress,
    sign: bool = False,
) -> Outcome:
    """Write the assignment tag; a refusal after fetching another machine's tags
    still reports the outcome as it then stood."""

    def recheck(entry: Entry) -> Entry:
        target, results = recheck_baselines(project, ws, entry.target, env, entry.gates)
        failed = next((r for r in results if r.status == FAILED), None)
        if failed is not None:
            raise GateFailed(
                f"after fetching tags, {target.stage} holds {target.replaces}: gate "
                f"{failed.kind} failed for {target.model}@{target.version}: {failed.summary}",
                report=replace(gated, target=target, gates=results, status="blocked"),
            )
        return replace(entry, target=target, gates=results)

    entry = Entry(gated.target, gated.image_id or gated.image, gated.gates, gated.bypass, sign=sign)
    try:
        done = record(ws, env, entry, push=push, remote=remote, say=say, recheck=recheck)
    except GateFailed as exc:
        if exc.report is not None:
            raise
        raise GateFailed(
            exc.message, details=exc.details, report=replace(gated, status="blocked")
        ) from None
    return replace(
        gated,
        target=done.entry.target,
        gates=done.entry.gates,
        tag=done.tag,
        pushed=done.pushed,
        status="promoted",
    )
