"""Promotion records: the GPU bypass is written only when given and read field by field."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from envctl.registry.records import promotion_record, record_problems


def made(**extra: Any) -> dict[str, Any]:
    return promotion_record(
        who_name="Ada",
        who_email="ada@example.com",
        when=datetime(2026, 12, 5, tzinfo=timezone.utc),
        from_stage=None,
        env={"name": "prod"},
        image=None,
        gates=[{"kind": "command", "status": "passed"}],
        **extra,
    )


def test_a_gpu_bypass_is_recorded_only_when_given() -> None:
    assert "gpu_bypass" not in made()
    bypass = {"gpus": 1, "reason": "CPU smoke test", "engine_said": "no driver"}
    data = made(gpu_bypass=bypass)
    assert (data["gpu_bypass"], data["bypass"]) == (bypass, None)
    assert record_problems(data, "promotion") == []


@pytest.mark.parametrize("value", [{"gpus": 1}, {"reason": " "}, "accepted", []])
def test_a_gpu_bypass_without_a_reason_is_a_problem(value: object) -> None:
    data = {**made(), "gpu_bypass": value}
    assert record_problems(data, "promotion") == ["gpu_bypass is not {reason, ...}"]
