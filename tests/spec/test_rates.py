"""The load gate's rate, duration and SLO rules as a spec writes them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from envctl.spec import rates
from envctl.spec.model import LoadGate
from envctl.spec.types import from_model


@pytest.mark.parametrize(
    ("raw", "per_second"), [("50/s", 50.0), ("3000/m", 50.0), (50, 50.0), ("2.5", 2.5)]
)
def test_a_rate_is_read_per_second(raw: object, per_second: float) -> None:
    assert rates.rate_per_second(raw) == per_second


@pytest.mark.parametrize("raw", ["0/s", "-5/s", "fast", True, "50/h", ""])
def test_a_rate_that_is_not_one_is_refused(raw: object) -> None:
    with pytest.raises(ValueError, match="rate"):
        rates.rate_per_second(raw)


@pytest.mark.parametrize(("raw", "secs"), [("30s", 30.0), ("2m", 120.0), ("500ms", 0.5), (3, 3.0)])
def test_a_duration_is_read_in_seconds(raw: object, secs: float) -> None:
    assert rates.seconds(raw) == secs


@given(st.floats(min_value=0.001, max_value=1e6, allow_nan=False))
def test_a_rate_written_back_reads_as_itself(rate: float) -> None:
    assert rates.rate_per_second(rates.format_rate(rate)) == rate
    assert rates.seconds(rates.format_seconds(rate)) == rate


@pytest.mark.parametrize(
    ("rule", "plain"),
    [("<= 0.1%", "<= 0.001"), ("<=5 %", "<= 0.05"), ("<= 100", "<= 100"),
     ("<= baseline * 1.2", "<= baseline * 1.2")],
)  # fmt: skip
def test_a_percentage_rule_is_a_fraction(rule: str, plain: str) -> None:
    assert rates.percent_rule(rule) == plain


def test_a_load_gate_reads_k6_like_thresholds() -> None:
    gate = LoadGate.model_validate(
        {
            "rate": "50/s",
            "duration": "30s",
            "slo": {"p95_ms": ["<= 100", "<= baseline * 1.2"], "error_rate": "<= 0.1%"},
        }
    )

    assert (gate.rate, gate.duration) == (50.0, 30.0)
    assert gate.slo == {"p95_ms": ["<= 100", "<= baseline * 1.2"], "error_rate": ["<= 0.001"]}
    assert from_model(gate).compares
    assert gate.model_dump(mode="json")["rate"] == "50/s"
    assert gate.model_dump(mode="json")["duration"] == "30s"


@pytest.mark.parametrize(
    ("slo", "message"),
    [
        ({"p97_ms": "<= 1"}, "'p97_ms' is not one of p50_ms"),
        ({"p95_ms": "fast"}, "is not a threshold"),
        ({"p95_ms": []}, "give at least one rule"),
        ({}, "at least 1 item"),
        ({"p95_ms": "<= 10%"}, "'<= 10%': only error_rate takes a percent; write p95_ms in"),
        ({"achieved_rps": ">= 95%"}, "only error_rate takes a percent"),
        (
            {"error_rate": "<= 200%"},
            r"'<= 200%': error_rate is a fraction of the requests \(0 to 1\): "
            "write at most 100%",
        ),
        ({"error_rate": "<= 5"}, r'write "<= 5%" or "<= 0.05"'),
    ],
)
def test_a_load_gate_s_slo_is_checked(slo: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        LoadGate.model_validate({"rate": 5, "duration": "1s", "slo": slo})


def test_a_load_gate_that_would_send_nothing_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"a rate of 0\.1/s for 2s sends no request"):
        LoadGate.model_validate({"rate": "6/m", "duration": "2s", "slo": {"p95_ms": "<= 1"}})
