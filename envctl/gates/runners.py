"""Running the gates that need the model's image: tests, http, command.

Every container runs with networking off and is removed however the gate ends
(the engine adapter guarantees it), under the target stage's CPU quota, memory
limit (no swap beyond it), env and GPUs (`resources`), recorded in the evidence.
The http gate sends its request from a process exec'd inside the serving
container, i.e. over that container's own loopback (and within its budget): no
container network and no published port is ever needed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envctl.errors import EngineError, InputError
from envctl.gates import checks
from envctl.gates.resources import Limits, StageResources, applied
from envctl.registry.results import FAILED, PASSED, GateResult
from envctl.spec.project_file import Serve
from envctl.spec.types import CommandGate, HttpGate, Spec, TestsGate
from envctl.vocabulary import GateKind

if TYPE_CHECKING:
    from envctl.engine import ContainerOptions, Service

PYTHON = "/opt/venv/bin/python"

# The in-container clients' wait for the server: polls `health` until it answers
# 200, else calls `unhealthy(error)` at `deadline`. Needs call, base, health,
# deadline and unhealthy defined before it.
WAIT_HEALTHY = r"""
last = ""
while True:
    try:
        status, _ = call(base + health)
        if status == 200:
            break
        last = "health answered %d" % status
    except Exception as e:
        last = "health: %s" % (e,)
    if time.time() > deadline:
        unhealthy("server not healthy in time (" + last + ")")
    time.sleep(0.25)
"""

# Polls health, then sends the request; prints one JSON line. Runs inside the image.
_HTTP_CLIENT = (
    r"""
import json, os, sys, time, urllib.error, urllib.request
port, health, path, method, deadline = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], time.time() + float(sys.argv[5])
base = "http://127.0.0.1:" + port
def call(url, data=None, method="GET"):
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
def unhealthy(error):
    print(json.dumps({"status": None, "body": "", "error": error}))
    sys.exit(0)
"""
    + WAIT_HEALTHY
    + r"""
body = os.environ.get("ENVCTL_HTTP_BODY")
status, text = call(base + path, body.encode() if body is not None else None, method)
print(json.dumps({"status": status, "body": text, "error": ""}))
"""
)


@dataclass(frozen=True)
class ImageContext:
    image: str
    workdir: str  # the model's folder inside the image
    serve: Serve | None
    read_file: Callable[[str], bytes | None]  # model-relative path at the version's commit
    gpus: int = 0  # the stage's GPUs: each gate container requests them, or fails saying so
    resources: StageResources = field(default_factory=lambda: StageResources(stage=""))
    model_dir: str = "."  # the model's folder in the repository, which read_file is under


def missing_model_file(gate: str, key: str, relpath: str, ctx: ImageContext) -> InputError:
    """A gate's file absent at the version's commit. Says where it was looked for:
    a new user writes a path from the project's root, but gate paths are the model's."""
    where = f"{ctx.model_dir.rstrip('/')}/{relpath}"
    return InputError(
        f"{gate} gate: {key} file {where} does not exist at that version's commit "
        f"(the gate's {key}: {relpath} is relative to the model's folder, models.<name>.path): "
        f"commit it there or correct {key}: in the stage's spec"
    )


def gate_gpus(spec: Spec) -> int:
    """The GPUs each of the stage's gate containers requests: a gate is evidence only
    if it ran with what the stage has."""
    gpu = spec.compute.gpu
    if gpu.count and gpu.vendor != "nvidia":
        raise InputError(
            f"{spec.name} declares {gpu.vendor} GPUs; gate containers can request only "
            "NVIDIA GPUs (Docker device requests), so its gates cannot run as the stage runs"
        )
    return gpu.count


def stage_limits(ctx: ImageContext) -> Limits:
    """The stage's limits cut to the engine's host (asked only when a quota is set)."""
    from envctl import engine

    host = engine.host_cpus() if ctx.resources.cpu is not None else None
    return applied(ctx.resources, host)


def limit_options(limits: Limits, gpus: int) -> ContainerOptions:
    """The container options that make a gate container run as the stage runs."""
    options: ContainerOptions = {"environment": dict(limits.env), "gpus": gpus}
    if limits.memory is not None:
        options["memory"] = limits.memory
    if limits.nano_cpus is not None:
        options["nano_cpus"] = limits.nano_cpus
    return options


def under_limits(result: GateResult, limits: Limits, *, oom_killed: bool) -> GateResult:
    """`result` carrying the limits it ran under; an OOM kill fails it, named as such."""
    evidence = {**result.evidence, "limits": limits.evidence()}
    if oom_killed:
        return replace(
            result,
            status=FAILED,
            summary=limits.oom_message(),
            evidence={**evidence, "oom_killed": True},
        )
    note = limits.note()
    summary = f"{result.summary} ({note})" if note else result.summary
    return replace(result, summary=summary, evidence=evidence)


def server_exited(
    kind: GateKind, svc: Service, limits: Limits, evidence: Mapping[str, Any]
) -> GateResult | None:
    """The gate's failure when the model's server stopped before a client could start
    beside it (the engine refuses an exec in a stopped container, or a sidecar in its
    network): killed for memory, or exited on its own, its log's last line in the
    summary. None while it still runs: then the engine failed, not the model."""
    from envctl import engine

    if engine.is_running(svc):
        return None
    oom = engine.oom_killed(svc, settle=engine.OOM_SETTLE)
    logs = engine.container_logs(svc, tail=20)
    last = _tail(logs, 1) or "no output"
    summary = f"the model's server exited before it answered; its log ends: {last}"
    failed = GateResult(kind, FAILED, summary, {**evidence, "server_log_tail": logs})
    return under_limits(failed, limits, oom_killed=oom)


def run_tests(gate: TestsGate, ctx: ImageContext, *, image: str) -> GateResult:
    """pytest inside `image` (the target image, or a test layer built above it)."""
    from envctl import engine

    argv = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", *gate.paths]
    limits = stage_limits(ctx)
    options = limit_options(limits, ctx.gpus)
    options["environment"] = {**options.get("environment", {}), "PYTHONDONTWRITEBYTECODE": "1"}
    options["workdir"] = ctx.workdir
    result = engine.run(image, argv, timeout=gate.timeout, **options)
    verdict = tests_result(
        gate,
        exit_code=result.exit_code,
        output=result.stdout + result.stderr,
        timed_out=result.timed_out,
    )
    return under_limits(verdict, limits, oom_killed=result.oom_killed)


def tests_result(gate: TestsGate, *, exit_code: int, output: str, timed_out: bool) -> GateResult:
    """The tests gate's verdict on a finished pytest run (pure)."""
    counts = checks.pytest_counts(output)
    evidence = {
        "paths": list(gate.paths),
        "exit_code": exit_code,
        "counts": counts,
        "timed_out": timed_out,
        "output_tail": _tail(output),
    }
    shown = ", ".join(f"{n} {w}" for w, n in counts.items()) or "no summary"
    if timed_out:
        return GateResult("tests", FAILED, f"pytest timed out after {gate.timeout}s", evidence)
    if exit_code != 0:
        return GateResult("tests", FAILED, f"pytest exited {exit_code} ({shown})", evidence)
    return GateResult("tests", PASSED, shown, evidence)


