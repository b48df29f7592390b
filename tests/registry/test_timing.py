"""When an event counts from, and the times audit flags (envctl/registry/timing.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envctl import registry as reg
from envctl.registry.state import parse_registry
from envctl.registry.timing import skew_problems
from envctl.vcs import RawTag

C1 = "1" * 40
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


def version() -> RawTag:
    return RawTag("m@v1.0.0", "tag", "a" * 40, "commit", C1, "Ada", "ada@x", T0, "v1.0.0")


def event(n: int, stage: str, *, tagged: datetime, when: datetime | None, **extra: Any) -> RawTag:
    """`m#STAGE#n` tagged at `tagged`, its record's `when` (no record when None)."""
    message = "by hand"
    if when is not None:
        data = reg.promotion_record(
            who_name="Ada", who_email="ada@x", when=when, from_stage=None, env={},
            image=None, gates=[], version="v1.0.0",
        )  # fmt: skip
        message = reg.format_record("ada promotes", {**data, **extra})
    return RawTag(f"m#{stage}#{n}", "tag", f"{n:040x}", "commit", C1, "Ada", "ada@x", tagged,
                  message)  # fmt: skip


def model(*events: RawTag) -> reg.Model:
    found = parse_registry([version(), *events]).model("m")
    assert found is not None
    return found


def problems(*events: RawTag) -> list[tuple[str, str]]:
    return [(e.tag, why) for e, why in skew_problems(parse_registry([version(), *events]))]


def test_an_event_counts_from_the_later_of_its_tag_date_and_its_record() -> None:
    month_back = T0 - timedelta(days=30)
    m = model(event(1, "dev", tagged=month_back, when=T0.replace(microsecond=123456)))
    assert reg.claimed_time(m.events[0]) == T0  # `when` to the second, as tag dates are
    assert reg.event_times(m.events) == {"m#dev#1": T0}


def test_an_event_never_counts_from_before_an_event_it_follows() -> None:
    m = model(
        event(1, "dev", tagged=T0, when=T0),
        event(2, "staging", tagged=T0 - timedelta(days=30), when=T0 - timedelta(days=30)),
        event(3, "prod", tagged=T0 + timedelta(hours=1), when=None),  # GTO's: no record
    )
    assert reg.event_times(m.events) == {
        "m#dev#1": T0, "m#staging#2": T0, "m#prod#3": T0 + timedelta(hours=1)
    }  # fmt: skip


@pytest.mark.parametrize(
    ("offset", "flagged"),
    [(timedelta(0), False), (reg.MAX_SKEW, False), (-reg.MAX_SKEW, False),
     (reg.MAX_SKEW + timedelta(seconds=1), True), (-timedelta(days=30), True)],
)  # fmt: skip
def test_audit_flags_a_tag_date_and_record_further_apart_than_the_skew(
    offset: timedelta, flagged: bool
) -> None:
    found = problems(event(1, "dev", tagged=T0 + offset, when=T0))
    assert [tag for tag, _ in found] == (["m#dev#1"] if flagged else [])


def test_the_message_says_both_times() -> None:
    found = problems(event(1, "dev", tagged=T0 - timedelta(days=30), when=T0))
    assert found == [
        ("m#dev#1", "tagged 2024-04-01 12:00:00 UTC but its record says 2024-05-01 12:00:00 UTC "
                    "(more than 5 minutes apart)"),
    ]  # fmt: skip


def test_a_renumbered_event_may_be_tagged_any_time_after_its_record() -> None:
    later = event(1, "dev", tagged=T0 + timedelta(days=3), when=T0, renumbered_from="m#dev#9")
    earlier = event(2, "dev", tagged=T0, when=T0 + timedelta(days=3), renumbered_from="m#dev#8")
    assert [tag for tag, _ in problems(later, earlier)] == ["m#dev#2"]


def test_audit_flags_an_event_dated_before_one_it_follows() -> None:
    found = problems(
        event(1, "dev", tagged=T0, when=T0),
        event(2, "staging", tagged=T0 - timedelta(days=1), when=T0 - timedelta(days=1)),
    )
    assert found == [
        ("m#staging#2", "dated 2024-04-30 12:00:00 UTC, before m#dev#1 (2024-05-01 12:00:00 UTC), "
                        "which it follows"),
    ]  # fmt: skip


@given(st.lists(st.integers(-10_000_000, 10_000_000), min_size=1, max_size=8))
def test_times_never_go_back_along_n(offsets: list[int]) -> None:
    """Whatever the clocks said, the time events count from rises with N and is
    never earlier than what the event itself claims."""
    tags = [
        event(n, "dev", tagged=T0 + timedelta(seconds=s), when=T0 + timedelta(seconds=s))
        for n, s in enumerate(offsets, start=1)
    ]
    m = model(*tags)
    times = [reg.event_times(m.events)[e.tag] for e in m.events]
    assert times == sorted(times)
    for moment, counted in zip(times, m.events, strict=True):
        claimed = reg.claimed_time(counted)
        assert claimed is not None and moment >= claimed
