"""promote and rollback: gated, recorded stage assignments.

Order of work (DESIGN.md §6): resolve the version, check the stage order, the
compatibility gate, build or reuse the target image, run the target stage's
gates, and only when all passed write the assignment tag `NAME#STAGE#N`.
Nothing is written before that point, so a failure, an error or Ctrl-C leaves
no tag; containers are removed by the engine adapter however a gate ends.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from envctl import registry as reg
from envctl.commands.models import (
    Workspace,
    pick_model,
    read_registry,
    require_stage,
    require_version,
    split_ref,
    workspace,
)
from envctl.errors import (
    AwaitingApproval,
    ExternalError,
    GateFailed,
    InputError,
    PushRejected,
    TagExists,
    UsageError,
)
from envctl.gates import FAILED, PASSED, WAITING, GateResult
from envctl.project import Environment, Project, load_environment

Progress = Callable[[str], None]
PUSH_RETRIES = 3


@dataclass(frozen=True)
class Target:
    model: str
    version: str
    commit: str
    stage: str
    from_stage: str | None
    replaces: str | None  # version now in the stage


@dataclass
class Outcome:
    target: Target
    order: str
    compatibility: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    gates: list[GateResult] = field(default_factory=list)
    planned_gates: list[str] = field(default_factory=list)
    image: str | None = None
    image_id: str | None = None
    tag: str | None = None
    pushed: bool = False
    bypass: str | None = None
    status: str = "planned"  # planned | promoted | unchanged | blocked | waiting

    def to_json(self) -> dict[str, Any]:
        t = self.target
        return {
            "schema_version": 1,
            "status": self.status,
            "model": t.model,
            "version": t.version,
            "commit": t.commit,
            "stage": t.stage,
            "from_stage": t.from_stage,
            "replaces": t.replaces,
            "order": self.order,
            "compatibility": self.compatibility,
            "findings": self.findings,
            "gates": [g.to_json() for g in self.gates],
            "planned_gates": self.planned_gates,
            "image": self.image,
            "image_id": self.image_id,
            "tag": self.tag,
            "pushed": self.pushed,
            "bypass_reason": self.bypass,
        }


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
    project = _require_project(ws)
    registry = read_registry(ws)
    target = resolve_target(ws, registry, operand, to)
    outcome = Outcome(target, order=_order(registry, target))
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
    say(f"building {target.stage} image for {target.model}@{target.version}")
    image = _build(target, progress)
    outcome.image, outcome.image_id = image.image, image.id
    run_gates(project, ws, registry, target, env, outcome, say)
    _settle_gates(outcome)
    _record(ws, target, env, outcome, push=push, remote=remote, say=say)
    outcome.status = "promoted"
    return outcome


def _require_project(ws: Workspace) -> Project:
    if ws.project is None:
        raise InputError("promote needs envctl.yaml (stages, models); run `envctl init`")
    return ws.project


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
        version = _default_version(registry, model, from_stage)
    hit = require_version(registry, model, version)
    return Target(
        model, version, hit.commit, stage, from_stage, current.version if current else None
    )


def _default_version(registry: reg.Registry, model: str, from_stage: str | None) -> str:
    found = registry.model(model)
    if from_stage is None:
        latest = found.latest if found else None
        if latest is None:
            raise InputError(f"{model} has no registered version; envctl register {model} v1.0.0")
        return latest.version
    event = found.stages.get(from_stage) if found else None
    if event is None or event.version is None:
        raise InputError(
            f"no version of {model} is in {from_stage}; name one: "
            f"envctl promote {model}@vX.Y.Z --to ..."
        )
    return event.version


def _order(registry: reg.Registry, target: Target) -> str:
    if target.from_stage is None:
        return "ok"
    found = registry.model(target.model)
    entered = found is not None and any(
        e.stage == target.from_stage
        and e.version == target.version
        and e.action is reg.Action.ASSIGN
        for e in found.events
    )
    if entered:
        return "ok"
    return (
        f"{target.model}@{target.version} has not entered {target.from_stage}, "
        f"the stage before {target.stage}"
    )


def compatibility(
    project: Project, target: Target, env: Environment
) -> tuple[list[str], list[dict[str, Any]]]:
    """The model's requirements against the target env, and the diff from the
    previous stage's env (unwaived errors block)."""
    from envctl import diff
    from envctl.compat import unmet_requirements

    model = project.config.models.get(target.model)
    unmet = unmet_requirements(model.requires, env.spec) if model else []
    if target.from_stage is None:
        return unmet, []
    previous = load_environment(target.from_stage, project)
    findings = diff.compare(
        diff.Side.from_environment(previous),
        diff.Side.from_environment(env),
        severity_overrides=project.config.policy.severity,
    )
    return unmet, [
        {**f.to_json(), "blocks": f.blocks("error")}
        for f in findings
        if f.severity == "error" or f.waived
    ]