def run_http(gate: HttpGate, ctx: ImageContext) -> GateResult:
    from envctl import engine

    if ctx.serve is None:
        raise InputError(
            "the http gate needs models.<name>.serve in envctl.yaml (command, port, health)"
        )
    body = None
    if gate.request is not None:
        raw = ctx.read_file(gate.request)
        if raw is None:
            raise missing_model_file("http", "request", gate.request, ctx)
        body = raw.decode("utf-8")
    argv = [
        PYTHON,
        "-c",
        _HTTP_CLIENT,
        str(ctx.serve.port),
        ctx.serve.health,
        gate.path,
        gate.method,
        str(gate.timeout),
    ]
    env = {"ENVCTL_HTTP_BODY": body} if body is not None else {}
    limits = stage_limits(ctx)
    options = limit_options(limits, ctx.gpus)
    options["workdir"] = ctx.workdir
    with engine.service(ctx.image, list(ctx.serve.command), **options) as svc:
        try:
            answer = engine.exec_in(svc, argv, timeout=gate.timeout + 15, environment=env)
        except EngineError:
            died = server_exited("http", svc, limits, {"path": gate.path})
            if died is None:
                raise
            return died
        logs = engine.container_logs(svc, tail=20) if not answer.ok else ""
        # A failed check may be a server dying of memory whose OOM flag is still landing.
        oom = engine.oom_killed(svc, settle=0.0 if answer.ok else engine.OOM_SETTLE)
    verdict = http_result(gate, answer.stdout, answer.stderr, logs, timed_out=answer.timed_out)
    return under_limits(verdict, limits, oom_killed=oom)


def http_result(
    gate: HttpGate, stdout: str, stderr: str, logs: str, *, timed_out: bool
) -> GateResult:
    """The http gate's verdict on the in-container client's one JSON line (pure)."""
    try:
        reply = json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        error = "timed out" if timed_out else f"request failed: {_tail(stderr, 3) or 'no output'}"
        result = checks.evaluate_http(gate, None, "", error=error)
        return replace(result, evidence={**result.evidence, "server_log_tail": logs})
    result = checks.evaluate_http(gate, reply["status"], reply["body"], error=reply["error"])
    if not result.passed and logs:
        return replace(result, evidence={**result.evidence, "server_log_tail": logs})
    return result


def run_command(gate: CommandGate, ctx: ImageContext) -> GateResult:
    from envctl import engine

    limits = stage_limits(ctx)
    options = limit_options(limits, ctx.gpus)
    options["workdir"] = ctx.workdir
    result = engine.run(ctx.image, list(gate.run), timeout=gate.timeout, **options)
    verdict = command_result(
        gate,
        exit_code=result.exit_code,
        output=result.stdout + result.stderr,
        timed_out=result.timed_out,
    )
    return under_limits(verdict, limits, oom_killed=result.oom_killed)


def command_result(
    gate: CommandGate, *, exit_code: int, output: str, timed_out: bool
) -> GateResult:
    """The command gate's verdict on a finished run (pure): exit 0 in time passes."""
    evidence = {
        "argv": list(gate.run),
        "exit_code": exit_code,
        "timed_out": timed_out,
        "output_tail": _tail(output),
    }
    if exit_code == 0 and not timed_out:
        return GateResult("command", PASSED, f"{' '.join(gate.run)} exited 0", evidence)
    why = f"timed out after {gate.timeout}s" if timed_out else f"exited {exit_code}"
    return GateResult("command", FAILED, f"{' '.join(gate.run)} {why}", evidence)


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def model_file_reader(root: Path, commit: str, model_path: str) -> Callable[[str], bytes | None]:
    from envctl import vcs

    def read(relpath: str) -> bytes | None:
        return vcs.read_at(root, commit, f"{model_path.rstrip('/')}/{relpath}")

    return read
