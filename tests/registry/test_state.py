"""The registry value as parse_registry builds it: its stage events are the values
their class's own constructor makes (they are made without it, for speed)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from envctl import registry as reg
from envctl.registry.state import parse_registry
from envctl.vcs import RawTag

C1 = "1" * 40
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


def annotated(name: str, at: int, message: str = "") -> RawTag:
    return RawTag(name, "tag", f"{at:040x}", "commit", C1, "Ada", "ada@example.com",
                  T0 + timedelta(seconds=at), message, name)  # fmt: skip


def test_stage_events_equal_what_their_constructor_makes() -> None:
    record = reg.format_record("promotes", {"kind": "promotion", "version": "v1.0.0"})
    registry = parse_registry(
        [annotated("m@v1.0.0", 0), annotated("m#dev#1", 1, record), annotated("m#prod!#2", 2)]
    )
    events = registry.models["m"].events
    assert [e.tag for e in events] == ["m#dev#1", "m#prod!#2"]
    for event in events:
        fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(reg.StageEvent)}
        made = reg.StageEvent(**fields)
        assert event == made
        assert hash(event) == hash(made)
        assert vars(event) == vars(made)  # every field set, nothing more
        assert event.record == made.record
        with pytest.raises(dataclasses.FrozenInstanceError):
            event.stage = "prod"  # type: ignore[misc]
    assert events[0].record == {"kind": "promotion", "version": "v1.0.0"}
    assert events[0].version == "v1.0.0"
    assert events[1].action is reg.Action.UNASSIGN


def test_versions_equal_what_their_constructor_makes() -> None:
    registry = parse_registry(
        [
            annotated("m@v1.0.0", 0, "Registering"),
            annotated("m@v2.0.0", 1),
            annotated("m@v2.0.0!", 2),
        ]
    )
    versions = registry.models["m"].versions
    assert [(v.version, v.active) for v in versions] == [("v1.0.0", True), ("v2.0.0", False)]
    for version in versions:
        fields = {f.name: getattr(version, f.name) for f in dataclasses.fields(reg.ModelVersion)}
        made = reg.ModelVersion(**fields)
        assert (version, hash(version), vars(version)) == (made, hash(made), vars(made))
        with pytest.raises(dataclasses.FrozenInstanceError):
            version.active = True  # type: ignore[misc]
    assert versions[0].summary == "Registering"
