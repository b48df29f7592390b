"""The load gate: the model served in the stage's image under the stage's
resources, held at a constant arrival rate by an open-loop generator.

Arrangement: the model's server runs in a service container with the stage's
CPU quota, memory limit, env and GPUs (as the http gate's does); the generator
(`loadgen.py`, standard library only) runs in a sidecar container of the same
image that joins the service's network namespace (`network_mode:
container:<id>`): it reaches the server over the service's own loopback, with no
container network and no published port, and its CPU is its own cgroup's, not
the service's budget. The sidecar prints one line per request; this host feeds
the latencies into an HdrHistogram and reads the percentiles from it.

Before the model, the same generator is run at the same rate against a trivial
server (`loadtarget.py`) in the same arrangement: if it cannot hold the rate
(below 95% of it, an error, or its own p99 above the gate's
`calibration_p99_ms`), the gate cannot check, and says so (exit 4) rather than
blaming the model for the generator's limits.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from envctl.errors import EngineError, ExternalError, InputError
from envctl.gates import checks, declared, peaks, runners
from envctl.gates.checks import Baseline
from envctl.registry.results import FAILED, PASSED, GateResult
from envctl.spec.project_file import Requires
from envctl.spec.rules import parse_rule
from envctl.spec.types import LoadGate

FOLDER = "/tmp/envctl-load"  # where the generator's files are put in the sidecar
CALIBRATION_SECONDS = 5.0  # the longest calibration run (shorter when the gate's is)
SUSTAINED = 0.95  # the share of the rate the generator must reach to count as holding it
HIGHEST_US = 3_600_000_000  # the histogram's range: 1 us to an hour
DIGITS = 3  # significant figures kept by the histogram (0.1% resolution)


class LoadCalibrationError(ExternalError):
    """The generator could not hold the rate against a trivial server: the load gate
    cannot say anything about the model on this engine (exit 4)."""

    kind = "load_calibration"


@dataclass(frozen=True)
class Sample:
    """One request: when it was due (us from the start), its latency from then,
    how late the generator sent it, and the HTTP status (0: no answer)."""

    intended_us: int
    latency_us: int
    lag_us: int
    status: int


@dataclass(frozen=True)
class Measured:
    """What a load run measured: `values` are the SLO metrics (LOAD_METRICS)."""

    values: dict[str, float]
    requests: int
    errors: int
    statuses: dict[str, int]
    lag_p99_ms: float

    def evidence(self) -> dict[str, Any]:
        return {
            "measured": dict(self.values),
            "requests": self.requests,
            "errors": self.errors,
            "statuses": dict(self.statuses),
            "generator_lag_p99_ms": self.lag_p99_ms,
        }


@dataclass(frozen=True)
class LoadContext:
    """What the load gate needs besides the image: the model's declared needs,
    how grave exceeding them is here, and the champion's recorded load."""

    requires: Requires = field(default_factory=Requires)
    severity: declared.Gravity = "warning"
    baseline: Baseline | None = None
    python: str = runners.PYTHON  # the image's Python, which runs the generator


# ---- the run (engine) --------------------------------------------------------------


def run_load(gate: LoadGate, ctx: runners.ImageContext, load: LoadContext) -> GateResult:
    from envctl import engine

    if ctx.serve is None:
        raise InputError(
            "the load gate needs models.<name>.serve in envctl.yaml (command, port, health)"
        )
    files = generator_files(_body(gate, ctx))
    calibration = calibrate(gate, ctx.image, ctx.serve.port, files, load.python)
    limits = runners.stage_limits(ctx)
    options = runners.limit_options(limits, ctx.gpus)
    options["workdir"] = ctx.workdir
    with engine.service(ctx.image, list(ctx.serve.command), **options) as svc:
        try:
            with peaks.sampling(svc) as sampler:
                output = generate(gate, ctx.image, svc.id, ctx.serve.port, ctx.serve.health,
                                  files, load.python)  # fmt: skip
        except EngineError:  # the engine refuses a sidecar in a stopped container's network
            died = runners.server_exited("load", svc, limits, {"path": gate.path})
            if died is None:
                raise
            return replace(died, evidence={**died.evidence, "calibration": calibration})
        oom = engine.oom_killed(svc, settle=engine.OOM_SETTLE if not output.ok else 0.0)
        logs = engine.container_logs(svc, tail=20)
    seen = sampler.peaks
    verdict = load_result(gate, output.stdout, load.baseline)
    verdict = replace(verdict, evidence={**verdict.evidence, "calibration": calibration,
                                         "service": seen.evidence()})  # fmt: skip
    if not verdict.passed:
        verdict = replace(verdict, evidence={**verdict.evidence, "server_log_tail": logs})
    found = declared.excesses(seen, load.requires, load.severity)
    return runners.under_limits(declared.judged(verdict, found), limits, oom_killed=oom)


