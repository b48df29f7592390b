"""Live checks: a stage's http gates, and optionally a metrics endpoint, run
against the service the stage already serves (`envctl check-live`).

No image and no Docker: the service is running at a URL. A service that does
not answer (refused, unknown host, timed out) is a failed check with the reason
as its evidence, not an infrastructure error: for a live check, "it does not
answer" is the answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal

from envctl import registry as reg
from envctl import web
from envctl.errors import InputError
from envctl.gates import checks
from envctl.gates.checks import Baseline
from envctl.gates.suite import timed
from envctl.output.promotion import CheckLiveDocument, GateOutcome
from envctl.registry.results import FAILED, GateResult
from envctl.registry.rollbacks import choose_previous
from envctl.spec.types import HttpGate, LiveMetrics

# Evidence only the local report shows: what the service said. A record (the
# rollback's cause, a pushed tag) keeps its status, the keys checked and a hash.
LOCAL_ONLY = ("body_excerpt", "redirect")
EXCERPT = 300


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer at all
    body: str
    error: str = ""
    headers: Mapping[str, str] | None = None
    evidence: Mapping[str, Any] | None = None  # what every check records about the exchange


def call(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    timeout: float,
    allow_loopback: bool = False,
) -> Answer:
    """One HTTP request (one deadline, no redirects followed, the address checked:
    `envctl.web`); any failure to get an answer becomes `Answer(None, error)`."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    reply = web.request(
        url, method=method, body=body, headers=headers, timeout=timeout,
        allow_loopback=allow_loopback,
    )  # fmt: skip
    answered = reply.status is not None
    evidence: dict[str, Any] = {
        "urls": [url],  # every URL contacted: redirects are never followed
        "status": reply.status,
        "body_sha256": hashlib.sha256(reply.body).hexdigest() if answered else None,
        "body_bytes": len(reply.body) if answered else None,
    }
    location = reply.headers.get("location")
    if reply.status is not None and 300 <= reply.status < 400 and location is not None:
        evidence["redirect"] = location[:EXCERPT]
    return Answer(reply.status, _text(reply.body), reply.error, reply.headers, evidence)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def for_record(check: GateResult) -> dict[str, Any]:
    """A check as a record keeps it: no part of the service's answer, only its
    status, the keys checked and the answer's sha256."""
    data = check.to_json()
    data["evidence"] = {k: v for k, v in check.evidence.items() if k not in LOCAL_ONLY}
    return data


def _redirected(result: GateResult, answer: Answer) -> GateResult:
    """A refused 3xx says it was a redirect and was not followed (where it pointed
    is in the evidence's `redirect`, local output only)."""
    location = (answer.evidence or {}).get("redirect")
    if result.passed or location is None:
        return result
    return replace(result, summary=f"{result.summary} (a redirect, not followed)")


# ---- which version the service runs -------------------------------------------------

VERSION_HEADER = "X-Model-Version"  # the contract: docs/continuous-training.md
VERSION_FIELD = "model_version"  # or this field of the health answer's JSON object
_VERSION_TEXT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+@-]{0,99}")


@dataclass(frozen=True)
class Running:
    """What the service says it runs: `version` as it reported it (None: it
    reports none, or did not answer), and how that was learnt."""

    version: str | None
    evidence: Mapping[str, Any]

    def runs(self, model: str, version: str) -> bool:
        """Whether the reported version is `version` (`v1.2.0` or `churn@v1.2.0`)."""
        return self.version in (version, f"{model}@{version}")


def running_version(
    base_url: str, health: str, *, timeout: float, allow_loopback: bool = False
) -> Running:
    """Ask the service's health endpoint which version it runs: its
    X-Model-Version header, else the `model_version` field of its JSON answer.
    A service that does not say (or does not answer) is judged as it is."""
    url = base_url + health
    answer = call(url, timeout=timeout, allow_loopback=allow_loopback)
    header = (answer.headers or {}).get(VERSION_HEADER.lower())
    source, reported = ("header", header) if header is not None else ("body", _field(answer))
    version = reported.strip() if isinstance(reported, str) else None
    if version is not None and not _VERSION_TEXT.fullmatch(version):
        version = None  # not a version: the service's words are not repeated
    evidence = {"url": url, "status": answer.status, "version": version,
                "source": source if version is not None else None}  # fmt: skip
    return Running(version, evidence)


