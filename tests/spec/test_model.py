"""Metric rules: absolute thresholds and thresholds relative to the champion;
the stage policy's live checks."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from envctl.spec import types
from envctl.spec.model import MetricsGate, Spec, StagePolicy, validated
from envctl.spec.rules import MetricRule, parse_rule


@pytest.mark.parametrize(
    ("raw", "rule", "text"),
    [
        (">= 0.90", MetricRule(">=", threshold=0.9), ">= 0.9"),
        (">= baseline + 0.005", MetricRule(">=", relative="+", margin=0.005),
         ">= baseline + 0.005"),
        ("<= baseline * 1.10", MetricRule("<=", relative="*", margin=1.1), "<= baseline * 1.1"),
        (">=baseline-0.01", MetricRule(">=", relative="+", margin=-0.01), ">= baseline - 0.01"),
        ("> baseline", MetricRule(">", relative="+", margin=0.0), "> baseline"),
    ],
)  # fmt: skip
def test_parse_rule(raw: str, rule: MetricRule, text: str) -> None:
    assert parse_rule(raw) == rule
    assert rule.text == text
    assert parse_rule(text) == rule


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (">= baseline + x", "is not a threshold like"),
        (">= basline", "is not a threshold like"),
        (">= baseline +", "is not a threshold like"),
        ("~ baseline", "is not a threshold like"),
        (">= inf", "is not a threshold like"),
        ("<= baseline * 0", "a factor of the baseline is above 0"),
        ("<= baseline * -2", "a factor of the baseline is above 0"),
    ],
)
def test_parse_rule_refuses(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_rule(raw, "accuracy")


def test_metrics_gate_validates_relative_rules() -> None:
    with pytest.raises(ValueError, match="latency: '<= baseline % 2' is not a threshold"):
        MetricsGate(file="m.json", require={"latency": "<= baseline % 2"})


def test_stage_policy_live_checks_defaults_and_shape() -> None:
    policy = StagePolicy.model_validate(
        {
            "live": {
                "url": "http://churn.prod.internal:8000/",
                "metrics": {"require": {"error_rate": "<= 0.02"}},
            }
        }
    )
    assert policy.live is not None
    assert policy.live.url == "http://churn.prod.internal:8000"
    assert policy.live.rollback == "manual"
    assert policy.live.metrics is not None
    assert (policy.live.metrics.path, policy.live.metrics.timeout) == ("/metrics.json", 30)


def test_live_metrics_take_relative_rules() -> None:
    policy = StagePolicy.model_validate(
        {"live": {"metrics": {"require": {"latency_p95_ms": "<= baseline * 1.1"}}}}
    )
    assert policy.live is not None and policy.live.metrics is not None
    assert policy.live.metrics.require == {"latency_p95_ms": "<= baseline * 1.1"}


@pytest.mark.parametrize(
    ("live", "message"),
    [
        ({"rollback": "sometimes"}, "Input should be 'auto' or 'manual'"),
        ({"url": "churn:8000"}, "is not a service URL"),
        ({"metrics": {"require": {}}}, "at least 1 item"),
        ({"metrics": {"path": "metrics", "require": {"x": "<= 1"}}}, "is not an absolute URL path"),
        (
            {"metrics": {"require": {"error_rate": "<= baseline * 0"}}},
            "a factor of the baseline is above 0",
        ),
        ({"metrics": {"require": {"error_rate": "low"}}}, "is not a threshold like"),
        ({"urls": "http://x"}, "Extra inputs are not permitted"),
    ],
)
def test_stage_policy_live_checks_refuse(live: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StagePolicy.model_validate({"live": live})


# ---- evaluation sets (data.evaluation) and the evaluate gate ------------------------


def _evaluating(held: dict[str, Any], allowed: list[str] | None = None) -> dict[str, Any]:
    return {
        "name": "prod",
        "version": 1,
        "image": {"base": "debian:12"},
        "python": "3.11",
        "data": {"allowed": allowed or ["internal"], "evaluation": {"holdout": held}},
        "gates": [{"evaluate": {"data": "holdout", "require": {"accuracy": ">= 0.9"}}}],
    }


@pytest.mark.parametrize(
    ("held", "message"),
    [
        ({"classification": "internal"}, "give exactly one of file (in the project) and host_file"),
        (
            {"file": "e.csv", "host_file": "/srv/e.csv", "classification": "internal"},
            "give exactly one of file",
        ),
        ({"host_file": "srv/e.csv", "classification": "internal"}, "absolute path"),
        ({"host_file": "/srv/../etc/e.csv", "classification": "internal"}, "without '..'"),
        ({"file": "../e.csv", "classification": "internal"}, "without '..'"),
        ({"file": "e.csv", "classification": "internal", "sha256": "abc"}, "is not a sha256"),
        ({"file": "e.csv", "classification": "restricted"}, "this stage may not read it"),
    ],
)
def test_evaluation_set_refusals(held: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        Spec.model_validate(_evaluating(held))


def test_evaluation_set_on_the_engine_host_is_named_as_such() -> None:
    spec = validated(
        types.Spec, _evaluating({"host_file": "/srv/e.csv", "classification": "internal"})
    )
    assert spec.data.evaluation["holdout"].where == "host:/srv/e.csv"


def test_no_evaluation_sets_keep_a_spec_s_canonical_form() -> None:
    # Specs from before data.evaluation keep their fingerprints (and image tags).
    plain = _evaluating({"file": "e.csv", "classification": "internal"})
    del plain["data"]["evaluation"], plain["gates"]
    assert "evaluation" not in Spec.model_validate(plain).canonical()["data"]