def _body(gate: LoadGate, ctx: runners.ImageContext) -> bytes | None:
    if gate.request is None:
        return None
    raw = ctx.read_file(gate.request)
    if raw is None:
        raise runners.missing_model_file("load", "request", gate.request, ctx)
    return raw


def generator_files(body: bytes | None) -> dict[str, bytes]:
    """The sidecar's files (the container directory -> a tar of them)."""
    here = Path(__file__).parent
    members = {
        "envctl-load/loadgen.py": (here / "loadgen.py").read_bytes(),
        "envctl-load/loadtarget.py": (here / "loadtarget.py").read_bytes(),
    }
    if body is not None:
        members["envctl-load/body"] = body
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return {"/tmp": buffer.getvalue()}


def generate(
    gate: LoadGate,
    image: str,
    service_id: str,
    port: int,
    health: str,
    files: dict[str, bytes],
    python: str,
    *,
    duration: float | None = None,
) -> Any:
    """Run the generator in a sidecar joined to `service_id`'s network namespace."""
    from envctl import engine

    seconds = gate.duration if duration is None else duration
    config = {
        "port": port,
        "health": health,
        "ready_timeout": gate.ready_timeout,
        "method": gate.method,
        "path": gate.path,
        "body_file": f"{FOLDER}/body" if gate.request is not None else None,
        "rate": gate.rate,
        "duration": seconds,
        "timeout": gate.timeout,
        "connections": gate.connections,
    }
    argv = [python, f"{FOLDER}/loadgen.py", json.dumps(config)]
    limit = gate.ready_timeout + seconds + gate.timeout + 60
    return engine.run(image, argv, timeout=limit, archives=files, network_container=service_id)


def calibrate(
    gate: LoadGate, image: str, port: int, files: dict[str, bytes], python: str
) -> dict[str, Any]:
    """The generator at the gate's rate against a trivial server, in the same
    arrangement; its evidence, or LoadCalibrationError when it cannot hold the rate."""
    from envctl import engine

    seconds = min(gate.duration, CALIBRATION_SECONDS)
    target = [python, f"{FOLDER}/loadtarget.py", str(port)]
    # The stand-in server gets no quota: it proves the generator, not a service.
    with engine.service(image, target, archives=files) as svc:
        output = generate(gate, image, svc.id, port, "/", files, python, duration=seconds)
    if not output.ok:
        raise LoadCalibrationError(
            f"load gate: the generator failed against a trivial server (exit {output.exit_code}"
            f"{', timed out' if output.timed_out else ''}): {_last_line(output.stderr)}"
        )
    return calibration_verdict(gate, parse_output(output.stdout), seconds)


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no output"


# ---- the verdicts (pure) -----------------------------------------------------------


