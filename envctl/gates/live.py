"""Live checks: a stage's http gates, and optionally a metrics endpoint, run
against the service the stage already serves (`envctl check-live`).

No image and no Docker: the service is running at a URL. A service that does
not answer (refused, unknown host, timed out) is a failed check with the reason
as its evidence, not an infrastructure error: for a live check, "it does not
answer" is the answer.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal

from envctl.errors import InputError
from envctl.gates import checks
from envctl.gates.suite import timed
from envctl.output.promotion import CheckLiveDocument, GateOutcome
from envctl.registry.results import FAILED, GateResult
from envctl.spec.model import HttpGate, LiveMetrics

MAX_BODY = 1 << 20  # an answer is evidence, not data: read at most 1 MiB of it


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer at all
    body: str
    error: str = ""


def call(url: str, *, method: str = "GET", body: bytes | None = None, timeout: float) -> Answer:
    """One HTTP request; any failure to get an answer becomes `Answer(None, error)`."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return Answer(reply.status, _text(reply.read(MAX_BODY)))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, _text(exc.read(MAX_BODY)))
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return Answer(None, "", f"{method} {url}: no answer ({reason or type(exc).__name__})")


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def check_http(
    gate: HttpGate, base_url: str, read_file: Callable[[str], bytes | None]
) -> GateResult:
    """The http gate's request, sent to the running service, judged as the gate is."""
    body = None
    if gate.request is not None:
        body = read_file(gate.request)
        if body is None:
            raise InputError(
                f"http gate: request file {gate.request} does not exist at the commit of "
                "the version in the stage"
            )
    url = base_url + gate.path
    answer = call(url, method=gate.method, body=body, timeout=gate.timeout)
    result = checks.evaluate_http(gate, answer.status, answer.body, error=answer.error)
    return replace(result, evidence={"url": url, **result.evidence})


def check_metrics(spec: LiveMetrics, base_url: str) -> GateResult:
    """The service's metrics endpoint (a JSON object) against the thresholds."""
    url = base_url + spec.path
    answer = call(url, timeout=spec.timeout)
    evidence = {"url": url, "status": answer.status, "body_excerpt": answer.body[:300]}
    if answer.status is None:
        return GateResult("metrics", FAILED, answer.error, evidence)
    if answer.status != 200:
        return GateResult(
            "metrics", FAILED, f"GET {spec.path} answered {answer.status}, expected 200", evidence
        )
    try:
        data = json.loads(answer.body)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        why = f"GET {spec.path} did not answer a JSON object of metric -> number"
        return GateResult("metrics", FAILED, why, evidence)
    return checks.evaluate_live_metrics(spec.require, data, source=url)


def run_checks(
    http_gates: Sequence[HttpGate],
    metrics: LiveMetrics | None,
    base_url: str,
    read_file: Callable[[str], bytes | None],
) -> tuple[GateResult, ...]:
    """Every check, each on its own: a failure does not skip the others (all of
    them are evidence for the decision to roll back), each with its seconds."""
    results = [timed(partial(check_http, gate, base_url, read_file)) for gate in http_gates]
    if metrics is not None:
        results.append(timed(partial(check_metrics, metrics, base_url)))
    return tuple(results)


@dataclass(frozen=True)
class LiveCheck:
    """What `check-live` came to: the checks, and the rollback if one was recorded."""

    model: str
    stage: str
    version: str
    commit: str
    url: str
    checks: tuple[GateResult, ...]
    rollback_policy: Literal["auto", "manual"]
    status: Literal["passed", "failed", "rolled back"] = "passed"
    rollback: str | None = None
    restored: str | None = None
    pushed: bool = False
    message: str | None = None

    @property
    def failed(self) -> tuple[GateResult, ...]:
        return tuple(c for c in self.checks if not c.passed)

    def to_document(self) -> CheckLiveDocument:
        return CheckLiveDocument(
            status=self.status,
            model=self.model,
            stage=self.stage,
            version=self.version,
            commit=self.commit,
            url=self.url,
            checks=[GateOutcome.model_validate(c.to_json()) for c in self.checks],
            rollback_policy=self.rollback_policy,
            rollback=self.rollback,
            restored=self.restored,
            pushed=self.pushed,
            message=self.message,
        )

    def to_json(self) -> dict[str, Any]:
        return self.to_document().to_json()
