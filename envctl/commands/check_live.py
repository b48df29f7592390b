"""check-live: the stage's http gates (and a metrics endpoint) run against the
service the stage already serves; with `policy.live.rollback: auto`, a failure
records a rollback to the stage's previous version.

For an unattended job (cron, a CI schedule): exit 0 the service answers as its
gates say, 1 it does not (rolled back or not: the report says), 3 broken input,
4 git or the push of the rollback failed. The policy `rollback: auto` is the
confirmation a person gives `envctl rollback` in a stage with approvals.
"""

from __future__ import annotations

from dataclasses import replace

from envctl import registry as reg
from envctl.build.plan import model_relpath
from envctl.errors import (
    AwaitingDeployment,
    EnvctlError,
    GateFailed,
    InputError,
    LiveCheckFailed,
)
from envctl.gates import live
from envctl.gates.checks import Baseline
from envctl.gates.live import LiveCheck
from envctl.gates.runners import model_file_reader
from envctl.ledger.lock import DEFAULT_TIMEOUT
from envctl.ledger.trust import read_verified, require_signing, stage_environment
from envctl.progress import Progress, silent
from envctl.promotion.rollback import record_rollback
from envctl.registry.rollbacks import Choice, choose_previous, nothing_safe
from envctl.registry.target import Target
from envctl.registry.workspace import (
    Workspace,
    pick_model,
    require_project,
    require_stage,
    require_version,
    workspace,
)
from envctl.spec import values
from envctl.spec.loading import Environment, Project
from envctl.spec.project_file import Serve
from envctl.spec.types import LiveChecks

REASON = "check-live failed"


def check_live(
    name: str | None,
    *,
    stage: str,
    url: str | None = None,
    push: bool = False,
    remote: str = "origin",
    lock_timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
) -> LiveCheck:
    """Check the version `stage` holds where it runs (`url`, else policy.live.url).
    A failed check raises LiveCheckFailed, its report the LiveCheck (with the
    rollback, when the policy says `rollback: auto` and there is a version to
    put back)."""
    say = progress or silent
    ws = workspace()
    project = require_project(ws)
    registry = read_verified(ws).trusted  # in signed stages, only events that count
    require_stage(ws, stage)
    model = pick_model(ws, registry, name)
    found = registry.model(model)
    current = found.stages.get(stage) if found else None
    if found is None or current is None or current.version is None:
        raise InputError(f"nothing to check: no version of {model} is in {stage}")
    env = stage_environment(ws, stage)
    policy = env.spec.policy.live if env.spec.policy else None
    baseline = live.live_baseline(found, stage, current.version)
    result = _run(ws, project, env, model, current, policy, url=url, baseline=baseline, say=say)
    if not result.failed:
        return result
    previous = choose_previous(found, stage, current.version)
    raise _failure(ws, registry, env, result, previous, push=push, remote=remote,
                   lock_timeout=lock_timeout, say=say)  # fmt: skip


def _failure(
    ws: Workspace,
    registry: reg.Registry,
    env: Environment,
    result: LiveCheck,
    previous: Choice,
    *,
    push: bool,
    remote: str,
    lock_timeout: float,
    say: Progress,
) -> EnvctlError:
    """The error a failed check ends in, after the rollback the policy asks for."""
    why, model, stage = _why(result), result.model, result.stage
    if result.rollback_policy == "manual":
        why += (
            f"; rollback: manual, so {stage} is unchanged "
            f"(to roll back: envctl rollback {model} --stage {stage})"
        )
    elif previous.version is None:
        why += f"; {nothing_safe(model, stage, previous)}"
    else:
        try:
            done = _roll_back(ws, registry, env, result, previous.version, skipped=previous.note,
                              push=push, remote=remote,
                              lock_timeout=lock_timeout, say=say)  # fmt: skip
        except GateFailed as exc:  # the stage changed meanwhile
            why += f"; the rollback was not recorded: {exc.message}"
        except EnvctlError as exc:  # git, the push, signing: the checks' report still stands
            exc.report = replace(result, status="failed", message=f"{why}; {exc.message}")
            return exc
        else:
            return LiveCheckFailed(done.message or why, report=done)
    return LiveCheckFailed(why, report=replace(result, status="failed", message=why))


