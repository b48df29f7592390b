"""status and history: what a record's gates say about its metrics."""

from __future__ import annotations

from typing import Any

from envctl.commands.status import recorded_metrics


def _gate(kind: str, **evidence: Any) -> dict[str, Any]:
    return {"kind": kind, "status": "passed", "evidence": evidence}


def test_recorded_metrics_label_claimed_and_measured_values() -> None:
    record = {
        "gates": [
            _gate("metrics", file="metrics.json", metrics=[{"metric": "accuracy", "value": 0.99}]),
            _gate("evaluate", data="holdout", metrics=[{"metric": "accuracy", "value": 0.87}]),
            _gate("tests", counts={"passed": 3}),
        ]
    }
    shown = [(m.metric, m.value, m.basis, m.source) for m in recorded_metrics(record)]
    assert shown == [
        ("accuracy", 0.99, "claimed", "metrics.json"),
        ("accuracy", 0.87, "measured", "holdout"),
    ]


def test_a_metrics_gate_is_claimed_whatever_its_evidence_says() -> None:
    # Older records name no basis; a hand-made one may name any: the kind decides.
    record = {
        "gates": [
            _gate(
                "metrics", basis="measured", file="m.json", metrics=[{"metric": "f1", "value": 0.9}]
            ),
        ]
    }
    assert [m.basis for m in recorded_metrics(record)] == ["claimed"]


def test_recorded_metrics_skip_what_is_not_a_finite_number() -> None:
    rows = [
        {"metric": "a", "value": True},
        {"metric": "b", "value": "0.9"},
        {"metric": "c", "value": float("nan")},
        {"metric": 3, "value": 0.5},
        "junk",
    ]
    record = {"gates": [_gate("evaluate", data="h", metrics=rows), "junk", {"kind": "metrics"}]}
    assert recorded_metrics(record) == []
    assert recorded_metrics({"gates": "junk"}) == []