def calibration_verdict(
    gate: LoadGate, samples: Sequence[Sample], seconds: float
) -> dict[str, Any]:
    """The calibration's evidence, or LoadCalibrationError when the generator did
    not hold the rate (below 95% of it, any error, or its p99 above the bound)."""
    measured = measure(samples, gate.expect_status, gate.rate)
    got = measured.values
    evidence = {
        "rate": gate.rate,
        "seconds": seconds,
        "achieved_rps": got["achieved_rps"],
        "p99_ms": got["p99_ms"],
        "errors": measured.errors,
        "bound_p99_ms": gate.calibration_p99_ms,
    }
    why = []
    if got["achieved_rps"] < SUSTAINED * gate.rate:
        why.append(f"reached {got['achieved_rps']:.1f}/s of {gate.rate:g}/s")
    if measured.errors:
        why.append(f"{measured.errors} of {measured.requests} requests failed")
    if got["p99_ms"] > gate.calibration_p99_ms:
        why.append(f"its own p99 was {got['p99_ms']:.1f} ms (bound {gate.calibration_p99_ms:g})")
    if why:
        raise LoadCalibrationError(
            f"load gate: the generator cannot hold {gate.rate:g}/s on this engine against a "
            f"trivial server ({'; '.join(why)}); the model was not judged: lower the rate "
            "or run the stage's gates on a larger engine"
        )
    return evidence


def parse_output(stdout: str) -> list[Sample]:
    """The generator's per-request lines; its `{"error": ...}` line raised as a
    failure to serve (NotServing)."""
    lines = stdout.strip().splitlines()
    if not lines:
        raise NotServing("the load generator printed nothing")
    try:
        header = json.loads(lines[0])
    except ValueError:
        raise NotServing(f"the load generator printed {lines[0][:200]!r}") from None
    if isinstance(header, dict) and header.get("error"):
        raise NotServing(str(header["error"]))
    samples = []
    for line in lines[1:]:
        intended, latency, lag, status = (int(part) for part in line.split())
        samples.append(Sample(intended, latency, lag, status))
    return samples


class NotServing(Exception):
    """The server never answered the generator (not healthy in time): a gate failure."""


def measure(samples: Sequence[Sample], expect_status: int, rate: float) -> Measured:
    """Percentiles (from an HdrHistogram of the latencies), error rate and the
    rate the generator really sent at."""
    from hdrh.histogram import HdrHistogram

    latency = HdrHistogram(1, HIGHEST_US, DIGITS)
    lag = HdrHistogram(1, HIGHEST_US, DIGITS)
    statuses: dict[str, int] = {}
    for sample in samples:
        latency.record_value(min(max(sample.latency_us, 1), HIGHEST_US))
        lag.record_value(min(max(sample.lag_us, 1), HIGHEST_US))
        statuses[str(sample.status)] = statuses.get(str(sample.status), 0) + 1
    count = len(samples)
    errors = sum(n for status, n in statuses.items() if status != str(expect_status))
    values = {f"p{p}_ms": _ms(latency.get_value_at_percentile(p)) for p in (50, 90, 95, 99)}
    values |= {
        "max_ms": _ms(latency.get_max_value()),
        "mean_ms": round(latency.get_mean_value() / 1000, 3) if count else 0.0,
        "error_rate": errors / count if count else 1.0,
        "achieved_rps": achieved_rate(samples, rate),
    }
    lag_p99 = _ms(lag.get_value_at_percentile(99)) if count else 0.0
    return Measured(values, count, errors, dict(sorted(statuses.items())), lag_p99)


def achieved_rate(samples: Sequence[Sample], rate: float) -> float:
    """Requests per second as really sent: (n - 1) over the span of the send times;
    the intended span is (n - 1) / rate, so a generator that kept time reaches `rate`."""
    if len(samples) < 2:
        return float(rate) if samples else 0.0
    sent = [s.intended_us + s.lag_us for s in samples]
    span = (max(sent) - min(sent)) / 1_000_000
    return round((len(samples) - 1) / span, 2) if span > 0 else float(rate)


def _ms(value_us: int) -> float:
    return round(value_us / 1000, 3)


def load_result(gate: LoadGate, stdout: str, baseline: Baseline | None) -> GateResult:
    """The gate's verdict on the generator's output (pure)."""
    head = {"path": gate.path, "method": gate.method, "rate": gate.rate, "duration": gate.duration}
    try:
        samples = parse_output(stdout)
    except NotServing as exc:
        return GateResult("load", FAILED, str(exc), head)
    return evaluate_load(gate, measure(samples, gate.expect_status, gate.rate), baseline, head)