def _field(answer: Answer) -> object:
    if answer.status is None:
        return None
    try:
        data = json.loads(answer.body)
    except (ValueError, RecursionError):
        return None
    return data.get(VERSION_FIELD) if isinstance(data, dict) else None


# ---- the checks ----------------------------------------------------------------------


def check_http(
    gate: HttpGate,
    base_url: str,
    read_file: Callable[[str], bytes | None],
    *,
    allow_loopback: bool = False,
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
    answer = call(
        url, method=gate.method, body=body, timeout=gate.timeout, allow_loopback=allow_loopback
    )
    result = checks.evaluate_http(gate, answer.status, answer.body, error=answer.error)
    evidence = {"url": url, **result.evidence, **(answer.evidence or {}),
                "checked_keys": list(gate.expect_keys)}  # fmt: skip
    return _redirected(replace(result, evidence=evidence), answer)


def live_baseline(model: reg.Model, stage: str, current: str) -> Baseline:
    """What relative live rules compare with: the version a rollback would restore
    now (the newest earlier version in the stage with no failed verdict there), by
    the metrics its gates recorded when it last entered the stage with any."""
    choice = choose_previous(model, stage, current)
    if choice.version is None:
        return Baseline({})
    entries = [e for e in model.events if e.stage == stage and e.version == choice.version
               and e.action is reg.Action.ASSIGN]  # fmt: skip
    for event in sorted(entries, key=lambda e: e.counter or 0, reverse=True):
        values = checks.recorded_values(event.record)
        if values:  # a rollback's record has no gates: look further back
            return Baseline(values, choice.version, event.tag)
    return Baseline({}, choice.version, None)


def check_metrics(
    spec: LiveMetrics,
    base_url: str,
    *,
    allow_loopback: bool = False,
    baseline: Baseline | None = None,
) -> GateResult:
    """The service's metrics endpoint (a JSON object) against the thresholds."""
    url = base_url + spec.path
    answer = call(url, timeout=spec.timeout, allow_loopback=allow_loopback)
    evidence = {"url": url, **(answer.evidence or {}), "body_excerpt": answer.body[:EXCERPT]}
    if answer.status is None:
        return GateResult("metrics", FAILED, answer.error, evidence)
    if answer.status != 200:
        failed = GateResult(
            "metrics", FAILED, f"GET {spec.path} answered {answer.status}, expected 200", evidence
        )
        return _redirected(failed, answer)
    try:
        data = json.loads(answer.body)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        why = f"GET {spec.path} did not answer a JSON object of metric -> number"
        return GateResult("metrics", FAILED, why, evidence)
    result = checks.evaluate_live_metrics(spec.require, data, source=url, baseline=baseline)
    return replace(result, evidence={**evidence, **result.evidence})


def run_checks(
    http_gates: Sequence[HttpGate],
    metrics: LiveMetrics | None,
    base_url: str,
    read_file: Callable[[str], bytes | None],
    *,
    allow_loopback: bool = False,
    baseline: Baseline | None = None,
) -> tuple[GateResult, ...]:
    """Every check, each on its own: a failure does not skip the others (all of
    them are evidence for the decision to roll back), each with its seconds.
    `allow_loopback`: the URL came from the person running envctl (`--url`)."""
    results = [
        timed(partial(check_http, gate, base_url, read_file, allow_loopback=allow_loopback))
        for gate in http_gates
    ]
    if metrics is not None:
        check = partial(
            check_metrics, metrics, base_url, allow_loopback=allow_loopback, baseline=baseline
        )
        results.append(timed(check))
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
    status: Literal["passed", "failed", "rolled back", "waiting"] = "passed"
    running_version: str | None = None  # what the service reported (None: nothing)
    version_probe: Mapping[str, Any] | None = None  # how it was asked: url, status, source
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
            running_version=self.running_version,
            version_probe=dict(self.version_probe) if self.version_probe is not None else None,
            checks=[GateOutcome.model_validate(c.to_json()) for c in self.checks],
            rollback_policy=self.rollback_policy,
            rollback=self.rollback,
            restored=self.restored,
            pushed=self.pushed,
            message=self.message,
        )

    def to_json(self) -> dict[str, Any]:
        return self.to_document().to_json()