def _build(target: Target, progress: Progress | None) -> Any:
    from envctl.commands.build import build

    return build(target.stage, model=f"{target.model}@{target.version}", on_line=progress)


# ---- gates --------------------------------------------------------------------------


def run_gates(
    project: Project,
    ws: Workspace,
    registry: reg.Registry,
    target: Target,
    env: Environment,
    outcome: Outcome,
    say: Progress,
) -> None:
    """Each gate in order; after a failure the rest are not run (recorded as skipped)."""
    from envctl import gaterun

    model = project.config.models.get(target.model)
    if model is None:
        raise InputError(f"model {target.model!r} is not declared in envctl.yaml models:")
    model_path = (project.root / model.path).resolve().relative_to(ws.root.resolve()).as_posix()
    ctx = gaterun.ImageContext(
        image=outcome.image or "",
        workdir="/opt/model",
        serve=model.serve,
        read_file=gaterun.model_file_reader(ws.root, target.commit, model_path),
    )
    failed = False
    for gate in env.spec.gates:
        if failed:
            outcome.gates.append(
                GateResult(gate.kind, "skipped", "not run: an earlier gate failed")
            )
            continue
        say(f"gate {gate.kind}: running")
        result = _run_gate(gate, ctx, ws, registry, target, env, outcome)
        say(f"gate {gate.kind}: {result.status}: {result.summary}")
        outcome.gates.append(result)
        failed = result.status == FAILED


def _run_gate(
    gate: Any,
    ctx: Any,
    ws: Workspace,
    registry: reg.Registry,
    target: Target,
    env: Environment,
    outcome: Outcome,
) -> GateResult:
    from envctl import gaterun, gates

    if gate.tests is not None:
        from envctl.testlayer import test_image

        image = test_image(env, outcome.image or "", gate.tests)
        return gaterun.run_tests(gate.tests, ctx, image=image)
    if gate.metrics is not None:
        metrics = gates.parse_metrics(ctx.read_file(gate.metrics.file), gate.metrics.file)
        baseline, version = _baseline(gate.metrics, ws, target)
        return gates.evaluate_metrics(gate.metrics, metrics, baseline, baseline_version=version)
    if gate.http is not None:
        return gaterun.run_http(gate.http, ctx)
    if gate.command is not None:
        return gaterun.run_command(gate.command, ctx)
    from envctl import vcs

    approvers = registry.approvers(target.model, target.version, target.stage)
    return gates.evaluate_approvals(
        gate.approvals.required, sorted(approvers), vcs.head_user(ws.root).email
    )


def _baseline(gate: Any, ws: Workspace, target: Target) -> tuple[dict[str, Any] | None, str | None]:
    from envctl import gaterun, gates

    if gate.baseline != "no_worse" or target.replaces is None:
        return None, None
    registry = read_registry(ws)
    current = registry.model(target.model)
    version = current.version(target.replaces) if current else None
    if version is None:
        return None, None
    reader = gaterun.model_file_reader(ws.root, version.commit, _model_rel(ws, target))
    raw = reader(gate.file)
    return (gates.parse_metrics(raw, gate.file) if raw is not None else None), version.version


