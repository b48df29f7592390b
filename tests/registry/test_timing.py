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
    return RawTag(
        "m@v1.0.0", "tag", "a" * 40, "commit", C1, "Ada", "ada@x", T0, "v1.0.0", "m@v1.0.0"
    )


def event(n: int, stage: str, *, tagged: datetime, when: datetime | None, **extra: Any) -> RawTag:
    """`m#STAGE#n` tagged at `tagged`, its record's `when` (no record when None)."""
    message = "by hand"
    if when is not None:
        data = reg.promotion_record(
            who_name="Ada", who_email="ada@x", when=when, from_stage=None, env={},
            image=None, gates=[], version="v1.0.0",
        )  # fmt: skip
        message = reg.format_record("ada promotes", {**data, **extra})
    name = f"m#{stage}#{n}"
    return RawTag(name, "tag", f"{n:040x}", "commit", C1, "Ada", "ada@x", tagged, message, name)


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
    m = model(event(1, "dev", tagged=T0, when=month_back))
    assert reg.claimed_time(m.events[0]) == T0


def test_an_event_without_a_record_counts_from_its_tag_date() -> None:
    m = model(event(1, "dev", tagged=T0, when=None))
    assert reg.claimed_time(m.events[0]) == T0


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


def test_audit_flags_both_events_dated_out_of_their_order() -> None:
    """A future-dated event (anyone can push one in an unsigned stage) is named as
    well as the honest event after it: which clock was wrong, the ledger cannot tell."""
    found = problems(
        event(1, "dev", tagged=T0 + timedelta(days=1), when=T0 + timedelta(days=1)),
        event(2, "staging", tagged=T0, when=T0),
    )
    assert found == [
        ("m#staging#2", "dated 2024-05-01 12:00:00 UTC, before m#dev#1 (2024-05-02 12:00:00 UTC), "
                        "which it follows"),
        ("m#dev#1", "dated 2024-05-02 12:00:00 UTC, after m#staging#2 (2024-05-01 12:00:00 UTC), "
                    "which follows it"),
    ]  # fmt: skip


@given(
    st.integers(-10_000_000, 10_000_000),
    st.one_of(st.none(), st.integers(-10_000_000, 10_000_000)),
)
def test_an_event_counts_from_no_earlier_than_either_time(tagged: int, when: int | None) -> None:
    """Whichever clock was set back, the time an event counts from is the later one."""
    at = event(
        1, "dev", tagged=T0 + timedelta(seconds=tagged),
        when=None if when is None else T0 + timedelta(seconds=when),
    )  # fmt: skip
    claimed = reg.claimed_time(model(at).events[0])
    assert claimed is not None and claimed >= T0 + timedelta(seconds=tagged)
    assert when is None or claimed >= T0 + timedelta(seconds=when)