def _run(
    ws: Workspace,
    project: Project,
    env: Environment,
    model: str,
    current: reg.StageEvent,
    policy: LiveChecks | None,
    *,
    url: str | None,
    baseline: Baseline,
    say: Progress,
) -> LiveCheck:
    base = _base_url(url, policy, env.name)
    http_gates = [g.http for g in env.spec.gates if g.http is not None]
    metrics = policy.metrics if policy else None
    if not http_gates and metrics is None:
        raise InputError(
            f"nothing to check in {env.name}: its spec has no http gate and no policy.live.metrics"
        )
    if model not in project.config.models:
        raise InputError(f"model {model!r} is not declared in envctl.yaml models:")
    read = model_file_reader(ws.root, current.commit, model_relpath(project, model, ws.root))
    version = current.version or current.commit
    rollback = policy.rollback if policy else "manual"
    # Loopback only for a URL the person running envctl gave: a spec's URL may
    # come from a checkout nobody reviewed, and the request leaves from this host.
    loopback = url is not None
    timeouts = [g.timeout for g in http_gates] + ([metrics.timeout] if metrics else [])
    running = live.running_version(
        base, _health(project, model), timeout=min(timeouts), allow_loopback=loopback
    )
    report = LiveCheck(model, env.name, version, current.commit, base, (), rollback,
                       running_version=running.version,
                       version_probe=running.evidence)  # fmt: skip
    if running.version is not None and not running.runs(model, version):
        message = (
            f"waiting for the deployment of {model}@{version} to {env.name} "
            f"(service still runs {running.version}); nothing checked"
        )
        raise AwaitingDeployment(message, report=replace(report, status="waiting", message=message))
    say(f"checking {model}@{version} in {env.name} at {base}" + _runs(running.version))
    checks = live.run_checks(
        http_gates, metrics, base, read, allow_loopback=loopback, baseline=baseline
    )
    for check in checks:
        say(f"{check.kind}: {check.status}: {check.summary}")
    return replace(report, checks=checks)


def _health(project: Project, model: str) -> str:
    serve = project.config.models[model].serve
    return serve.health if serve is not None else Serve.model_fields["health"].default


def _runs(reported: str | None) -> str:
    if reported is None:
        return " (the service does not say which version it runs)"
    return f" (the service runs {reported})"


def _base_url(url: str | None, policy: LiveChecks | None, stage: str) -> str:
    if url is None:
        if policy is None or policy.url is None:
            raise InputError(
                f"where does {stage} run? pass --url URL, or set policy.live.url in its spec"
            )
        return policy.url
    try:
        return values.service_url(url)
    except ValueError as exc:
        raise InputError(f"--url: {exc}") from None


def _why(result: LiveCheck) -> str:
    first, more = result.failed[0], len(result.failed) - 1
    return (
        f"{REASON} for {result.model}@{result.version} in {result.stage}: "
        f"{first.kind}: {first.summary}" + (f" (+{more} more)" if more else "")
    )


def _roll_back(
    ws: Workspace,
    registry: reg.Registry,
    env: Environment,
    result: LiveCheck,
    version: str,
    *,
    skipped: str,
    push: bool,
    remote: str,
    lock_timeout: float,
    say: Progress,
) -> LiveCheck:
    """The rollback `rollback: auto` asks for: the policy is its confirmation.
    `skipped` names the newer versions passed over because they failed there."""
    sign = require_signing(ws, result.stage, "rolling back")
    hit = require_version(registry, result.model, version)
    target = Target(result.model, version, hit.commit, result.stage, None, result.version)
    skipping = f", skipping {skipped}" if skipped else ""
    say(f"roll back {result.stage}: {result.model}@{result.version} -> {result.model}@{version}"
        f"{skipping}")  # fmt: skip
    cause = {
        "reason": REASON,
        "version": result.version,
        "url": result.url,
        "running_version": result.running_version,
        "version_probe": dict(result.version_probe or {}),
        "checks": [live.for_record(c) for c in result.checks],  # no response bodies
    }
    outcome = record_rollback(
        ws, env, target, registry=registry, sign=sign, push=push, remote=remote,
        lock_timeout=lock_timeout, say=say, cause=cause,
    )  # fmt: skip
    message = f"{_why(result)}; rolled back {result.stage} to {result.model}@{version}{skipping}"
    return replace(
        result, status="rolled back", rollback=outcome.tag, restored=version,
        pushed=outcome.pushed, message=message,
    )  # fmt: skip
