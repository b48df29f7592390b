"""The evaluate gate's run: the model served in the stage's image, under the stage's
limits, answering the evaluation set's inputs through its own serving API.

As for the http gate, the client is a process exec'd in the serving container
(networking off, its own loopback): it waits for health, then POSTs the inputs
in batches (`{"instances": [...]}`) and prints every answer as one JSON line.
Only the inputs enter the container, as a file copied in before the server
starts; the labels never leave the host, where `evaluation` computes the metrics.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from envctl.errors import EngineError, InputError
from envctl.gates import checks, declared, evaluation, peaks
from envctl.gates.runners import (
    PYTHON,
    WAIT_HEALTHY,
    ImageContext,
    limit_options,
    server_exited,
    stage_limits,
    under_limits,
)
from envctl.registry.results import FAILED, GateResult
from envctl.spec.project_file import Requires
from envctl.spec.types import EvaluateGate
from envctl.vocabulary import MEASURED

INPUTS_DIR = "/tmp"  # every image has it; the file is copied in before the server starts
INPUTS_NAME = "envctl-evaluate-inputs.json"
INPUTS_FILE = f"{INPUTS_DIR}/{INPUTS_NAME}"

# Waits for health, then sends the inputs in batches; prints one JSON line. Runs in the image.
_BATCH_CLIENT = (
    r"""
import json, sys, time, urllib.error, urllib.request
port, health, path, key, batch, budget, inputs = sys.argv[1:8]
deadline, batch, base = time.time() + float(budget), int(batch), "http://127.0.0.1:" + port
def call(url, data=None):
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=max(1.0, deadline - time.time())) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
def done(answers, error):
    print(json.dumps({"answers": answers, "error": error}))
    sys.exit(0)
def unhealthy(error):
    done([], error)
"""
    + WAIT_HEALTHY
    + r"""
rows, answers = json.load(open(inputs)), []
for start in range(0, len(rows), batch):
    body = json.dumps({key: rows[start:start + batch]}).encode()
    try:
        status, text = call(base + path, body)
    except Exception as e:
        done(answers, "POST %s for inputs %d-%d: %s" % (path, start, start + batch - 1, e))
    if status != 200:
        done(answers, "POST %s answered %d for inputs %d-%d: %s"
             % (path, status, start, start + batch - 1, text[:200]))
    try:
        answers.append(json.loads(text))
    except ValueError:
        done(answers, "POST %s answered %r, not JSON" % (path, text[:200]))
done(answers, "")
"""
)


def run_evaluate(
    gate: EvaluateGate,
    ctx: ImageContext,
    data: evaluation.LabelledSet,
    baseline: checks.Baseline | None,
    *,
    claimed: Mapping[str, Any] | None = None,
    requires: Requires | None = None,
    severity: declared.Gravity = "warning",
) -> GateResult:
    """Serve the model, send it the inputs, measure its answers against the labels;
    the server's peak memory meanwhile is checked against `requires.memory`."""
    from envctl import engine

    if ctx.serve is None:
        raise InputError(
            "the evaluate gate needs models.<name>.serve in envctl.yaml (command, port, health)"
        )
    evaluation.sklearn_metrics()  # missing: say so before serving anything
    argv = [PYTHON, "-c", _BATCH_CLIENT, str(ctx.serve.port), ctx.serve.health, gate.path,
            gate.inputs, str(gate.batch), str(gate.timeout), INPUTS_FILE]  # fmt: skip
    limits = stage_limits(ctx)
    options = limit_options(limits, ctx.gpus)
    options["workdir"] = ctx.workdir
    options["archives"] = {INPUTS_DIR: inputs_archive(data)}
    with engine.service(ctx.image, list(ctx.serve.command), **options) as svc:
        try:
            with peaks.sampling(svc) as sampler:
                reply = engine.exec_in(svc, argv, timeout=gate.timeout + 15)
        except EngineError:
            died = server_exited("evaluate", svc, limits, data.evidence())
            if died is None:
                raise
            return died
        answered = _reply(reply.stdout)
        logs = engine.container_logs(svc, tail=20) if answered.get("error", "?") else ""
        oom = engine.oom_killed(svc, settle=engine.OOM_SETTLE if logs else 0.0)
    if reply.timed_out:
        answered = {"answers": [], "error": f"no answer within {gate.timeout}s"}
    result = measured(gate, data, answered, baseline, claimed=claimed, logs=logs)
    seen = sampler.peaks
    result = replace(result, evidence={**result.evidence, "service": seen.evidence()})
    # Memory only: the client sends batches as fast as the model answers, so the
    # server uses every CPU it is given, whatever it needs at prod's rate (what
    # the load gate measures); its peak memory is what it needs to load and answer.
    found = declared.excesses(replace(seen, cpu=None), requires or Requires(), severity)
    return under_limits(declared.judged(result, found), limits, oom_killed=oom)


def inputs_archive(data: evaluation.LabelledSet) -> bytes:
    """A tar holding the inputs (never the labels) as one JSON list."""
    blob = json.dumps(list(data.inputs), separators=(",", ":")).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(INPUTS_NAME)
        info.size, info.mode = len(blob), 0o444
        tar.addfile(info, io.BytesIO(blob))
    return buffer.getvalue()


def _reply(stdout: str) -> dict[str, Any]:
    try:
        reply = json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError, RecursionError):
        return {"answers": [], "error": "the client in the container printed no answer"}
    return reply if isinstance(reply, dict) else {"answers": [], "error": "unreadable answer"}


def measured(
    gate: EvaluateGate,
    data: evaluation.LabelledSet,
    reply: Mapping[str, Any],
    baseline: checks.Baseline | None,
    *,
    claimed: Mapping[str, Any] | None = None,
    logs: str = "",
) -> GateResult:
    """The gate's verdict on the client's reply (pure but for scikit-learn)."""
    answers = reply.get("answers")
    error = str(reply.get("error") or "")
    if not error and isinstance(answers, list):
        sizes = [min(gate.batch, len(data) - start) for start in range(0, len(data), gate.batch)]
        try:
            got = evaluation.predictions(gate, answers, sizes)
            values = evaluation.compute(
                list(gate.require), data.labels, got, positive=gate.positive
            )
        except ValueError as exc:
            error = f"could not measure: {exc}"
        else:
            return evaluation.verdict(gate, data.evidence(), values, baseline, claimed=claimed)
    evidence: dict[str, Any] = {"basis": MEASURED, **data.evidence()}
    if logs:
        evidence["server_log_tail"] = logs
    return GateResult("evaluate", FAILED, error or "the model gave no answers", evidence)
