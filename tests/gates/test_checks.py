"""The pure gates: metric thresholds and baselines, approvals, the http answer, the
pytest summary, and how a gate entry of the spec is dispatched. No Docker, no git."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envctl.errors import InputError
from envctl.gates import checks
from envctl.gates.checks import (
    evaluate_approvals,
    evaluate_http,
    evaluate_metrics,
    gate_kind,
    gate_spec,
    holding_back,
    parse_metrics,
    pytest_counts,
    skipped,
)
from envctl.registry.results import FAILED, GateResult
from envctl.spec.model import validated
from envctl.spec.types import Gate, HttpGate, MetricsGate
from envctl.vocabulary import GateKind


def metrics_gate(rule: str, *, baseline: bool = False) -> MetricsGate:
    return MetricsGate(
        file="metrics.json",
        require={"accuracy": rule},
        baseline="no_worse" if baseline else None,
    )


# ---- thresholds ----------------------------------------------------------------------

THRESHOLDS: list[tuple[str, float, bool]] = [
    (">= 0.9", 0.9, True),
    (">= 0.9", 0.95, True),
    (">= 0.9", 0.89, False),
    ("> 0.5", 0.5, False),
    ("> 0.5", 0.51, True),
    ("<= 0.1", 0.1, True),
    ("<= 0.1", 0.11, False),
    ("< 0.1", 0.1, False),
    ("< 0.1", 0.05, True),
    # 0.1 + 0.2 is 0.30000000000000004: equal to 0.3 within the tolerance, for
    # every operator alike
    ("== 0.3", 0.1 + 0.2, True),
    ("!= 0.3", 0.1 + 0.2, False),
    ("> 0.3", 0.1 + 0.2, False),
    (">= 0.3", 0.1 + 0.2, True),
    ("<= 0.3", 0.1 + 0.2, True),
    ("< 0.3", 0.1 + 0.2, False),
    ("<= 0.30000000000000004", 0.3, True),
    ("== 0", 0.1 + 0.2 - 0.3, True),
    ("!= 0.3", 0.3001, True),
    ("== 0.3", 0.31, False),
    ("!= 0", 0, False),
    ("!= 0", 1, True),
    (">=0.9", 1, True),  # an int metric is a number too
]


@pytest.mark.parametrize(("rule", "value", "passed"), THRESHOLDS)
def test_evaluate_metrics_threshold(rule: str, value: float, passed: bool) -> None:
    result = evaluate_metrics(metrics_gate(rule), {"accuracy": value}, None, baseline_version=None)
    assert result.kind == "metrics"
    assert result.status == ("passed" if passed else "failed")
    assert result.evidence["metrics"][0]["passed"] is passed
    assert result.evidence["metrics"][0]["value"] == float(value)


def test_evaluate_metrics_passed_summary_and_evidence() -> None:
    result = evaluate_metrics(
        metrics_gate(">= 0.90"), {"accuracy": 0.95, "other": 1}, None, baseline_version=None
    )
    assert result.summary == "accuracy 0.95 >= 0.9"
    assert result.evidence == {
        "file": "metrics.json",
        "basis": "claimed",  # read from a committed file: nothing measured it
        "metrics": [{"metric": "accuracy", "value": 0.95, "rule": ">= 0.9", "passed": True}],
        "baseline_version": None,
    }


def test_evaluate_metrics_failed_summary() -> None:
    result = evaluate_metrics(
        metrics_gate(">= 0.9"), {"accuracy": 0.8}, None, baseline_version=None
    )
    assert result.summary == "accuracy 0.8 is not >= 0.9"


@pytest.mark.parametrize(
    "metrics",
    [{}, {"accuracy": None}, {"accuracy": "0.95"}, {"accuracy": True}, {"accuracy": [0.95]}],
    ids=["absent", "null", "string", "bool", "list"],
)
def test_evaluate_metrics_missing_or_not_a_number(metrics: dict[str, Any]) -> None:
    result = evaluate_metrics(metrics_gate(">= 0.9"), metrics, None, baseline_version=None)
    assert result.status == "failed"
    assert result.summary == "accuracy is missing from metrics.json"
    assert result.evidence["metrics"][0]["value"] is None


def test_evaluate_metrics_reports_every_failure() -> None:
    gate = MetricsGate(file="m.json", require={"accuracy": ">= 0.9", "latency_ms": "<= 50"})
    result = evaluate_metrics(
        gate, {"accuracy": 0.5, "latency_ms": 80}, None, baseline_version=None
    )
    assert result.summary == "accuracy 0.5 is not >= 0.9; latency_ms 80 is not <= 50"


# ---- baselines: no worse than the version now in the stage --------------------------

BASELINES: list[tuple[str, float, float, bool]] = [
    # rule, new value, value of the version in the stage, passed
    (">= 0.5", 0.92, 0.95, False),  # higher is better: a drop is worse
    (">= 0.5", 0.95, 0.92, True),
    (">= 0.5", 0.95, 0.95, True),
    ("> 0.5", 0.90, 0.91, False),
    ("<= 100", 80, 60, False),  # lower is better: a rise is worse
    ("<= 100", 60, 80, True),
    ("< 100", 60.0000000001, 60, True),  # within tolerance: not worse
    ("== 1", 1, 1, True),  # no direction: never worse
    ("!= 0", 5, 9, True),
]


@pytest.mark.parametrize(("rule", "value", "before", "passed"), BASELINES)
def test_evaluate_metrics_baseline_direction(
    rule: str, value: float, before: float, passed: bool
) -> None:
    result = evaluate_metrics(
        metrics_gate(rule, baseline=True),
        {"accuracy": value},
        {"accuracy": before},
        baseline_version="v1.0.0",
    )
    assert result.status == ("passed" if passed else "failed")
    row = result.evidence["metrics"][0]
    assert (row["baseline"], row["passed"]) == (before, passed)
    assert result.evidence["baseline_version"] == "v1.0.0"


def test_evaluate_metrics_baseline_failure_names_the_version_in_the_stage() -> None:
    result = evaluate_metrics(
        metrics_gate(">= 0.5", baseline=True),
        {"accuracy": 0.92},
        {"accuracy": 0.95},
        baseline_version="v2.0.0",
    )
    assert result.summary == "accuracy 0.92 is worse than 0.95 (v2.0.0, now in the stage)"


@pytest.mark.parametrize(
    ("baseline", "wanted", "stage_metrics"),
    [
        (True, "absent", None),  # nothing in the stage yet
        (True, None, {"other": 1.0}),  # the version in the stage lacks the metric
        (False, "absent", {"accuracy": 0.99}),  # the gate does not ask for a baseline
    ],
)
def test_evaluate_metrics_baseline_not_compared(
    baseline: bool, wanted: str | None, stage_metrics: dict[str, Any] | None
) -> None:
    result = evaluate_metrics(
        metrics_gate(">= 0.5", baseline=baseline),
        {"accuracy": 0.6},
        stage_metrics,
        baseline_version="v1.0.0" if stage_metrics else None,
    )
    assert result.status == "passed"
    row = result.evidence["metrics"][0]
    assert row.get("baseline", "absent") == wanted


def test_evaluate_metrics_threshold_and_baseline_both_fail() -> None:
    result = evaluate_metrics(
        metrics_gate(">= 0.9", baseline=True),
        {"accuracy": 0.8},
        {"accuracy": 0.95},
        baseline_version="v1.0.0",
    )
    assert result.summary == (
        "accuracy 0.8 is not >= 0.9; accuracy 0.8 is worse than 0.95 (v1.0.0, now in the stage)"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "metrics file m.json does not exist at that version's commit"),
        (b"{not json", "metrics file m.json is not valid JSON"),
        (b"[0.9]", "metrics file m.json must hold a JSON object of metric -> number"),
        (b"\xff", "metrics file m.json is not valid JSON"),
    ],
)
def test_parse_metrics_refuses(raw: bytes | None, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_metrics(raw, "m.json")
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize(
    "raw", [b'{"accuracy": 1e999}', b'{"accuracy": NaN}', b'{"accuracy": -Infinity}',
            b'{"accuracy": 1' + b"0" * 400 + b"}"],
)  # fmt: skip
def test_parse_metrics_refuses_a_value_that_is_not_a_finite_number(raw: bytes) -> None:
    with pytest.raises(InputError) as caught:
        parse_metrics(raw, "m.json")
    assert caught.value.message == (
        "metrics file m.json: accuracy is not a finite number "
        "(1e999, NaN, Infinity: write a number a float can hold)"
    )


def test_a_recorded_infinity_is_no_champion_value() -> None:
    record = {
        "gates": [
            {
                "kind": "metrics",
                "evidence": {
                    "file": "m.json",
                    "metrics": [
                        {"metric": "accuracy", "value": float("inf")},
                        {"metric": "auc", "value": 0.9},
                    ],
                },
            }
        ]
    }
    assert checks.recorded_metrics(record, "m.json") == {"auc": 0.9}  # fmt: skip


def test_parse_metrics_reads_an_object() -> None:
    assert parse_metrics(b'{"accuracy": 0.9, "n": 3}', "m.json") == {"accuracy": 0.9, "n": 3}


# ---- approvals -------------------------------------------------------------------------

APPROVALS: list[tuple[int, list[str], str, str, list[str], bool]] = [
    # required, approvers, promoter, status, counted, ignored_self
    (1, [], "ada@example.com", "waiting", [], False),
    (1, ["bob@example.com"], "ada@example.com", "passed", ["bob@example.com"], False),
    (1, ["ada@example.com"], "ada@example.com", "waiting", [], True),
    (1, ["ADA@example.com "], "ada@example.com", "waiting", [], True),  # case, spaces
    (
        2,
        ["bob@example.com", "Bob@Example.com"],
        "ada@example.com",
        "waiting",
        ["bob@example.com"],
        False,
    ),
    (2, ["bob@x.org", "eve@x.org"], "ada@example.com", "passed", ["bob@x.org", "eve@x.org"], False),
    (2, ["bob@x.org", "ada@example.com"], "ada@example.com", "waiting", ["bob@x.org"], True),
    (
        1,
        ["eve@x.org", "bob@x.org", "ada@example.com"],
        "ada@example.com",
        "passed",
        ["bob@x.org", "eve@x.org"],
        True,
    ),
]


@pytest.mark.parametrize(
    ("required", "approvers", "promoter", "status", "counted", "ignored_self"), APPROVALS
)
def test_evaluate_approvals(
    required: int,
    approvers: list[str],
    promoter: str,
    status: str,
    counted: list[str],
    ignored_self: bool,
) -> None:
    result = evaluate_approvals(required, approvers, promoter)
    assert result.kind == "approvals"
    assert result.status == status
    assert result.evidence == {
        "required": required,
        "approvers": counted,
        "ignored_self": ignored_self,
    }


@pytest.mark.parametrize(
    ("required", "approvers", "summary"),
    [
        (1, ["ada@example.com"], "0/1 approvals (the promoter's own approval does not count)"),
        (2, ["bob@x.org"], "1/2 approvals"),
        (1, ["bob@x.org"], "1/1 approvals: bob@x.org"),
    ],
)
def test_evaluate_approvals_summary(required: int, approvers: list[str], summary: str) -> None:
    assert evaluate_approvals(required, approvers, "ada@example.com").summary == summary


# ---- the http answer -------------------------------------------------------------------

HTTP: list[tuple[int | None, str, str, str]] = [
    (200, '{"prediction": 6}', "passed", "POST /predict -> 200"),
    (None, "", "failed", "server not healthy"),
    (500, "{}", "failed", "POST /predict answered 500, expected 200"),
    (200, '{"result": 6}', "failed", "POST /predict answer lacks prediction"),
    (200, "not json", "failed", "POST /predict answer lacks prediction"),
    (200, "[1, 2]", "failed", "POST /predict answer lacks prediction"),
]


@pytest.mark.parametrize(("status", "body", "verdict", "summary"), HTTP)
def test_evaluate_http(status: int | None, body: str, verdict: str, summary: str) -> None:
    gate = HttpGate(expect_keys=["prediction"])
    result = evaluate_http(gate, status, body, error="server not healthy")
    assert (result.kind, result.status, result.summary) == ("http", verdict, summary)
    assert result.evidence["status"] == status
    assert result.evidence["body_excerpt"] == body[:300]


def test_evaluate_http_without_expected_keys_takes_any_body() -> None:
    result = evaluate_http(HttpGate(method="GET", path="/health"), 200, "ok")
    assert (result.status, result.summary) == ("passed", "GET /health -> 200")


# ---- the pytest summary line ---------------------------------------------------------

PYTEST_SUMMARIES: list[tuple[str, dict[str, int]]] = [
    ("1 passed in 0.01s", {"passed": 1}),
    ("3 passed, 1 failed in 0.2s", {"passed": 3, "failed": 1}),
    ("=== 2 failed, 5 passed, 1 skipped in 1.23s ===", {"failed": 2, "passed": 5, "skipped": 1}),
    ("1 passed, 2 errors in 0.3s", {"passed": 1, "error": 2}),
    ("1 error in 0.1s", {"error": 1}),
    ("4 passed, 1 xfailed, 1 xpassed in 0.5s", {"passed": 4, "xfailed": 1, "xpassed": 1}),
    ("test_a.py::test_x FAILED\n1 failed, 1 passed in 0.1s", {"failed": 1, "passed": 1}),
    ("no tests ran in 0.01s", {}),
    ("", {}),
    ("ERROR: file or directory not found: tests", {}),
]


@pytest.mark.parametrize(("output", "counts"), PYTEST_SUMMARIES)
def test_pytest_counts(output: str, counts: dict[str, int]) -> None:
    assert pytest_counts(output) == counts


def test_pytest_counts_reads_the_last_summary_line() -> None:
    output = "earlier: 9 passed\n.F\n=== 1 failed, 1 passed in 0.1s ===\n"
    assert pytest_counts(output) == {"failed": 1, "passed": 1}


# ---- dispatch over the spec's gate models ------------------------------------------

GATES: list[tuple[dict[str, Any], GateKind]] = [
    ({"tests": {}}, "tests"),
    ({"metrics": {"file": "m.json", "require": {"a": ">= 1"}}}, "metrics"),
    ({"http": {}}, "http"),
    ({"approvals": {"required": 2}}, "approvals"),
    ({"command": {"run": "python -c 'print(1)'"}}, "command"),
]


@pytest.mark.parametrize(("entry", "kind"), GATES)
def test_gate_spec_and_kind(entry: dict[str, Any], kind: GateKind) -> None:
    gate = validated(Gate, entry)
    spec = gate_spec(gate)
    assert spec == getattr(gate, kind)
    assert gate_kind(spec) == kind == gate.kind
    assert skipped(spec) == GateResult(kind, "skipped", "not run: an earlier gate failed")


def passed(kind: GateKind = "tests") -> GateResult:
    return GateResult(kind, "passed", "ok")


def failed(kind: GateKind = "metrics") -> GateResult:
    return GateResult(kind, "failed", "no")


WAIT = GateResult("approvals", "waiting", "0/1 approvals")


@pytest.mark.parametrize(
    ("results", "held"),
    [
        ((), None),
        ((passed(), passed("http")), None),
        ((passed(), failed(), skipped(gate_spec(validated(Gate, {"http": {}})))), failed()),
        ((WAIT, passed()), WAIT),
        ((WAIT, failed("command")), failed("command")),  # a failure outranks waiting
    ],
)
def test_holding_back(results: tuple[GateResult, ...], held: GateResult | None) -> None:
    assert holding_back(results) == held


def test_gate_result_to_json_is_the_record_shape() -> None:
    result = GateResult("metrics", "passed", "accuracy 0.95 >= 0.9", {"file": "m.json"}, 0.25)
    assert result.to_json() == {
        "kind": "metrics",
        "status": "passed",
        "summary": "accuracy 0.95 >= 0.9",
        "evidence": {"file": "m.json"},
        "seconds": 0.25,
    }
    with pytest.raises(AttributeError):
        result.status = "failed"  # type: ignore[misc]  # frozen: the point of the test


# ---- one-line errors for hostile inputs ------------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (DEEP, "metrics file m.json nests JSON too deeply to read; "),
        (b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "metrics file m.json nests JSON"),
        (b"{", "metrics file m.json is not valid JSON: "),
        (b"[1]", "metrics file m.json must hold a JSON object"),
        (None, "metrics file m.json does not exist"),
    ],
    ids=["deep-list", "deep-object", "syntax", "not-object", "missing"],
)
def test_parse_metrics_refuses_in_one_line(raw: bytes | None, message: str) -> None:
    with pytest.raises(InputError) as info:
        checks.parse_metrics(raw, "m.json")
    assert info.value.exit_code == 3
    assert info.value.message.startswith(message)
    assert "\n" not in info.value.message


def test_evaluate_http_with_a_deeply_nested_answer_lacks_the_keys() -> None:
    gate = HttpGate(expect_keys=["prediction"])
    result = checks.evaluate_http(gate, 200, DEEP.decode())
    assert (result.status, result.summary) == (
        FAILED,
        "POST /predict answer lacks prediction",
    )


# ---- champion/challenger: thresholds relative to the version in the stage ----------

CHAMPION = {"accuracy": 0.90, "latency_p95_ms": 100.0}
RELATIVE: list[tuple[str, str, float, bool, float]] = [
    # (metric, rule, challenger value, passes, bound)
    ("accuracy", ">= baseline + 0.005", 0.906, True, 0.905),
    ("accuracy", ">= baseline + 0.005", 0.905, True, 0.905),
    ("accuracy", ">= baseline + 0.005", 0.904, False, 0.905),
    ("accuracy", ">= baseline - 0.01", 0.891, True, 0.89),
    ("accuracy", ">= baseline", 0.899, False, 0.90),
    ("latency_p95_ms", "<= baseline * 1.10", 110.0, True, 110.0),
    ("latency_p95_ms", "<= baseline * 1.10", 110.5, False, 110.0),
    ("latency_p95_ms", "< baseline * 0.5", 49.0, True, 50.0),
]


@pytest.mark.parametrize(("metric", "rule", "value", "passed", "bound"), RELATIVE)
def test_relative_thresholds(
    metric: str, rule: str, value: float, passed: bool, bound: float
) -> None:
    gate = MetricsGate(file="m.json", require={metric: rule})
    result = evaluate_metrics(gate, {metric: value}, CHAMPION, baseline_version="v1.0.0")
    assert result.passed is passed
    row = result.evidence["metrics"][0]
    assert row["value"] == value and row["baseline"] == CHAMPION[metric]
    assert row["bound"] == pytest.approx(bound) and row["passed"] is passed


def test_relative_failure_names_both_sides_and_the_margin() -> None:
    gate = MetricsGate(file="m.json", require={"accuracy": ">= baseline + 0.005"})
    result = evaluate_metrics(
        gate, {"accuracy": 0.9}, CHAMPION, baseline_version="v1.0.0", baseline_source="record"
    )
    assert result.summary == (
        "accuracy 0.9 is not >= 0.905 (>= baseline + 0.005, baseline 0.9 from v1.0.0, "
        "now in the stage)"
    )
    assert result.evidence["baseline_source"] == "record"
    row = result.evidence["metrics"][0]
    assert (row["rule"], row["margin"], row["relative"]) == (">= baseline + 0.005", 0.005, "+")


def test_relative_pass_summary_shows_the_bound() -> None:
    gate = MetricsGate(
        file="m.json", require={"accuracy": ">= 0.8", "latency_p95_ms": "<= baseline * 1.1"}
    )
    metrics = {"accuracy": 0.95, "latency_p95_ms": 90}
    result = evaluate_metrics(gate, metrics, CHAMPION, baseline_version="v1.0.0")
    assert result.summary == "accuracy 0.95 >= 0.8, latency_p95_ms 90 <= baseline * 1.1 (110)"


@pytest.mark.parametrize(
    ("baseline", "version", "note"),
    [
        (None, None, "no version in the stage to compare with: >= baseline + 0.005 passes"),
        ({"other": 1.0}, "v1.0.0", "v1.0.0 (now in the stage) has no accuracy: "
         ">= baseline + 0.005 passes"),
    ],
)  # fmt: skip
def test_relative_rule_without_a_champion_passes_with_a_note(
    baseline: dict[str, Any] | None, version: str | None, note: str
) -> None:
    gate = MetricsGate(file="m.json", require={"accuracy": ">= baseline + 0.005"})
    result = evaluate_metrics(gate, {"accuracy": 0.5}, baseline, baseline_version=version)
    assert result.passed
    assert result.evidence["metrics"][0]["note"] == note
    assert result.evidence["metrics"][0]["bound"] is None


def test_a_relative_rule_makes_the_gate_compare() -> None:
    assert MetricsGate(file="m.json", require={"a": ">= baseline"}).compares
    assert MetricsGate(file="m.json", require={"a": ">= 1"}, baseline="no_worse").compares
    assert not MetricsGate(file="m.json", require={"a": ">= 1"}).compares


def test_recorded_metrics_reads_the_champions_evidence() -> None:
    record = {
        "gates": [
            {"kind": "tests", "evidence": {}},
            {"kind": "metrics", "evidence": {"file": "other.json", "metrics": [
                {"metric": "accuracy", "value": 0.1}]}},
            {"kind": "metrics", "evidence": {"file": "m.json", "metrics": [
                {"metric": "accuracy", "value": 0.93}, {"metric": "loss", "value": None},
                {"metric": "latency_p95_ms", "value": 80}]}},
        ]
    }  # fmt: skip
    assert checks.recorded_metrics(record, "m.json") == {"accuracy": 0.93, "latency_p95_ms": 80}
    assert checks.recorded_metrics({"gates": "junk"}, "m.json") == {}
    assert checks.recorded_metrics(None, "m.json") == {}


def test_evaluate_live_metrics_passes_within_thresholds() -> None:
    result = checks.evaluate_live_metrics(
        {"error_rate": "<= 0.02", "latency_p95_ms": "<= 250"},
        {"error_rate": 0.01, "latency_p95_ms": 180, "requests": 1000},
        source="http://svc/metrics.json",
    )
    assert result.status == "passed"
    assert result.kind == "metrics"
    assert result.summary == "error_rate 0.01 <= 0.02, latency_p95_ms 180 <= 250"
    assert result.evidence == {
        "url": "http://svc/metrics.json",
        "metrics": [
            {"metric": "error_rate", "value": 0.01, "rule": "<= 0.02", "passed": True},
            {"metric": "latency_p95_ms", "value": 180.0, "rule": "<= 250", "passed": True},
        ],
    }


def test_evaluate_live_metrics_names_every_failure() -> None:
    result = checks.evaluate_live_metrics(
        {"error_rate": "<= 0.02", "latency_p95_ms": "<= 250", "auc": ">= 0.8", "p99": "<= 1"},
        {"error_rate": 0.05, "latency_p95_ms": "fast", "auc": float("nan")},
        source="http://svc/metrics.json",
    )
    assert result.status == "failed"
    assert result.summary == (
        "error_rate 0.05 is not <= 0.02; "
        "latency_p95_ms is not a finite number in http://svc/metrics.json; "
        "auc is not a finite number in http://svc/metrics.json; "
        "p99 is missing from http://svc/metrics.json"
    )
    assert [row["passed"] for row in result.evidence["metrics"]] == [False, False, False, False]


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(value=finite, bound=finite)
def test_threshold_operators_agree_on_what_is_equal(value: float, bound: float) -> None:
    def holds(op: str) -> bool:
        return checks.satisfies(value, op, bound)

    assert holds("==") is not holds("!=")
    assert [holds("<"), holds("=="), holds(">")].count(True) == 1
    assert holds(">=") is (holds(">") or holds("=="))
    assert holds("<=") is (holds("<") or holds("=="))