def _model_rel(ws: Workspace, target: Target) -> str:
    project = ws.project
    assert project is not None
    model = project.config.models[target.model]
    return (project.root / model.path).resolve().relative_to(ws.root.resolve()).as_posix()


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
            f"{outcome.target.stage}: {wait.summary}; approve with envctl approve "
            f"{outcome.target.model}@{outcome.target.version} --for {outcome.target.stage}"
        )
    assert all(s == PASSED for s in statuses)


# ---- recording -----------------------------------------------------------------------


def _record(
    ws: Workspace,
    target: Target,
    env: Environment,
    outcome: Outcome,
    *,
    push: bool,
    remote: str,
    say: Progress,
    rollback_of: str | None = None,
) -> None:
    from envctl import vcs

    user = vcs.head_user(ws.root)
    data = reg.promotion_record(
        who_name=user.name,
        who_email=user.email,
        when=datetime.now(timezone.utc),
        from_stage=target.from_stage,
        env={"name": env.name, "spec_version": env.spec.version, "fingerprint": env.fingerprint},
        image=outcome.image_id or outcome.image,
        gates=[g.to_json() for g in outcome.gates],
        bypass=outcome.bypass,
        rollback_of=rollback_of,
    )
    verb = "rolls back" if rollback_of else "promotes"
    summary = f"{user.email} {verb} {target.model}@{target.version} to {target.stage}"
    for _attempt in range(PUSH_RETRIES + 1):
        with _registry_lock(ws.root):
            counter = read_registry(ws).next_counter(target.model)
            name = reg.assignment_tag(target.model, target.stage, counter)
            try:
                tag_id = vcs.create_annotated_tag(
                    ws.root, name, target.commit, reg.format_record(summary, data)
                )
            except TagExists:
                continue
        if not push:
            outcome.tag = name
            return
        try:
            vcs.push_tag(ws.root, remote, name)
        except PushRejected:
            # Someone promoted first: drop our tag, take theirs, re-check, retry.
            vcs.delete_tag(ws.root, name, expected=tag_id)
            say(f"{remote} already has {name}; fetching tags and retrying")
            vcs.fetch_tags(ws.root, remote)
            _recheck_after_fetch(ws, target)
            continue
        except BaseException:
            vcs.delete_tag(ws.root, name, expected=tag_id)
            raise
        outcome.tag, outcome.pushed = name, True
        return
    raise ExternalError(
        f"could not record {target.model}#{target.stage}: {remote} rejected "
        f"{PUSH_RETRIES + 1} pushes (others kept promoting); retry later"
    )


def _recheck_after_fetch(ws: Workspace, target: Target) -> None:
    """After fetching, the order must still hold (the previous stage's record is
    what we relied on) and the version must not already be in the stage."""
    registry = read_registry(ws)
    order = _order(registry, target)
    if order != "ok":
        raise GateFailed(f"after fetching tags: {order}")
    found = registry.model(target.model)
    current = found.stages.get(target.stage) if found else None
    if current is not None and current.version == target.version:
        raise GateFailed(
            f"{target.model}@{target.version} entered {target.stage} meanwhile "
            "(another promotion); nothing to do"
        )


@contextmanager
def _registry_lock(root: Path) -> Iterator[None]:
    """One writer of assignment tags per clone at a time (N must not repeat)."""
    git_dir = root / ".git"
    path = (git_dir if git_dir.is_dir() else root) / "envctl-registry.lock"
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# ---- rollback ------------------------------------------------------------------------


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
    project = _require_project(ws)
    registry = read_registry(ws)
    require_stage(ws, stage)
    model = pick_model(ws, registry, name)
    found = registry.model(model)
    current = found.stages.get(stage) if found else None
    if found is None or current is None or current.version is None:
        raise InputError(f"nothing to roll back: no version of {model} is in {stage}")
    previous = _previous_version(found, stage, current.version)
    hit = require_version(registry, model, previous)
    target = Target(model, previous, hit.commit, stage, None, current.version)
    env = load_environment(stage, project)
    outcome = Outcome(target, order="rollback")
    _record(
        ws,
        target,
        env,
        outcome,
        push=push,
        remote=remote,
        say=progress or (lambda _l: None),
        rollback_of=current.version,
    )
    outcome.status = "rolled back"
    return outcome


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
