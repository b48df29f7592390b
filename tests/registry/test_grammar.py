"""Tag grammar and SemVer order as properties: round trips, refusals, precedence."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from envctl.errors import InputError
from envctl.registry import (
    Action,
    TagName,
    format_tag_name,
    is_valid_model_name,
    is_valid_version,
    parse_tag_name,
    require_version,
    semver_key,
    split_version_ref,
)

ALNUM = "abcXYZ0189"
# GTO's name: starts and ends with a letter or digit; '-', '_', '/' only inside.
NAME = st.sampled_from(ALNUM) | st.builds(
    lambda first, middle, last: first + middle + last,
    st.sampled_from(ALNUM),
    st.text(ALNUM + "-_/", max_size=6),
    st.sampled_from(ALNUM),
)
MODEL = st.builds(
    lambda folder, name: f"{folder}:{name}" if folder else name,
    st.none() | st.text(ALNUM + "-_./", min_size=1, max_size=5),
    NAME,
)
NUMBER = st.integers(0, 12)
IDENTIFIER = st.one_of(
    NUMBER.map(str),
    st.text("abz-", min_size=1, max_size=3),
    st.builds(
        lambda d, w: f"{d}{w}", st.sampled_from("0179"), st.text("ab-", min_size=1, max_size=2)
    ),
)
PRE = st.lists(IDENTIFIER, max_size=3).map(".".join)
BUILD = st.lists(st.text("ab01-", min_size=1, max_size=3), max_size=2).map(".".join)


def semver(major: int, minor: int, patch: int, pre: str, build: str) -> str:
    return f"v{major}.{minor}.{patch}" + (f"-{pre}" if pre else "") + (f"+{build}" if build else "")


VERSION = st.builds(semver, NUMBER, NUMBER, NUMBER, PRE, BUILD)
PLAIN_VERSION = st.builds(semver, NUMBER, NUMBER, NUMBER, st.just(""), st.just(""))


@st.composite
def tag_names(draw: st.DrawFn) -> TagName:
    action = draw(st.sampled_from(list(Action)))
    versioned = action in (Action.REGISTER, Action.DEREGISTER)
    staged = action in (Action.ASSIGN, Action.UNASSIGN)
    return TagName(
        model=draw(MODEL),
        action=action,
        version=draw(VERSION) if versioned else None,
        stage=draw(NAME) if staged else None,
        counter=draw(st.none() | st.integers(0, 10_000)),
    )


@settings(max_examples=300, deadline=None)
@given(tag_names())
def test_format_then_parse_gives_back_the_event(name: TagName) -> None:
    assert parse_tag_name(format_tag_name(name)) == name


@settings(max_examples=200, deadline=None)
@given(NAME, st.sampled_from([" ", "@", "#", "!", "~", "^", "*", "=", "\n", "\\"]), st.data())
def test_a_name_with_a_foreign_character_is_refused(
    name: str, bad: str, data: st.DataObject
) -> None:
    at = data.draw(st.integers(0, len(name)))
    model = name[:at] + bad + name[at:]

    assert not is_valid_model_name(model)
    with pytest.raises(InputError, match="cannot name a registry tag"):
        format_tag_name(TagName(model, Action.ASSIGN, stage="prod", counter=1))


@pytest.mark.parametrize("model", ["-churn", "churn-", "churn/", "_churn", ""])
def test_a_name_must_start_and_end_with_a_letter_or_digit(model: str) -> None:
    with pytest.raises(InputError):
        format_tag_name(TagName(model, Action.REGISTER, version="v1.0.0"))


@settings(max_examples=100, deadline=None)
@given(VERSION)
def test_every_generated_version_is_valid_and_split_from_its_model(version: str) -> None:
    assert is_valid_version(version) and require_version(version) == version
    assert split_version_ref(f"churn@{version}") == ("churn", version)


@pytest.mark.parametrize("version", ["1.0.0", "v1.0", "v01.0.0", "v1.0.0-01", "v1.0.0-", "V1.0.0"])
def test_require_version_refuses_what_gto_would_not_read(version: str) -> None:
    with pytest.raises(InputError, match=r"is not a version like v1\.2\.3"):
        require_version(version)


# --- SemVer 2.0 precedence (semver.org, item 11) ------------------------------------


def reference_compare(a: str, b: str) -> int:
    """Precedence as the SemVer 2.0 text states it; build metadata is ignored."""
    (core_a, pre_a), (core_b, pre_b) = _split(a), _split(b)
    if core_a != core_b:
        return -1 if core_a < core_b else 1
    if not pre_a or not pre_b:
        return (not pre_a) - (not pre_b)  # a version without pre-release is higher
    for x, y in zip(pre_a, pre_b, strict=False):  # a shorter list is a prefix
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            return -1 if int(x) < int(y) else 1
        if x.isdigit() or y.isdigit():
            return -1 if x.isdigit() else 1  # numeric identifiers are lower
        return -1 if x < y else 1  # ASCII order
    return (len(pre_a) > len(pre_b)) - (len(pre_a) < len(pre_b))


def _split(version: str) -> tuple[tuple[int, ...], list[str]]:
    core, _, pre = version[1:].split("+")[0].partition("-")
    return tuple(int(n) for n in core.split(".")), pre.split(".") if pre else []


def _sign(a: tuple[Any, ...] | Version, b: tuple[Any, ...] | Version) -> int:
    return int(a > b) - int(a < b)  # type: ignore[operator]  # both sides are the same type


@settings(max_examples=300, deadline=None)
@given(VERSION, VERSION)
def test_semver_key_orders_by_semver_precedence(a: str, b: str) -> None:
    assert _sign(semver_key(a)[:-1], semver_key(b)[:-1]) == reference_compare(a, b)
    if reference_compare(a, b) < 0:
        assert semver_key(a) < semver_key(b)  # build metadata only breaks ties


@settings(max_examples=100, deadline=None)
@given(PLAIN_VERSION, PLAIN_VERSION)
def test_semver_key_agrees_with_pep440_on_plain_versions(a: str, b: str) -> None:
    assert _sign(semver_key(a), semver_key(b)) == _sign(Version(a[1:]), Version(b[1:]))


def test_semver_key_sorts_the_semver_org_example() -> None:
    ordered = [
        "v1.0.0-alpha",
        "v1.0.0-alpha.1",
        "v1.0.0-alpha.beta",
        "v1.0.0-beta",
        "v1.0.0-beta.2",
        "v1.0.0-beta.11",
        "v1.0.0-rc.1",
        "v1.0.0",
        "v1.0.1",
        "v1.10.0",
        "v2.0.0",
    ]
    assert sorted(reversed(ordered), key=semver_key) == ordered


# Names near `NAME#STAGE#N`: every character the grammar gives a meaning to.
NEAR_ASSIGNMENT = st.text("ab09-_/.#@!=:v\u0663", max_size=12) | st.builds(
    lambda model, stage, n, bang: f"{model}#{stage}{bang}#{n}",
    MODEL.map(lambda m: m.replace(":", "=")),
    NAME,
    st.text("0123456789\u0663", min_size=0, max_size=3),
    st.sampled_from(["", "!"]),
)


@given(NEAR_ASSIGNMENT)
@settings(max_examples=500)
def test_the_split_reads_assignment_names_as_the_grammar_does(name: str) -> None:
    from envctl.registry import grammar

    fast = grammar._counted_assignment(name)
    assert fast is None or fast == grammar._parse_by_grammar(name)
    assert parse_tag_name(name) == grammar._parse_by_grammar(name)
