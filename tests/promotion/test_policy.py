"""Stage policies: soak, windows, freezes and auto, evaluated at injected times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from envctl.promotion.policy import entered_at, evaluate, next_opening
from envctl.spec.model import validated
from envctl.spec.types import StagePolicy
from tests.registry.test_registry import C1, C2, tag
from tests.registry.test_registry import reg as make_registry

UTC = timezone.utc
# 2026-12-01 is a Tuesday.
TUE_10 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def policy(**raw: Any) -> StagePolicy:
    return validated(StagePolicy, raw)


OFFICE = {"timezone": "UTC", "windows": [{"days": ["mon", "tue", "wed"], "hours": "09:00-17:00"}]}
CASES: list[tuple[str, dict[str, Any], datetime, datetime | None, bool, datetime | None]] = [
    # (name, policy, now, entered previous, allowed, not before)
    ("no soak left", {"soak": "24h"}, TUE_10, TUE_10 - timedelta(hours=25), True, None),
    ("soak exactly over", {"soak": "24h"}, TUE_10, TUE_10 - timedelta(hours=24), True, None),
    (
        "soaking",
        {"soak": "24h"},
        TUE_10,
        TUE_10 - timedelta(hours=3),
        False,
        TUE_10 + timedelta(hours=21),
    ),
    ("first stage: nothing to soak in", {"soak": "2d"}, TUE_10, None, True, None),
    ("inside a window", OFFICE, TUE_10, None, True, None),
    (
        "after hours: the next morning",
        OFFICE,
        TUE_10.replace(hour=17),
        None,
        False,
        datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
    ),
    (
        "wednesday evening: monday morning",
        OFFICE,
        datetime(2026, 12, 2, 18, 30, tzinfo=UTC),
        None,
        False,
        datetime(2026, 12, 7, 9, 0, tzinfo=UTC),
    ),
    (
        "soak ends after hours: the window after it",
        {**OFFICE, "soak": "12h"},
        TUE_10,
        TUE_10,
        False,
        datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
    ),
    (
        "frozen: its end, then the next window",
        {
            **OFFICE,
            "freeze": [{"from": "2026-11-30T00:00", "until": "2026-12-02T12:00", "reason": "x"}],
        },
        TUE_10,
        None,
        False,
        datetime(2026, 12, 2, 12, 0, tzinfo=UTC),
    ),
    (
        "a freeze with an offset",
        {
            "timezone": "UTC",
            "freeze": [{"from": "2026-12-01T00:00+01:00", "until": "2026-12-01T12:00+01:00"}],
        },
        TUE_10,
        None,
        False,
        datetime(2026, 12, 1, 11, 0, tzinfo=UTC),
    ),
    (
        "a window in the policy's time zone",
        {"timezone": "America/New_York", "windows": [{"hours": "09:00-17:00"}]},
        TUE_10,  # 05:00 in New York (EST, UTC-5)
        None,
        False,
        datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
    ),
]


@pytest.mark.parametrize(
    ("raw", "now", "entered", "allowed", "not_before"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_evaluate(
    raw: dict[str, Any],
    now: datetime,
    entered: datetime | None,
    allowed: bool,
    not_before: datetime | None,
) -> None:
    verdict = evaluate(
        policy(**raw), stage="prod", now=now, previous="staging", entered_previous=entered
    )
    assert (verdict.allowed, verdict.not_before) == (allowed, not_before)


def test_not_yet_says_why_and_from_when() -> None:
    raw = {**OFFICE, "soak": "24h", "timezone": "Europe/Berlin"}
    verdict = evaluate(
        policy(**raw),
        stage="prod",
        now=TUE_10,
        previous="staging",
        entered_previous=TUE_10 - timedelta(hours=1),
    )
    assert verdict.summary == (
        "in staging since 2026-12-01 10:00 CET, soak 1d ends 2026-12-02 10:00 CET: "
        "allowed from 2026-12-02 10:00 CET"
    )
    assert verdict.to_json()["not_before"] == "2026-12-02T09:00:00+00:00"
    assert verdict.evidence["soaked_at"] == "2026-12-02T09:00:00+00:00"


def test_frozen_names_the_freeze() -> None:
    raw = {"timezone": "UTC", "freeze": [{"from": "2026-12-01T00:00", "until": "2026-12-03T00:00",
           "reason": "year-end close"}]}  # fmt: skip
    verdict = evaluate(policy(**raw), stage="prod", now=TUE_10)
    assert verdict.summary == (
        "frozen until 2026-12-03 00:00 UTC (year-end close): allowed from 2026-12-03 00:00 UTC"
    )


def test_auto_false_stops_an_unattended_run_only() -> None:
    manual = policy(auto=False)
    assert evaluate(manual, stage="prod", now=TUE_10).allowed
    verdict = evaluate(manual, stage="prod", now=TUE_10, unattended=True)
    assert (verdict.allowed, verdict.not_before) == (False, None)
    assert verdict.summary == (
        "prod takes no unattended promotion (policy auto: false): a person promotes with "
        "envctl promote --stage prod"
    )


def test_no_policy_allows() -> None:
    assert evaluate(None, stage="prod", now=TUE_10, unattended=True).allowed


def test_back_to_back_freezes_are_all_waited_out() -> None:
    freezes = [
        {"from": f"2026-12-{d:02d}T00:00", "until": f"2026-12-{d + 1:02d}T00:00"}
        for d in range(1, 20)
    ]
    opening = next_opening(policy(timezone="UTC", freeze=freezes), TUE_10)
    assert opening == datetime(2026, 12, 20, tzinfo=UTC)


def test_entered_at_is_the_latest_assignment_in_that_stage() -> None:
    registry = make_registry(
        tag("m@v1.0.0", C1, at=1),
        tag("m@v1.1.0", C2, at=2),
        tag("m#dev#1", C1, at=3),
        tag("m#dev#2", C2, at=4),
        tag("m#dev#3", C1, at=5),
    )
    first, last = (entered_at(registry, "m", v, "dev") for v in ("v1.1.0", "v1.0.0"))
    assert first is not None and last is not None and last > first
    assert entered_at(registry, "m", "v1.0.0", "prod") is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"soak": "1 day"}, "is not a duration"),
        ({"windows": [{"hours": "09:00-17:00"}]}, "need timezone"),
        ({"timezone": "Mars/Olympus"}, "is not an IANA time zone"),
        ({"timezone": "UTC", "windows": [{"hours": "22:00-06:00"}]}, "split a night window"),
        ({"timezone": "UTC", "windows": [{"days": []}]}, "at least 1 item"),
        ({"timezone": "UTC", "windows": [{"days": ["monday"]}]}, "'mon'"),
        (
            {"timezone": "UTC", "freeze": [{"from": "2026-12-02T00:00", "until": "2026-12-01"}]},
            "ends (until) after it starts",
        ),
        ({"auto": "sometimes"}, "valid boolean"),
        ({"soon": True}, "Extra inputs"),
    ],
)
def test_invalid_policies_are_refused(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        policy(**raw)
