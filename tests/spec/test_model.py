"""Metric rules: absolute thresholds and thresholds relative to the champion;
the stage policy's live checks."""

from __future__ import annotations

from typing import Any

import pytest

from envctl.spec.model import MetricRule, MetricsGate, StagePolicy, parse_rule


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
