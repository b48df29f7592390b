"""Running a target stage's gates for a model version, in order, keeping evidence."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache, partial
from typing import Any, assert_never

from envctl import registry as reg
from envctl.build.plan import model_relpath
from envctl.errors import InputError
from envctl.gates import checks, runners
from envctl.gates.checks import GateSpec, gate_kind, gate_spec
from envctl.gates.events import GateEvent, GateProgress, unwatched
from envctl.gates.placement import GateEngine, ran_on
from envctl.gates.resources import StageResources
from envctl.registry.results import FAILED, SKIPPED, GateResult
from envctl.registry.target import Target
from envctl.registry.workspace import Workspace
from envctl.spec.loading import Environment, Project
from envctl.spec.types import (
    ApprovalsGate,
    CommandGate,
    EvaluateGate,
    HttpGate,
    LoadGate,
    MetricsGate,
    TestsGate,
    VulnerabilitiesGate,
)
from envctl.supply.sbom import Made


@dataclass(frozen=True)
class _Run:
    """What every gate of one run may need."""

    ws: Workspace
    registry: reg.Registry
    target: Target
    env: Environment
    model_path: str  # the model's folder, relative to the repository root
    context: runners.ImageContext
    project: Project
    sbom: Callable[[], Made]  # the image's SBOM, made once (a probe) when first asked


def sbom_once(image: str) -> Callable[[], Made]:
    """The SBOM of `image`, made by the first call only: the vulnerabilities gate
    and the promotion record share one probe of the image."""
    from envctl.supply import sbom

    return cache(partial(sbom.of_image, image))


def run_gates(
    project: Project,
    ws: Workspace,
    registry: reg.Registry,
    target: Target,
    env: Environment,
    *,
    image: str,
    on_gate: GateProgress = unwatched,
    where: GateEngine | None = None,
    sbom: Callable[[], Made] | None = None,
) -> tuple[GateResult, ...]:
    """Each gate in order, one result per gate; after a failure the rest are not
    run (their results say skipped). `where`: the engine they run on (in use now),
    named in their evidence; with its GPU bypass, containers ask for no GPUs.
    `sbom`: the image's SBOM, when the caller needs it too (sbom_once)."""
    model_path = _model_rel(project, ws, target)
    gpus = runners.gate_gpus(env.spec)
    context = runners.ImageContext(
        image=image,
        workdir="/opt/model",
        serve=project.config.models[target.model].serve,
        read_file=runners.model_file_reader(ws.root, target.commit, model_path),
        gpus=0 if where is not None and where.gpu_bypass is not None else gpus,
        resources=StageResources.of(env.spec),
        model_dir=model_path,
    )
    run = _Run(ws, registry, target, env, model_path, context, project, sbom or sbom_once(image))
    specs = [gate_spec(g) for g in env.spec.gates]
    require_request_files(specs, context)
    return run_in_order(specs, lambda spec: ran_on(_run_gate(spec, run), where), on_gate=on_gate)


def require_request_files(specs: Sequence[GateSpec], context: runners.ImageContext) -> None:
    """Every http and load gate's request file, before any gate runs: a missing one
    stops the promotion now, not after the gates before it have served the model."""
    for spec in specs:
        request = spec.request if isinstance(spec, (HttpGate, LoadGate)) else None
        if request is not None and context.read_file(request) is None:
            raise runners.missing_model_file(gate_kind(spec), "request", request, context)