def evaluate_load(
    gate: LoadGate,
    measured: Measured,
    baseline: Baseline | None,
    head: dict[str, Any] | None = None,
) -> GateResult:
    """Each SLO rule against what was measured: absolute, or relative to the
    champion's recorded load (with none recorded, a relative rule passes with a note)."""
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for metric, rules in gate.slo.items():
        for text in rules:
            row, failure = _judge(metric, text, measured.values[metric], baseline)
            rows.append(row)
            failures += [failure] if failure else []
    evidence: dict[str, Any] = {**(head or {}), **measured.evidence(), "slo": rows}
    if baseline is not None:
        evidence |= {"baseline_version": baseline.version, "baseline_source": baseline.source}
    shown = shown_measures(measured)
    if failures:
        return GateResult("load", FAILED, f"{'; '.join(failures)} ({shown})", evidence)
    return GateResult("load", PASSED, shown, evidence)


def _judge(
    metric: str, text: str, value: float, baseline: Baseline | None
) -> tuple[dict[str, Any], str]:
    rule = parse_rule(text, metric)
    row: dict[str, Any] = {"metric": metric, "value": value, "rule": rule.text}
    if rule.relative is None:
        bound = rule.threshold
    else:
        before = baseline.values.get(metric) if baseline is not None else None
        bound = rule.bound(before) if before is not None else None
        row |= {"baseline": before, "bound": bound}
        if bound is None:
            row |= {
                "passed": True,
                "note": f"no recorded {metric} of a champion: {rule.text} passes",
            }
            return row, ""
    assert bound is not None
    ok = checks.satisfies(value, rule.op, bound)
    row["passed"] = ok
    if ok:
        return row, ""
    against = f" ({rule.text}, {baseline.version})" if rule.relative and baseline else ""
    return row, f"{metric} {value:g} is not {rule.op} {bound:g}{against}"


def shown_measures(measured: Measured) -> str:
    """`p50 4.1 ms, p95 9.8 ms, p99 12.0 ms, errors 0/150, 50.0/s`."""
    v = measured.values
    return (
        f"p50 {v['p50_ms']:g} ms, p95 {v['p95_ms']:g} ms, p99 {v['p99_ms']:g} ms, "
        f"errors {measured.errors}/{measured.requests}, {v['achieved_rps']:g}/s"
    )


def rejudged(gate: LoadGate, result: GateResult, baseline: Baseline | None) -> GateResult:
    """A passed load gate's SLO judged again against another champion, from the load
    it measured (pure: nothing is run again; the rest of its evidence stands)."""
    evidence = result.evidence
    measured = Measured(
        dict(evidence["measured"]),
        int(evidence["requests"]),
        int(evidence["errors"]),
        dict(evidence["statuses"]),
        float(evidence["generator_lag_p99_ms"]),
    )
    again = evaluate_load(gate, measured, baseline)
    kept = {k: v for k, v in evidence.items() if k not in ("baseline_version", "baseline_source")}
    merged = {**kept, **{k: v for k, v in again.evidence.items() if k in _JUDGED}}
    if again.passed:
        return replace(result, evidence=merged)
    return replace(result, status=FAILED, summary=again.summary, evidence=merged)


_JUDGED = ("slo", "baseline_version", "baseline_source")


def recorded_load(record: dict[str, Any] | None, path: str) -> dict[str, float]:
    """The load an assignment record's load gate on `path` measured (the champion's)."""
    gates = record.get("gates") if record else None
    for gate in gates if isinstance(gates, list) else ():
        evidence = gate.get("evidence") if isinstance(gate, dict) else None
        if gate.get("kind") != "load" or not isinstance(evidence, dict):
            continue
        if evidence.get("path") != path or not isinstance(evidence.get("measured"), dict):
            continue
        return {
            name: float(value)
            for name, value in evidence["measured"].items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        }
    return {}
