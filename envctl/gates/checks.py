"""Gates: what a model version must pass to enter a stage, and their results.

Pure: metric thresholds and baselines, approval counting, the http answer check
and the pytest summary are plain functions returning a frozen `GateResult`; the
runners that need an image live in `runners`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, assert_never

from envctl.registry.results import (
    FAILED,
    PASSED,
    SKIPPED,
    WAITING,
    GateResult,
)
from envctl.spec.rules import parse_rule
from envctl.spec.types import (
    ApprovalsGate,
    CommandGate,
    EvaluateGate,
    Gate,
    HttpGate,
    LoadGate,
    MetricsGate,
    TestsGate,
    VulnerabilitiesGate,
)
from envctl.vocabulary import CLAIMED, GATE_KINDS, GateKind

GateSpec = (
    TestsGate
    | MetricsGate
    | HttpGate
    | ApprovalsGate
    | CommandGate
    | VulnerabilitiesGate
    | LoadGate
    | EvaluateGate
)


def gate_spec(gate: Gate) -> GateSpec:
    """The one kind a spec's `gates:` entry holds (the spec model allows exactly one)."""
    for kind in GATE_KINDS:
        spec = getattr(gate, kind)
        if spec is not None:
            return spec  # type: ignore[no-any-return]  # a field of Gate: one of GateSpec
    raise ValueError(f"a gate holds none of {', '.join(GATE_KINDS)}")


def gate_kind(spec: GateSpec) -> GateKind:
    match spec:
        case TestsGate():
            return "tests"
        case MetricsGate():
            return "metrics"
        case HttpGate():
            return "http"
        case ApprovalsGate():
            return "approvals"
        case CommandGate():
            return "command"
        case VulnerabilitiesGate():
            return "vulnerabilities"
        case LoadGate():
            return "load"
        case EvaluateGate():
            return "evaluate"
        case _:
            assert_never(spec)


def skipped(spec: GateSpec) -> GateResult:
    return GateResult(gate_kind(spec), SKIPPED, "not run: an earlier gate failed")


def holding_back(results: Sequence[GateResult]) -> GateResult | None:
    """What stops the promotion: the first failed gate, else the first waiting one."""
    for status in (FAILED, WAITING):
        found = next((r for r in results if r.status == status), None)
        if found is not None:
            return found
    return None


# ---- metrics (pure) ----------------------------------------------------------------

# Metrics are floats written by training code: 0.1 + 0.2 is 0.30000000000000004.
# Values this close are equal for every operator, so `== 0.3` passes and `!= 0.3`,
# `> 0.3` fail for it; the absolute part lets a value equal 0 (`error_rate == 0`).
REL_TOLERANCE: Final = 1e-9
ABS_TOLERANCE: Final = 1e-12


def satisfies(value: float, op: str, bound: float) -> bool:
    """`value op bound` for a metric rule, equal within the tolerances above."""
    equal = math.isclose(value, bound, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)
    match op:
        case "==":
            return equal
        case "!=":
            return not equal
        case ">=":
            return equal or value > bound
        case "<=":
            return equal or value < bound
        case ">":
            return not equal and value > bound
        case "<":
            return not equal and value < bound
    raise ValueError(f"{op!r} is not a threshold operator")


def evaluate_metrics(
    gate: MetricsGate,
    metrics: Mapping[str, Any],
    baseline: Mapping[str, Any] | None,
    *,
    baseline_version: str | None,
    baseline_source: str | None = None,
) -> GateResult:
    """The metrics gate: the numbers a committed file claims, against the spec's
    thresholds (`judge_metrics`). Its evidence says `claimed`: nothing measured them."""
    rows, failures = judge_metrics(
        gate.require,
        metrics,
        baseline,
        no_worse=gate.baseline == "no_worse",
        source=gate.file,
        baseline_version=baseline_version,
    )
    evidence = {
        "file": gate.file,
        "basis": CLAIMED,
        "metrics": rows,
        "baseline_version": baseline_version,
    }
    if baseline_source is not None:
        evidence["baseline_source"] = baseline_source
    if failures:
        return GateResult("metrics", FAILED, "; ".join(failures), evidence)
    return GateResult("metrics", PASSED, ", ".join(shown(r) for r in rows), evidence)


