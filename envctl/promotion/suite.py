"""Running a target stage's gates for a model version, in order, keeping evidence."""

from __future__ import annotations

from typing import Any

from envctl import registry as reg
from envctl.build.plan import model_relpath
from envctl.errors import InputError
from envctl.progress import Progress
from envctl.promotion.gates import FAILED, GateResult
from envctl.promotion.rules import Outcome, Target
from envctl.promotion.workspace import Workspace, read_registry
from envctl.spec.loading import Environment, Project


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
    from envctl.promotion import runners

    model = project.config.models.get(target.model)
    if model is None:
        raise InputError(f"model {target.model!r} is not declared in envctl.yaml models:")
    model_path = model_relpath(project, target.model, ws.root)
    ctx = runners.ImageContext(
        image=outcome.image or "",
        workdir="/opt/model",
        serve=model.serve,
        read_file=runners.model_file_reader(ws.root, target.commit, model_path),
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
    from envctl.promotion import gates, runners

    if gate.tests is not None:
        from envctl.build.testlayer import test_image

        image = test_image(env, outcome.image or "", gate.tests)
        return runners.run_tests(gate.tests, ctx, image=image)
    if gate.metrics is not None:
        metrics = gates.parse_metrics(ctx.read_file(gate.metrics.file), gate.metrics.file)
        baseline, version = _baseline(gate.metrics, ws, registry, target)
        return gates.evaluate_metrics(gate.metrics, metrics, baseline, baseline_version=version)
    if gate.http is not None:
        return runners.run_http(gate.http, ctx)
    if gate.command is not None:
        return runners.run_command(gate.command, ctx)
    from envctl import vcs

    approvers = registry.approvers(target.model, target.version, target.stage)
    return gates.evaluate_approvals(
        gate.approvals.required, sorted(approvers), vcs.head_user(ws.root).email
    )


def _baseline(
    gate: Any, ws: Workspace, registry: reg.Registry, target: Target
) -> tuple[dict[str, Any] | None, str | None]:
    from envctl.promotion import gates, runners

    if gate.baseline != "no_worse" or target.replaces is None:
        return None, None
    current = registry.model(target.model)
    version = current.version(target.replaces) if current else None
    if version is None:
        return None, None
    reader = runners.model_file_reader(ws.root, version.commit, _model_rel(ws, target))
    raw = reader(gate.file)
    return (gates.parse_metrics(raw, gate.file) if raw is not None else None), version.version


def _model_rel(ws: Workspace, target: Target) -> str:
    project = ws.project
    assert project is not None
    return model_relpath(project, target.model, ws.root)


def recheck_baselines(ws: Workspace, target: Target, env: Environment, outcome: Outcome) -> None:
    """After fetching another machine's promotion, the stage may hold a different
    version than the one the `baseline: no_worse` gates compared with: compare
    again against it. Updates the outcome's gate results; GateFailed if one fails."""
    from dataclasses import replace

    from envctl.errors import GateFailed
    from envctl.promotion import gates, runners

    registry = read_registry(ws)
    found = registry.model(target.model)
    current = found.stages.get(target.stage) if found else None
    now = current.version if current else None
    if now == target.replaces:
        return
    moved = replace(target, replaces=now)
    read = runners.model_file_reader(ws.root, target.commit, _model_rel(ws, target))
    for index, gate in enumerate(env.spec.gates):
        if gate.metrics is None or gate.metrics.baseline is None:
            continue
        metrics = gates.parse_metrics(read(gate.metrics.file), gate.metrics.file)
        baseline, version = _baseline(gate.metrics, ws, registry, moved)
        result = gates.evaluate_metrics(gate.metrics, metrics, baseline, baseline_version=version)
        outcome.gates[index] = result
        if result.status == FAILED:
            raise GateFailed(
                f"after fetching tags, {target.stage} holds {now}: gate metrics failed for "
                f"{target.model}@{target.version}: {result.summary}"
            )
    outcome.target = moved
