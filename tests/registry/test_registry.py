"""The registry core: GTO's tag grammar, ordering by #N, warnings, records, approvals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from envctl.errors import InputError
from envctl.registry import (
    Action,
    Registry,
    TagName,
    approval_tag,
    approver_slug,
    assignment_tag,
    format_record,
    format_tag_name,
    parse_approval_tag,
    parse_record,
    parse_tag_name,
    promotion_record,
    registration_tag,
    semver_key,
)
from envctl.registry.state import parse_registry
from envctl.vcs import RawTag

C1, C2, C3, C4 = (c * 40 for c in "1234")
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
ADA = "ada@example.com"


def tag(
    name: str,
    commit: str = C1,
    *,
    at: int = 0,
    kind: str = "tag",
    message: str = "",
    email: str = ADA,
) -> RawTag:
    """A raw tag record; `at` is seconds after T0 (0 for all = every tag in one second)."""
    if kind != "tag":
        return RawTag(
            name, kind, commit, kind, commit if kind == "commit" else "", "", "", None, "", ""
        )
    target = "commit" if commit else "tree"
    return RawTag(
        name, "tag", "f" * 40, target, commit, "Ada", email, T0 + timedelta(seconds=at), message,
        name,
    )  # fmt: skip


def reg(*tags: RawTag) -> Registry:
    return parse_registry(tags)


def stages(registry: Registry, model: str = "m") -> dict[str, str | None]:
    found = registry.model(model)
    assert found is not None
    return {stage: event.version for stage, event in found.stages.items()}


def warned(registry: Registry) -> dict[str, str]:
    return {w.tag: w.message for w in registry.warnings}


# --- grammar: shared with tests/test_gto_compat.py, which checks gto agrees ------

GRAMMAR_ACCEPT: list[tuple[str, TagName]] = [
    ("m@v1.0.0", TagName("m", Action.REGISTER, version="v1.0.0")),
    ("m@v1.0.0#3", TagName("m", Action.REGISTER, version="v1.0.0", counter=3)),
    ("m@v1.0.0!", TagName("m", Action.DEREGISTER, version="v1.0.0")),
    ("m@v1.0.0!#4", TagName("m", Action.DEREGISTER, version="v1.0.0", counter=4)),
    ("m#prod", TagName("m", Action.ASSIGN, stage="prod")),
    ("m#prod#1", TagName("m", Action.ASSIGN, stage="prod", counter=1)),
    ("m#prod!#2", TagName("m", Action.UNASSIGN, stage="prod", counter=2)),
    ("m#prod!", TagName("m", Action.UNASSIGN, stage="prod")),
    ("m@deprecated", TagName("m", Action.DEPRECATE)),
    ("m@deprecated#9", TagName("m", Action.DEPRECATE, counter=9)),
    ("a#b#1", TagName("a", Action.ASSIGN, stage="b", counter=1)),  # 1 char despite gto's message
    ("m#prod#03", TagName("m", Action.ASSIGN, stage="prod", counter=3)),
    ("m_x#st/ag-e#1", TagName("m_x", Action.ASSIGN, stage="st/ag-e", counter=1)),
    ("nlp/bert-base@v2.0.0", TagName("nlp/bert-base", Action.REGISTER, version="v2.0.0")),
    (
        "cv/sub=seg@v1.0.0-rc.1+build.5",
        TagName("cv/sub:seg", Action.REGISTER, version="v1.0.0-rc.1+build.5"),
    ),
    ("x.y=m#prod#3", TagName("x.y:m", Action.ASSIGN, stage="prod", counter=3)),
    ("m@v1.0.0-alpha.beta.1", TagName("m", Action.REGISTER, version="v1.0.0-alpha.beta.1")),
    ("m@v0.0.0+20240501", TagName("m", Action.REGISTER, version="v0.0.0+20240501")),
    ("m@v1.0.0-0a", TagName("m", Action.REGISTER, version="v1.0.0-0a")),
]

GRAMMAR_REJECT = [
    "m",
    "v1.0.0",
    "m@1.0.0",  # GTO requires the v (gto#376)
    "m@v1.0",
    "m@v01.0.0",
    "m@v1.0.0-01",  # numeric pre-release ids have no leading zero
    "m@v1.0.0+",
    "-m@v1.0.0",
    "m-@v1.0.0",
    "m#s_#1",
    "m#prod#x",
    "m#prod#1#2",
    "m##1",
    "m#prod!!#1",
    "m@deprecated!",
    "m@created",  # matches gto's regex but means nothing (and breaks gto)
    "d1=d2=m#p#1",
    "=m#p#1",
    "a.b@v1.0.0",
    "m:x@v1.0.0",
    "envctl/approval/m/v1.0.0/prod/ada-example-com-1a2b3c4d",
    "m@v1.0.0 ",
    "m@V1.0.0",
]


@pytest.mark.parametrize(("name", "expected"), GRAMMAR_ACCEPT)
def test_parse_tag_name_accepts_gto_grammar(name: str, expected: TagName) -> None:
    assert parse_tag_name(name) == expected


@pytest.mark.parametrize("name", GRAMMAR_REJECT)
def test_parse_tag_name_rejects_what_gto_rejects(name: str) -> None:
    assert parse_tag_name(name) is None


@pytest.mark.parametrize(("name", "expected"), GRAMMAR_ACCEPT)
def test_format_tag_name_round_trips(name: str, expected: TagName) -> None:
    if name == "m#prod#03":  # the one spelling that does not come back verbatim
        name = "m#prod#3"
    assert format_tag_name(expected) == name


@pytest.mark.parametrize(
    "build",
    [
        lambda: assignment_tag("bad name", "prod", 1),
        lambda: assignment_tag("m", "pro_", 1),
        lambda: assignment_tag("m", "prod", -1),
        lambda: registration_tag("m", "1.0.0"),
        lambda: registration_tag("m=x", "v1.0.0"),
    ],
)
def test_tag_builders_refuse_names_gto_cannot_read(build: Callable[[], str]) -> None:
    with pytest.raises(InputError, match="cannot name a registry tag"):
        build()


def test_tag_builders_write_monorepo_names_with_equals() -> None:
    assert assignment_tag("cv/sub:seg", "prod", 7) == "cv/sub=seg#prod#7"
    assert registration_tag("cv/sub:seg", "v1.0.0") == "cv/sub=seg@v1.0.0"


SEMVER_ASCENDING = [
    "v1.0.0-alpha",
    "v1.0.0-alpha.1",
    "v1.0.0-alpha.beta",
    "v1.0.0-beta",
    "v1.0.0-beta.2",
    "v1.0.0-beta.11",
    "v1.0.0-rc.1",
    "v1.0.0",
    "v1.0.1",
    "v1.2.0",
    "v1.10.0",
    "v2.0.0",
]


def test_semver_key_follows_semver_precedence() -> None:
    assert sorted(reversed(SEMVER_ASCENDING), key=semver_key) == SEMVER_ASCENDING


# --- ordering and the current version per stage -------------------------------

BASE = (tag("m@v1.0.0", C1), tag("m@v2.0.0", C2), tag("m@v3.0.0", C3))


def test_events_are_ordered_by_counter_when_all_share_one_second() -> None:
    # "#10" sorts before "#9" as text; every tag is in the same second.
    registry = reg(*BASE, tag("m#prod#9", C1), tag("m#prod#10", C2), tag("m#prod#2", C3))
    model = registry.model("m")
    assert model is not None
    assert [e.counter for e in model.events] == [2, 9, 10]
    assert stages(registry) == {"prod": "v2.0.0"}


def test_counter_wins_over_tagger_time() -> None:
    registry = reg(*BASE, tag("m#prod#1", C1, at=50), tag("m#prod#2", C2, at=10))
    assert stages(registry) == {"prod": "v2.0.0"}


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        # environments: one version per stage, a version may be in several stages
        ([("m#dev#1", C1), ("m#staging#2", C1), ("m#dev#3", C2)],
         {"dev": "v2.0.0", "staging": "v1.0.0"}),
        # unassigning the current version falls back to the previous active one
        ([("m#prod#1", C1), ("m#prod#2", C2), ("m#prod!#3", C2)], {"prod": "v1.0.0"}),
        # unassigning every version empties the stage
        ([("m#prod#1", C1), ("m#prod!#2", C1)], {}),
        # rollback = re-assigning an older version as a new event
        ([("m#prod#1", C1), ("m#prod#2", C2), ("m#prod#3", C1)], {"prod": "v1.0.0"}),
        # re-assignment after an unassignment is active again
        ([("m#prod#1", C1), ("m#prod!#2", C1), ("m#prod#3", C1)], {"prod": "v1.0.0"}),
        # an unassignment of a version not current leaves the stage alone
        ([("m#prod#1", C1), ("m#prod#2", C2), ("m#prod!#3", C1)], {"prod": "v2.0.0"}),
        # a deregistered version leaves every stage; the stage falls back
        ([("m#prod#1", C1), ("m#prod#2", C2), ("m@v2.0.0!#3", C2)], {"prod": "v1.0.0"}),
        # ... and a re-registration (counted) brings it back
        ([("m#prod#1", C1), ("m#prod#2", C2), ("m@v2.0.0!#3", C2), ("m@v2.0.0#4", C2)],
         {"prod": "v2.0.0"}),
    ],
)  # fmt: skip
def test_current_version_per_stage(events: list[tuple[str, str]], expected: dict[str, str]) -> None:
    registry = reg(*BASE, *(tag(name, commit) for name, commit in events))
    assert stages(registry) == expected
    assert registry.warnings == ()


def test_counterless_tags_slot_after_the_counted_tags_before_them() -> None:
    # GTO's CLI writes deregistration and deprecation without #N, after counted tags.
    late = reg(
        *BASE, tag("m#prod#1", C1, at=1), tag("m@v1.0.0#2", C1, at=2), tag("m@v1.0.0!", C1, at=3)
    )
    model = late.model("m")
    assert model is not None and model.version("v1.0.0") is not None
    assert model.version("v1.0.0").active is False  # type: ignore[union-attr]
    assert stages(late) == {}
    early = reg(
        *BASE, tag("m@v1.0.0!", C1, at=1), tag("m@v1.0.0#2", C1, at=2), tag("m#prod#3", C1, at=3)
    )
    assert stages(early) == {"prod": "v1.0.0"}
    # same second: a counterless registration reads as first, a deregistration as last
    same = reg(tag("m@v1.0.0"), tag("m#prod#1", C1), tag("m@v1.0.0!", C1))
    assert stages(same) == {}
    assert reg(tag("m@v1.0.0"), tag("m#prod#1", C1)).model("m").versions[0].active  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("tags", "deprecated"),
    [
        ([tag("m#prod#1", at=1), tag("m@deprecated", at=2)], True),
        ([tag("m@deprecated", at=1), tag("m#prod#1", at=2)], False),  # GTO resurrects it
        ([tag("m@deprecated#2", at=0), tag("m#prod#1", at=9)], True),  # by N, not time
        ([tag("m#prod#1")], False),
    ],
)
def test_deprecation_is_the_models_last_event(tags: list[RawTag], deprecated: bool) -> None:
    model = reg(tag("m@v1.0.0"), *tags).model("m")
    assert model is not None and model.deprecated is deprecated


def test_versions_are_listed_by_semver_with_authorship() -> None:
    registry = reg(tag("m@v1.10.0", C1, at=1), tag("m@v1.2.0", C2, at=2), tag("m@v1.2.0-rc.1", C3))
    model = registry.model("m")
    assert model is not None
    assert [v.version for v in model.versions] == ["v1.2.0-rc.1", "v1.2.0", "v1.10.0"]
    assert model.latest is not None and model.latest.version == "v1.10.0"
    first = model.versions[0]
    assert (first.commit, first.author_email, first.tag, first.active) == (
        C3,
        ADA,
        "m@v1.2.0-rc.1",
        True,
    )


# --- bad tags never break reading --------------------------------------------------


def test_lightweight_tags_are_ignored_with_a_warning_but_count_for_n() -> None:
    registry = reg(*BASE, tag("m#prod#1", C1), tag("m#prod#7", C2, kind="commit"))
    assert stages(registry) == {"prod": "v1.0.0"}
    assert warned(registry) == {"m#prod#7": "lightweight tag ignored; re-create it with -a"}
    assert registry.next_counter("m") == 8  # GTO counts every parsable tag name


@pytest.mark.parametrize(
    ("stray", "message"),
    [
        (tag("m#prod#x"), "looks like a registry tag"),
        (tag("m@v1.0"), "looks like a registry tag"),
        (tag("m@created"), "`@created`"),
        (tag("envctl/other"), "looks like a registry tag"),
        (tag("envctl/approval/m/prod/x"), "not MODEL/vX.Y.Z/STAGE/SLUG"),
        (tag("m#prod#5", ""), "points at a tree, not a commit"),
        (tag("m#dev#5", C4), "has no registered version of m"),
        (tag("m@v1.0.0#5", C2), "v1.0.0 is registered at 111111111111"),
        (tag("m@v9.0.0!#5", C2), "deregisters unknown v9.0.0"),
        (tag("m#dev#1", C2), "#1 shared with m#prod#1"),
    ],
)
def test_stray_and_malformed_tags_warn_and_the_rest_still_reads(
    stray: RawTag, message: str
) -> None:
    registry = reg(*BASE, tag("m#prod#1", C1), stray)
    assert stages(registry)["prod"] == "v1.0.0"
    assert any(message in w.message for w in registry.warnings), registry.warnings


@pytest.mark.parametrize(
    "name", ["v1.0.0", "release-2024", "pkg@1.2.3", "@scope/pkg@2.0.0", "latest"]
)
def test_foreign_tags_are_ignored_silently(name: str) -> None:
    registry = reg(*BASE, tag(name), tag(name + "-light", kind="commit"))
    assert registry.warnings == ()
    assert list(registry.models) == ["m"]


@pytest.mark.parametrize(
    "name",
    ["", "#", "@", "!", "#1", "@v1.0.0", "m#", "m@", "m@v", "envctl/approval/",
     "envctl/approval/a/b", "envctl/approval//v1.0.0//x", "m#prod#99999999999999999999999",
     "\u00e9@v1.0.0", "m@v\u0661.0.0"],
)  # fmt: skip
def test_odd_names_never_raise(name: str) -> None:
    registry = reg(*BASE, tag(name), tag(name, kind="commit"))
    assert registry.model("m") is not None


def test_assignment_without_registered_version_uses_the_commit() -> None:
    registry = reg(tag("m@v1.0.0", C1), tag("m#dev#1", C4))
    model = registry.model("m")
    assert model is not None
    current = model.stages["dev"]
    assert (current.version, current.commit) == (None, C4)
    assert "has no registered version" in warned(registry)["m#dev#1"]


def test_two_versions_on_one_commit_warn_and_the_greatest_gets_the_stages() -> None:
    registry = reg(tag("m@v1.0.0-rc.1", C1), tag("m@v1.0.0", C1), tag("m#prod#1", C1))
    assert stages(registry) == {"prod": "v1.0.0"}
    assert "shares commit" in warned(registry)["m@v1.0.0-rc.1"]


def record_for(version: str) -> str:
    data = promotion_record(
        who_name="Ada", who_email=ADA, when=T0, from_stage=None, env={}, image=None, gates=[],
        version=version,
    )  # fmt: skip
    return format_record(f"{ADA} promotes m@{version}", data)


def test_on_a_shared_commit_each_event_gets_the_version_its_record_names() -> None:
    registry = reg(
        tag("m@v1.2.0", C1), tag("m#dev#1", C1, message=record_for("v1.2.0")),
        tag("m@v1.3.0", C1), tag("m#staging#2", C1, message=record_for("v1.2.0")),
        tag("m#prod#3", C1, message="Assigning stage prod"),  # GTO's: no record
        tag("m#qa#4", C1, message=record_for("v9.9.9")),  # names a version not at C1
    )  # fmt: skip
    model = registry.model("m")
    assert model is not None
    assert [(e.tag, e.version) for e in model.events] == [
        ("m#dev#1", "v1.2.0"),
        ("m#staging#2", "v1.2.0"),
        ("m#prod#3", "v1.3.0"),
        ("m#qa#4", "v1.3.0"),
    ]
    assert stages(registry) == {"dev": "v1.2.0", "prod": "v1.3.0", "qa": "v1.3.0",
                                "staging": "v1.2.0"}  # fmt: skip
    assert "do not name their version" in warned(registry)["m@v1.2.0"]


# --- counters ----------------------------------------------------------------------


def test_next_counter_is_one_per_model_across_all_stages_and_kinds() -> None:
    registry = reg(
        tag("m@v1.0.0"), tag("m#dev#1"), tag("m#staging#4"), tag("m#prod!#2"),
        tag("m@v1.0.0#6", C1), tag("other#prod#40", C2), tag("cv/sub=seg#prod#11", C3),
    )  # fmt: skip
    assert registry.next_counter("m") == 7
    assert registry.next_counter("other") == 41
    assert registry.next_counter("cv/sub:seg") == 12
    assert registry.next_counter("new") == 1


# --- records -----------------------------------------------------------------------

RECORDS: list[dict[str, Any]] = [
    {},
    {"who": {"name": "Ada", "email": ADA}, "bypass": None, "rollback_of": "m#prod#3"},
    {"gates": [{"name": "tests", "result": "pass", "evidence": {"passed": 12, "failed": 0}}]},
    {"text": "line one\nline two\n\nenvctl-record: v1\n# not a comment", "unicode": "Zoë ✓"},
    promotion_record(
        who_name="Ada", who_email=ADA, when=T0, from_stage="staging",
        env={"name": "prod", "spec_version": 4, "fingerprint": "sha256:ab"},
        image="sha256:cd", gates=[{"name": "metrics", "kind": "metrics", "result": "pass"}],
        bypass="hotfix for incident 42",
    ),
]  # fmt: skip


@pytest.mark.parametrize("data", RECORDS)
def test_record_round_trips(data: dict[str, Any]) -> None:
    message = format_record("Promote m v1.0.0 to prod", data)
    assert message.splitlines()[:3] == ["Promote m v1.0.0 to prod", "", "envctl-record: v1"]
    assert parse_record(message) == data


def test_record_summary_is_one_line() -> None:
    assert format_record("two\nlines  here", {}).split("\n", 1)[0] == "two lines here"


@pytest.mark.parametrize(
    "message",
    [
        "",
        "Assigning stage prod to artifact m version v1.0.0",
        "free text\n\nwith: yaml\n",
        "x\n\nenvctl-record: v2\n{}\n",
        "x\n\nenvctl-record: v1\n{broken\n",
        "x\n\nenvctl-record: v1\n[1, 2]\n",
        "envctl-record: v1",
    ],
)
def test_parse_record_returns_none_for_anything_else(message: str) -> None:
    assert parse_record(message) is None


def test_parse_record_ignores_a_trailing_signature() -> None:
    signed = (
        format_record("s", {"a": 1})
        + "-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n"
    )
    assert parse_record(signed) == {"a": 1}


def test_records_reach_the_registry() -> None:
    record = {"from_stage": "staging", "rollback_of": None}
    registry = reg(
        tag("m@v1.0.0", message="Registering artifact m version v1.0.0\n"),
        tag("m#prod#1", message=format_record("Promote", record)),
        tag("m#dev#2", message="x\n\nenvctl-record: v1\n{damaged"),
    )
    model = registry.model("m")
    assert model is not None
    assert (model.events[0].summary, model.events[0].record) == ("Promote", record)
    assert (model.events[1].summary, model.events[1].record) == ("x", None)
    assert model.versions[0].summary == "Registering artifact m version v1.0.0"
    assert model.versions[0].record is None
    assert registry.warnings == ()


# --- approvals ---------------------------------------------------------------------


def test_approval_tag_names_the_approver_uniquely() -> None:
    name = approval_tag("m", "v1.0.0", "prod", "Ada@Example.com")
    assert name == f"envctl/approval/m/v1.0.0/prod/{approver_slug(ADA)}"
    assert approver_slug(ADA).startswith("ada-example-com-")
    assert approver_slug("a.b@x.io") != approver_slug("a-b@x.io")
    assert parse_tag_name(name) is None  # never a GTO event


@pytest.mark.parametrize(
    ("model", "version", "stage"),
    [
        ("m", "v1.0.0", "prod"),
        ("nlp/bert", "v2.0.0-rc.1+b.7", "eu/prod"),
        ("cv/a.b:seg", "v0.1.0", "qa"),
    ],
)
def test_approval_tag_round_trips(model: str, version: str, stage: str) -> None:
    parsed = parse_approval_tag(approval_tag(model, version, stage, ADA))
    assert parsed is not None
    assert (parsed.model, parsed.version, parsed.stage) == (model, version, stage)


@pytest.mark.parametrize(
    ("model", "version", "stage"), [("m", "1.0.0", "prod"), ("m", "v1.0.0", "a.b")]
)
def test_approval_tag_refuses_bad_names(model: str, version: str, stage: str) -> None:
    with pytest.raises(InputError, match="cannot approve"):
        approval_tag(model, version, stage, ADA)


def test_approvals_are_read_per_model_version_and_stage() -> None:
    bob = "Bob@example.com"
    registry = reg(
        *BASE,
        tag(approval_tag("m", "v1.0.0", "prod", ADA)),
        tag(approval_tag("m", "v1.0.0", "prod", bob), email=bob),
        tag(approval_tag("m", "v1.0.0", "staging", bob), email=bob),
        tag(approval_tag("m", "v2.0.0", "prod", "eve@example.com"), email=ADA),  # forged slug
        tag(approval_tag("m", "v2.0.0", "prod", ADA), kind="commit"),  # no tagger
    )
    assert registry.approvers("m", "v1.0.0", "prod") == {ADA, "bob@example.com"}
    assert registry.approvers("m", "v1.0.0", "staging") == {"bob@example.com"}
    assert registry.approvers("m", "v2.0.0", "prod") == frozenset()
    assert set(registry.approvals) == {("m", "v1.0.0", "prod"), ("m", "v1.0.0", "staging")}
    assert len(registry.warnings) == 2
    assert stages(registry) == {}