def judge_metrics(
    require: Mapping[str, str],
    metrics: Mapping[str, Any],
    baseline: Mapping[str, Any] | None,
    *,
    no_worse: bool,
    source: str,
    baseline_version: str | None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Thresholds from the spec, absolute (`>= 0.90`) or relative to the version
    now in the stage, the champion (`>= baseline + 0.005`, `<= baseline * 1.10`:
    with no champion, or none of that metric, the rule passes with a note); then
    (optionally) no worse than the champion: a metric with a `>`/`>=` rule must
    not drop, one with `<`/`<=` must not rise. One row per rule, and what failed."""
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for name, raw_rule in require.items():
        rule = parse_rule(raw_rule, name)
        op = rule.op
        value = finite_number(metrics.get(name))
        before = finite_number(baseline.get(name)) if baseline is not None else None
        row: dict[str, Any] = {"metric": name, "value": value, "rule": rule.text}
        if rule.relative is None:
            assert rule.threshold is not None
            bound: float | None = rule.threshold
        else:
            bound = rule.bound(before) if before is not None else None
            row |= {"baseline": before, "margin": rule.margin, "relative": rule.relative}
            row["bound"] = bound
        ok = value is not None and (bound is None or satisfies(value, op, bound))
        if value is None:
            failures.append(f"{name} is missing from {source}")
        elif bound is None:
            row["note"] = (
                f"no version in the stage to compare with: {rule.text} passes"
                if baseline_version is None
                else f"{baseline_version} (now in the stage) has no {name}: {rule.text} passes"
            )
        elif not ok:
            failures.append(f"{name} {value:g} is not {op} {bound:g}" + _against(rule.relative,
                            rule.text, before, baseline_version))  # fmt: skip
        if no_worse and baseline is not None and value is not None:
            row["baseline"] = before
            if before is not None and _worse(op, value, before):
                ok = False
                failures.append(
                    f"{name} {value:g} is worse than {before:g} "
                    f"({baseline_version}, now in the stage)"
                )
        row["passed"] = ok
        rows.append(row)
    return rows, failures


@dataclass(frozen=True)
class Baseline:
    """What a relative live rule compares with: `values` recorded for `version`
    (None: no version to compare with) in `source` (the tag whose record holds them)."""

    values: Mapping[str, float]
    version: str | None = None
    source: str | None = None
    data_sha256: str | None = None  # evaluate: the hash of the set the values were measured on


def evaluate_live_metrics(
    require: Mapping[str, str],
    metrics: Mapping[str, Any],
    *,
    source: str,
    baseline: Baseline | None = None,
) -> GateResult:
    """A running service's own metrics against thresholds (check-live): absolute,
    or relative to `baseline` as the metrics gate's are (`<= baseline * 1.10`);
    a relative rule with no baseline value passes with a note, as the gate's does."""
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for name, raw_rule in require.items():
        rule = parse_rule(raw_rule, name)
        value = finite_number(metrics.get(name))
        row: dict[str, Any] = {"metric": name, "value": value, "rule": rule.text}
        before = baseline.values.get(name) if baseline is not None else None
        if rule.relative is None:
            bound = rule.threshold
        else:
            bound = rule.bound(before) if before is not None else None
            row |= {"baseline": before, "margin": rule.margin, "relative": rule.relative,
                    "bound": bound}  # fmt: skip
        ok = value is not None and (bound is None or satisfies(value, rule.op, bound))
        if value is None:
            failures.append(_not_there(name, metrics.get(name), source))
        elif bound is None:
            row["note"] = _no_baseline(name, rule.text, baseline)
        elif not ok:
            version = baseline.version if baseline is not None else None
            failures.append(f"{name} {value:g} is not {rule.op} {bound:g}" + _against(
                rule.relative, rule.text, before, version, where="recorded"))  # fmt: skip
        row["passed"] = ok
        rows.append(row)
    evidence: dict[str, Any] = {"url": source, "metrics": rows}
    if baseline is not None:
        evidence |= {"baseline_version": baseline.version, "baseline_source": baseline.source}
    if failures:
        return GateResult("metrics", FAILED, "; ".join(failures), evidence)
    return GateResult("metrics", PASSED, ", ".join(shown(r) for r in rows), evidence)


def _not_there(name: str, raw: Any, source: str) -> str:
    if raw is None:
        return f"{name} is missing from {source}"
    return f"{name} is not a finite number in {source}"


def _against(
    relative: str | None,
    text: str,
    before: float | None,
    version: str | None,
    *,
    where: str = "now in the stage",
) -> str:
    if relative is None or before is None:
        return ""
    return f" ({text}, baseline {before:g} from {version}, {where})"


def _no_baseline(name: str, text: str, baseline: Baseline | None) -> str:
    if baseline is None or baseline.version is None:
        return f"no earlier version in the stage to compare with: {text} passes"
    return f"{baseline.version} has no recorded {name}: {text} passes"


def recorded_values(
    record: Mapping[str, Any] | None,
    file: str | None = None,
    *,
    kind: GateKind = "metrics",
    key: str = "file",
) -> dict[str, float]:
    """Every metric value an assignment record's gates of `kind` saw (only those
    whose evidence has `key` equal to `file`, when given), the first gate's value
    where two name the same metric."""
    found: dict[str, float] = {}
    gates = record.get("gates") if record else None
    for gate in gates if isinstance(gates, list) else ():
        if not isinstance(gate, dict):  # a record is a tag message anyone could write
            continue
        evidence = gate.get("evidence")
        if gate.get("kind") != kind or not isinstance(evidence, dict):
            continue
        if file is not None and evidence.get(key) != file:
            continue
        rows = evidence.get("metrics")
        for row in rows if isinstance(rows, list) else ():
            value = finite_number(row.get("value")) if isinstance(row, dict) else None
            if value is not None and isinstance(row.get("metric"), str):
                found.setdefault(row["metric"], value)
    return found


def shown(row: Mapping[str, Any]) -> str:
    if row.get("bound") is not None:
        return f"{row['metric']} {row['value']:g} {row['rule']} ({row['bound']:g})"
    return f"{row['metric']} {row['value']:g} {row['rule']}"


def recorded_metrics(record: Mapping[str, Any] | None, file: str) -> dict[str, float]:
    """The metric values an assignment record's metrics gate saw in `file` (the
    champion's numbers, as they were when it entered the stage)."""
    return recorded_values(record, file)


def _worse(op: str, value: float, before: float) -> bool:
    if op in (">", ">="):
        return satisfies(value, "<", before)
    if op in ("<", "<="):
        return satisfies(value, ">", before)
    return False


def finite_number(raw: Any) -> float | None:
    """A finite number, else None (a record or an answer with inf or NaN is not one)."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None
    return float(raw) if _finite(raw) else None


def _finite(raw: float) -> bool:
    try:
        return math.isfinite(float(raw))
    except OverflowError:  # an integer too large for a float
        return False


def parse_metrics(raw: bytes | None, source: str) -> dict[str, Any]:
    from envctl.errors import InputError

    if raw is None:
        raise InputError(f"metrics file {source} does not exist at that version's commit")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"metrics file {source} is not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError(
            f"metrics file {source} nests JSON too deeply to read; "
            "write a flat object of metric -> number"
        ) from None
    if not isinstance(data, dict):
        raise InputError(f"metrics file {source} must hold a JSON object of metric -> number")
    for key, value in data.items():
        if not isinstance(value, bool) and isinstance(value, (int, float)) and not _finite(value):
            # JSON's 1e999 reads as inf, and Python's reader takes NaN and Infinity:
            # such a value passes or fails every threshold, and once recorded as the
            # champion's it would decide every later comparison.
            raise InputError(
                f"metrics file {source}: {key} is not a finite number "
                "(1e999, NaN, Infinity: write a number a float can hold)"
            )
    return data


# ---- approvals (pure) --------------------------------------------------------------


def evaluate_approvals(required: int, approvers: Sequence[str], promoter: str) -> GateResult:
    """Distinct approvers other than the promoter (emails compared case-insensitively)."""
    me = promoter.strip().lower()
    counted = sorted({a.strip().lower() for a in approvers} - {me})
    ignored = [a for a in approvers if a.strip().lower() == me]
    evidence = {"required": required, "approvers": counted, "ignored_self": bool(ignored)}
    if len(counted) >= required:
        return GateResult(
            "approvals",
            PASSED,
            f"{len(counted)}/{required} approvals: {', '.join(counted)}",
            evidence,
        )
    note = " (the promoter's own approval does not count)" if ignored else ""
    return GateResult("approvals", WAITING, f"{len(counted)}/{required} approvals{note}", evidence)


# ---- http answer (pure) ------------------------------------------------------------


def evaluate_http(gate: HttpGate, status: int | None, body: str, *, error: str = "") -> GateResult:
    evidence: dict[str, Any] = {
        "path": gate.path,
        "method": gate.method,
        "status": status,
        "expect_status": gate.expect_status,
        "body_excerpt": body[:300],
    }
    if status is None:
        return GateResult("http", FAILED, error or "no answer", evidence)
    if status != gate.expect_status:
        return GateResult(
            "http",
            FAILED,
            f"{gate.method} {gate.path} answered {status}, expected {gate.expect_status}",
            evidence,
        )
    missing = _missing_keys(body, gate.expect_keys)
    if missing:
        return GateResult(
            "http", FAILED, f"{gate.method} {gate.path} answer lacks {', '.join(missing)}", evidence
        )
    return GateResult("http", PASSED, f"{gate.method} {gate.path} -> {status}", evidence)


def _missing_keys(body: str, keys: Sequence[str]) -> list[str]:
    if not keys:
        return []
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return list(keys)
    return [k for k in keys if not isinstance(data, dict) or k not in data]


# ---- pytest summary (pure) ---------------------------------------------------------


def pytest_counts(output: str) -> dict[str, int]:
    """`3 passed, 1 failed in 0.2s` -> {"passed": 3, "failed": 1}."""
    import re

    lines = [ln for ln in output.splitlines() if re.search(r"\b(passed|failed|error)", ln)]
    counts: dict[str, int] = {}
    for number, word in re.findall(
        r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)", lines[-1] if lines else ""
    ):
        counts[word.rstrip("s") if word.startswith("error") else word] = int(number)
    return counts