def run_in_order(
    specs: Sequence[GateSpec],
    run_one: Callable[[GateSpec], GateResult],
    *,
    on_gate: GateProgress = unwatched,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[GateResult, ...]:
    """`run_one` on each gate in order, timed by `clock`, reporting each start and
    end to `on_gate`; once one has failed the rest are skipped (reported as ended)."""
    results: list[GateResult] = []
    for index, spec in enumerate(specs, start=1):
        kind = gate_kind(spec)
        if any(r.status == FAILED for r in results):
            result = checks.skipped(spec)
        else:
            on_gate(GateEvent(index, len(specs), kind))
            result = timed(partial(run_one, spec), clock)
        on_gate(GateEvent(index, len(specs), kind, result))
        results.append(result)
    return tuple(results)


def timed(run: Callable[[], GateResult], clock: Callable[[], float] = time.monotonic) -> GateResult:
    """`run()`'s result, carrying how many seconds it took."""
    started = clock()
    result = run()
    return replace(result, seconds=round(clock() - started, 3))


def _run_gate(spec: GateSpec, run: _Run) -> GateResult:
    match spec:
        case TestsGate():
            from envctl.build.testlayer import test_image

            image = test_image(run.env, run.context.image, spec)
            return runners.run_tests(spec, run.context, image=image)
        case MetricsGate():
            return _metrics(spec, run.ws, run.registry, run.target, run.model_path)
        case HttpGate():
            return runners.run_http(spec, run.context)
        case CommandGate():
            return runners.run_command(spec, run.context)
        case ApprovalsGate():
            return _approvals(spec, run.ws, run.registry, run.target)
        case VulnerabilitiesGate():
            return _vulnerabilities(spec, run)
        case LoadGate():
            return _load(spec, run)
        case EvaluateGate():
            return _evaluate(spec, run)
        case _:
            assert_never(spec)


def _load(gate: LoadGate, run: _Run) -> GateResult:
    from envctl.gates import declared, load

    model = run.project.config.models[run.target.model]
    severity = declared.gravity(run.target.stage, run.project.config.stages, gate.requires)
    context = load.LoadContext(
        requires=model.requires,
        severity=severity,
        baseline=_load_baseline(gate, run.registry, run.target) if gate.compares else None,
    )
    return load.run_load(gate, run.context, context)


def _load_again(
    gate: LoadGate, result: GateResult, registry: reg.Registry, target: Target
) -> GateResult:
    from envctl.gates.load import rejudged

    return rejudged(gate, result, _load_baseline(gate, registry, target))


def _load_baseline(
    gate: LoadGate, registry: reg.Registry, target: Target
) -> checks.Baseline | None:
    """The load the champion (the version now in the stage) was recorded with when it
    entered the stage; None when the stage holds no other version."""
    from envctl.gates.load import recorded_load

    found = _champion(registry, target)
    if found is None:
        return None
    version, record = found
    recorded = recorded_load(record, gate.path)
    return checks.Baseline(recorded, version.version, "record" if recorded else None)


def _champion(
    registry: reg.Registry, target: Target
) -> tuple[reg.ModelVersion, dict[str, Any] | None] | None:
    """The version now in the stage (the champion, which `target` replaces) and the
    record of the stage's last assignment; None when the stage holds no other version."""
    if target.replaces is None:
        return None
    current = registry.model(target.model)
    version = current.version(target.replaces) if current else None
    if current is None or version is None:
        return None
    event = current.stages.get(target.stage)
    return version, event.record if event else None


def _vulnerabilities(gate: VulnerabilitiesGate, run: _Run) -> GateResult:
    from datetime import date

    from envctl.gates import vulnerabilities

    db = vulnerabilities.database_for(gate, run.ws.root)  # no database: exit 3 before probing
    made = run.sbom()
    return vulnerabilities.evaluate(
        gate, made.sbom.components, db, today=date.today(), sbom_digest=made.sha256
    )


def _evaluate(gate: EvaluateGate, run: _Run) -> GateResult:
    from envctl.gates import answers, declared, evaluation

    held = run.env.spec.data.evaluation[gate.data]
    if held.host_file is not None:
        from envctl import engine

        raw = engine.read_host_file(run.context.image, held.host_file)
    else:
        assert held.file is not None  # the spec gives exactly one of them
        raw = evaluation_file(run.ws, run.env, held.file)
    data = evaluation.labelled_set(gate.data, held, raw)
    claimed = None
    if gate.claims is not None:
        raw = run.context.read_file(gate.claims)
        claimed = checks.parse_metrics(raw, gate.claims) if raw is not None else None
    baseline = _measured_baseline(gate, run.registry, run.target)
    model = run.project.config.models[run.target.model]
    return answers.run_evaluate(
        gate,
        run.context,
        data,
        baseline,
        claimed=claimed,
        requires=model.requires,
        severity=declared.gravity(run.target.stage, run.project.config.stages, gate.requires),
    )


def evaluation_file(ws: Workspace, env: Environment, file: str) -> bytes | None:
    """An evaluation set's bytes, read where the stage's spec was read: the work
    tree, or the revision a signed stage's spec comes from. Never the version's
    commit: what a model is measured on is not the model's to change."""
    from envctl import paths, vcs

    project = ws.project
    if project is None:
        raise InputError("the evaluate gate reads its data relative to a project (envctl.yaml)")
    path = project.root / file
    if env.rev is not None:
        relpath = path.resolve().relative_to(ws.root.resolve()).as_posix()
        return vcs.read_at(ws.root, env.rev, relpath)
    path = paths.inside(path, project.root, what=f"evaluation set {file}")
    return path.read_bytes() if path.is_file() else None


def _measured_baseline(
    gate: EvaluateGate, registry: reg.Registry, target: Target
) -> checks.Baseline | None:
    """What the version now in the stage (the champion) measured on the same named
    set when it entered: its record's evaluate evidence."""
    found = _champion(registry, target) if gate.compares else None
    if found is None:
        return None
    version, record = found
    from envctl.gates.evaluation import recorded_sha256

    values = checks.recorded_values(record, gate.data, kind="evaluate", key="data")
    source = "record" if values else None
    return checks.Baseline(values, version.version, source, recorded_sha256(record, gate.data))


def _approvals(
    gate: ApprovalsGate, ws: Workspace, registry: reg.Registry, target: Target
) -> GateResult:
    from envctl import vcs

    approvers = registry.approvers(target.model, target.version, target.stage)
    promoter = vcs.head_user(ws.root).email
    return checks.evaluate_approvals(gate.required, sorted(approvers), promoter)


def _metrics(
    gate: MetricsGate, ws: Workspace, registry: reg.Registry, target: Target, model_path: str
) -> GateResult:
    read = runners.model_file_reader(ws.root, target.commit, model_path)
    metrics = checks.parse_metrics(read(gate.file), gate.file)
    baseline, version, source = _baseline(gate, ws, registry, target, model_path)
    return checks.evaluate_metrics(
        gate, metrics, baseline, baseline_version=version, baseline_source=source
    )


def _baseline(
    gate: MetricsGate, ws: Workspace, registry: reg.Registry, target: Target, model_path: str
) -> tuple[dict[str, Any] | None, str | None, str | None]:
    """The metrics of the version now in the stage (the champion), when the gate
    compares with it, and where they came from: its recorded evidence in the
    stage's last assignment record, else its metrics file at its commit."""
    found = _champion(registry, target) if gate.compares else None
    if found is None:
        return None, None, None
    version, record = found
    recorded = checks.recorded_metrics(record, gate.file)
    if recorded and all(name in recorded for name in gate.require):
        return recorded, version.version, "record"
    raw = runners.model_file_reader(ws.root, version.commit, model_path)(gate.file)
    from_file = checks.parse_metrics(raw, gate.file) if raw is not None else None
    if from_file is None:
        return (recorded or None), version.version, "record" if recorded else None
    return {**from_file, **recorded}, version.version, "record+file" if recorded else "file"


def _model_rel(project: Project, ws: Workspace, target: Target) -> str:
    model = project.config.models.get(target.model)
    if model is None:
        raise InputError(f"model {target.model!r} is not declared in envctl.yaml models:")
    return model_relpath(project, target.model, ws.root)


def recheck_gates(
    project: Project,
    ws: Workspace,
    registry: reg.Registry,
    target: Target,
    env: Environment,
    results: tuple[GateResult, ...],
) -> tuple[GateResult, ...]:
    """The results as they stand on `registry` (the ledger a tag is about to be
    written against): `baseline: no_worse` metrics, and a load gate's relative SLO
    rules, compared again when the stage now holds another version than the one
    compared with (pure: the metrics files are read from the commits, the load is
    the one measured), approvals counted again. The other gates run in the image
    keep their results: nothing they checked depends on the ledger."""
    model_path = _model_rel(project, ws, target)
    specs = [gate_spec(g) for g in env.spec.gates]
    if len(specs) != len(results):
        return results
    again: list[GateResult] = []
    for spec, result in zip(specs, results, strict=True):
        if isinstance(spec, MetricsGate) and spec.compares and result.passed:
            if result.evidence.get("baseline_version") != target.replaces:
                result = timed(partial(_metrics, spec, ws, registry, target, model_path))
        elif isinstance(spec, LoadGate) and spec.compares and result.passed:
            if result.evidence.get("baseline_version") != target.replaces:
                result = _load_again(spec, result, registry, target)
        elif isinstance(spec, EvaluateGate) and spec.compares and result.passed:
            if result.evidence.get("baseline_version") != target.replaces:
                from envctl.gates import evaluation

                baseline = _measured_baseline(spec, registry, target)
                empty = checks.Baseline({}, None)
                result = evaluation.rejudged(spec, result, baseline or empty)
        elif isinstance(spec, ApprovalsGate) and result.status != SKIPPED:
            result = timed(partial(_approvals, spec, ws, registry, target))
        again.append(result)
    return tuple(again)
