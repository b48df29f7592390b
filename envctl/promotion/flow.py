"""Promoting one version into one stage: gated, recorded stage assignments
(`envctl promote`, and each step of `envctl advance`).

Order of work (DESIGN.md §6): resolve the version, check the stage order, the
compatibility gate, reuse the image the previous stage tested when the content
is the same (else build it), run the target stage's
gates, and only when all passed write the assignment tag `NAME#STAGE#N`.
Nothing is written before that point, so a failure, an error or Ctrl-C leaves
no tag; containers are removed by the engine adapter however a gate ends.

The outcome is a frozen value: a refusal, a failed gate or missing approvals
raise GateFailed / AwaitingApproval carrying the outcome so far as their report.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from envctl import registry as reg
from envctl.errors import AwaitingApproval, GateFailed, NotYet, UsageError
from envctl.gates import placement
from envctl.gates.checks import holding_back
from envctl.gates.compat import compatibility
from envctl.gates.events import GateProgress, unwatched
from envctl.gates.runners import gate_gpus
from envctl.gates.suite import recheck_gates, run_gates, sbom_once
from envctl.ledger.lock import DEFAULT_TIMEOUT
from envctl.ledger.trust import read_verified, require_signing, stage_environment
from envctl.ledger.write import (
    AlreadyInStage,
    Entry,
    current_event,
    fetch_if_behind,
    record,
    remote_view,
)
from envctl.progress import Progress, silent
from envctl.promotion.handoff import previous_image, stage_image, with_sbom
from envctl.promotion.outcome import Outcome
from envctl.promotion.policy import Verdict, entered_at, evaluate
from envctl.promotion.rules import default_version, order_problem
from envctl.registry.results import FAILED, GateResult
from envctl.registry.target import Target
from envctl.registry.workspace import (
    Workspace,
    pick_model,
    require_project,
    require_stage,
    require_version,
    split_ref,
    workspace,
)
from envctl.spec.loading import Environment, Project


def promote(
    operand: str | None,
    *,
    to: str,
    plan: bool = False,
    push: bool = False,
    force: bool = False,
    reason: str | None = None,
    remote: str = "origin",
    lock_timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
    on_gate: GateProgress = unwatched,
    unattended: bool = False,
    accept_no_gpu: str | None = None,
) -> Outcome:
    """`unattended`: no person runs it (advance), so a stage whose policy says
    `auto: false` waits for one. `on_gate` sees each gate start and end.
    `accept_no_gpu`: why the gates may run without the stage's GPUs when its gate
    engine has none (recorded as a bypass)."""
    say = progress or silent
    if force and not (reason and reason.strip()):
        raise UsageError("--force needs --reason TEXT: a bypass is recorded with its reason")
    accept_no_gpu = placement.accepted_reason(accept_no_gpu)
    ws = workspace()
    project = require_project(ws)
    registry = read_verified(ws).trusted  # in signed stages, only events that count
    target = resolve_target(ws, registry, operand, to)
    if push and not plan:
        registry, target = _on_shared_ledger(ws, registry, target, operand, remote, say)
    sign = require_signing(ws, target.stage, "promoting") if not plan else False
    order = order_problem(registry, target)
    if target.replaces == target.version:
        return _unchanged(ws, registry, target, order, push=push, remote=remote, say=say)
    if order != "ok" and not force:
        raise GateFailed(
            f"{order}; promote one stage at a time, or --force --reason TEXT to record a bypass",
            report=Outcome(target, "blocked", order),
        )
    env = stage_environment(ws, target.stage)
    verdict = policy_verdict(registry, target, env, unattended=unattended)
    unmet, findings = compatibility(project, target, env)
    checked = Outcome(
        target,
        "planned",
        order,
        compatibility=tuple(unmet),
        findings=tuple(findings),
        planned_gates=tuple(g.kind for g in env.spec.gates),
        bypass=reason if order != "ok" or (force and not verdict.allowed) else None,
        policy=verdict.to_json() if env.spec.policy is not None else None,
        runner=env.spec.runner,
    )
    if plan:
        return checked
    if not force:
        _refuse_not_yet(checked, verdict)
    _refuse_incompatible(checked)
    gated = _run(
        project, ws, registry, env, checked, say, progress,
        push=push, on_gate=on_gate, accept_no_gpu=accept_no_gpu,
    )  # fmt: skip
    _refuse_unpassed(gated)
    return _record(
        project, ws, env, gated, push=push, remote=remote, say=say, lock_timeout=lock_timeout,
        check_policy=not force, unattended=unattended, sign=sign,
    )  # fmt: skip


def _unchanged(
    ws: Workspace,
    registry: reg.Registry,
    target: Target,
    order: str,
    *,
    push: bool,
    remote: str,
    say: Progress,
) -> Outcome:
    """Already in the stage. With --push, an event an earlier run wrote but did not
    get to push (it was killed) is published now, with its prerequisites."""
    from envctl.ledger.write import publish, read_ledger

    current = current_event(registry, target.model, target.stage)
    tag = current.tag if current else None
    if not push or tag is None:
        return Outcome(target, "unchanged", order, tag=tag)
    theirs = remote_view(ws, remote, target.model)
    publish(ws, read_ledger(ws), theirs, remote, tag, say)
    return Outcome(target, "unchanged", order, tag=tag, pushed=True)


def _on_shared_ledger(
    ws: Workspace,
    registry: reg.Registry,
    target: Target,
    operand: str | None,
    remote: str,
    say: Progress,
) -> tuple[reg.Registry, Target]:
    """With --push, every decision (already in the stage, the stage order, the
    baseline, approvals) is taken on the shared ledger, not on this clone's copy:
    another machine may have promoted or approved since."""
    if not fetch_if_behind(ws, remote, target.model, say):
        return registry, target
    registry = read_verified(ws).trusted
    return registry, resolve_target(ws, registry, operand, target.stage)


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


def policy_verdict(
    registry: reg.Registry, target: Target, env: Environment, *, unattended: bool
) -> Verdict:
    """The target stage's policy, now, on this ledger (soak: since the version last
    entered the stage before)."""
    previous = target.from_stage
    entered = entered_at(registry, target.model, target.version, previous) if previous else None
    return evaluate(
        env.spec.policy,
        stage=target.stage,
        now=datetime.now(timezone.utc),
        previous=previous,
        entered_previous=entered,
        unattended=unattended,
    )


def _refuse_not_yet(checked: Outcome, verdict: Verdict, where: str = "") -> None:
    if verdict.allowed:
        return
    t = checked.target
    ref = f"{t.model}@{t.version}"
    if verdict.not_before is None:
        message = f"{where}{ref} waits for a person to enter {t.stage}: {verdict.summary}"
    else:
        message = (
            f"{where}{ref} may not enter {t.stage} yet: {verdict.summary}; run again then, "
            "or promote with --force --reason TEXT to record an override"
        )
    raise NotYet(message, report=replace(checked, status="waiting", policy=verdict.to_json()))


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
    *,
    push: bool,
    on_gate: GateProgress = unwatched,
    accept_no_gpu: str | None = None,
) -> Outcome:
    """On the stage's gate engine (its `runner:`, else envctl's own): reuse the
    image the previous stage tested when the content is the same, else build it
    (and push it, with `push` and a registry); check the engine gives the stage's
    GPUs; then run the stage's gates in the image. When they pass, the image's
    SBOM goes into the record (and beside the image in the registry when it was
    pushed)."""
    from envctl import engine

    t = checked.target
    with engine.engine_at(env.spec.runner):
        where = placement.reach(env.spec)
        if where.runner:
            say(f"{t.stage}'s gates run on {where.shown()}")
        for orphan in engine.reap_orphans():
            say(f"removed container {orphan[:12]} left by a killed envctl run")
        before = previous_image(registry, t)
        image = stage_image(t, checked.findings, before, push=push, on_line=progress, say=say)
        built = replace(checked, image=image.ref, image_id=image.id, stage_image=image)
        try:
            where = placement.with_gpus(
                where, env.spec, gate_gpus(env.spec), image.ref, accept=accept_no_gpu
            )
        except GateFailed as exc:
            raise GateFailed(exc.message, report=replace(built, status="blocked")) from None
        sbom = sbom_once(image.ref)
        results = run_gates(
            project, ws, registry, t, env, image=image.ref, on_gate=on_gate, where=where, sbom=sbom
        )
        if holding_back(results) is None:
            image = with_sbom(image, before, sbom, push=push)
            if image.sbom is not None:
                stored = (
                    f", stored beside the image as {image.sbom.artifact}"
                    if image.sbom.artifact
                    else ""
                )
                say(f"SBOM of the image: {image.sbom.sha256}{stored}")
    bypass = where.gpu_bypass.to_json() if where.gpu_bypass is not None else None
    return replace(
        built,
        gates=results,
        image=image.ref,
        image_id=image.id,
        stage_image=image,
        gpu_bypass=bypass,
    )


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
        f"envctl approve {ref} --stage {stage}, then promote again",
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
    lock_timeout: float,
    check_policy: bool = True,
    unattended: bool = False,
    sign: bool = False,
) -> Outcome:
    """Write the assignment tag once the decision holds on the ledger it is written
    against; a refusal then still reports the outcome as it stood."""

    def decide(registry: reg.Registry, entry: Entry, after_fetch: bool) -> Entry | AlreadyInStage:
        decided = redecide(project, ws, env, registry, entry)
        if isinstance(decided, AlreadyInStage):
            return decided
        target, results = decided
        where = "after fetching tags, " if after_fetch else ""
        if entry.bypass is None and (order := order_problem(registry, target)) != "ok":
            raise GateFailed(
                f"{where}{order}", report=replace(gated, target=target, status="blocked")
            )
        if check_policy:
            verdict = policy_verdict(registry, target, env, unattended=unattended)
            _refuse_not_yet(replace(gated, target=target), verdict, where)
        held = holding_back(results)
        if held is not None:
            moved = (
                f"{target.stage} holds {target.replaces}: "
                if target.replaces != gated.target.replaces
                else ""
            )
            ref = f"{target.model}@{target.version}"
            report = replace(gated, target=target, gates=results)
            if held.status == FAILED:
                raise GateFailed(
                    f"{where}{moved}gate {held.kind} failed for {ref}: {held.summary}",
                    report=replace(report, status="blocked"),
                )
            raise AwaitingApproval(
                f"{where}{ref} waits for approvals to enter {target.stage}: {held.summary}",
                report=replace(report, status="waiting"),
            )
        return replace(entry, target=target, gates=results)

    image = gated.stage_image.to_json() if gated.stage_image else gated.image_id or gated.image
    entry = Entry(
        gated.target, image, gated.gates, gated.bypass, sign=sign, gpu_bypass=gated.gpu_bypass
    )
    try:
        done = record(
            ws, env, entry, decide=decide, push=push, remote=remote, say=say,
            lock_timeout=lock_timeout,
        )  # fmt: skip
    except GateFailed as exc:
        if exc.report is not None:
            raise
        raise GateFailed(
            exc.message, details=exc.details, report=replace(gated, status="blocked")
        ) from None
    if isinstance(done, AlreadyInStage):
        return replace(gated, status="unchanged", tag=done.event.tag, pushed=done.pushed)
    return replace(
        gated,
        target=done.entry.target,
        gates=done.entry.gates,
        tag=done.tag,
        pushed=done.pushed,
        status="promoted",
    )


def redecide(
    project: Project, ws: Workspace, env: Environment, registry: reg.Registry, entry: Entry
) -> tuple[Target, tuple[GateResult, ...]] | AlreadyInStage:
    """The target and gate results as they stand on `registry`; AlreadyInStage when
    the version is in the stage there."""
    current = current_event(registry, entry.target.model, entry.target.stage)
    if current is not None and current.version == entry.target.version:
        return AlreadyInStage(current)
    target = replace(entry.target, replaces=current.version if current else None)
    return target, recheck_gates(project, ws, registry, target, env, entry.gates)
