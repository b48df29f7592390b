"""Image references: one parser, checked by round trips over generated references."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from envctl.oci.image_ref import ImageRef, is_host, parse

LOWER = "abcdefghijklmnopqrstuvwxyz0123456789"
ALNUM = st.text(LOWER, min_size=1, max_size=6)
COMPONENT = st.builds(
    lambda first, rest: first + "".join(sep + word for sep, word in rest),
    ALNUM,
    st.lists(st.tuples(st.sampled_from([".", "_", "__", "-", "--"]), ALNUM), max_size=2),
)
DOMAIN = st.builds(lambda a, b: f"{a}.{b}", ALNUM, ALNUM)
CAPITALISED = st.builds(lambda a, b: a + b, st.sampled_from("ABCXYZ"), st.text("abc", max_size=4))
HOST = st.builds(
    lambda name, port: name + (f":{port}" if port is not None else ""),
    st.one_of(DOMAIN, st.just("localhost"), CAPITALISED),
    st.none() | st.integers(1, 65535),
)
TAG = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("aZ9_"),
    st.text("abcXYZ019_.-", max_size=12),
)
DIGEST = st.binary(min_size=32, max_size=32).map(lambda b: f"sha256:{b.hex()}")


@st.composite
def references(draw: st.DrawFn) -> ImageRef:
    host = draw(st.none() | HOST)
    components = draw(st.lists(COMPONENT, min_size=1, max_size=3))
    # `a.b/c` names host a.b: a path cannot start with a host-like component.
    assume(host is not None or len(components) == 1 or not is_host(components[0]))
    return ImageRef("/".join(components), host, draw(st.none() | TAG), draw(st.none() | DIGEST))


@settings(max_examples=150, deadline=None)
@given(references())
def test_parse_and_format_round_trip(ref: ImageRef) -> None:
    text = str(ref)
    assert parse(text) == ref
    assert str(parse(text)) == text


@settings(max_examples=80, deadline=None)
@given(references(), st.sampled_from([" ", "\n", ";", "$", "'", '"', "`", "|", "&"]), st.data())
def test_a_shell_or_dockerfile_character_anywhere_is_refused(
    ref: ImageRef, bad: str, data: st.DataObject
) -> None:
    text = str(ref)
    at = data.draw(st.integers(0, len(text)))
    with pytest.raises(ValueError, match="is not an image reference"):
        parse(text[:at] + bad + text[at:])


@pytest.mark.parametrize(
    ("text", "host", "path", "tag", "digest"),
    [
        ("python:3.11-slim", None, "python", "3.11-slim", None),
        ("team/img", None, "team/img", None, None),
        ("registry:5000/team/img:1", "registry:5000", "team/img", "1", None),
        ("localhost/img", "localhost", "img", None, None),
        ("localhost:5000", None, "localhost", "5000", None),
        ("Team/img", "Team", "img", None, None),
        ("ghcr.io/o/i@sha256:" + "a" * 64, "ghcr.io", "o/i", None, "sha256:" + "a" * 64),
    ],
)
def test_parse_splits_host_path_tag_and_digest(
    text: str, host: str | None, path: str, tag: str | None, digest: str | None
) -> None:
    assert parse(text) == ImageRef(path, host, tag, digest)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "img:",
        "img@",
        "Img",
        "a//b",
        "img@sha256:abc",
        "img:-x",
        "python:3.11\n",
        "-a/b",
        "a.b_c/img",
    ],
)
def test_parse_refuses_what_is_not_a_reference(text: str) -> None:
    with pytest.raises(ValueError, match="is not an image reference"):
        parse(text)


@pytest.mark.parametrize(
    ("text", "familiar"),
    [
        ("docker.io/library/python:3.11", "python:3.11"),
        ("index.docker.io/library/python", "python:latest"),
        ("docker.io/team/img:2", "team/img:2"),
        ("library/python:3.11@sha256:" + "b" * 64, "python:3.11"),
        ("registry:5000/library/img", "registry:5000/library/img:latest"),
    ],
)
def test_familiar_drops_docker_hub_and_adds_the_implied_tag(text: str, familiar: str) -> None:
    assert parse(text).familiar == familiar
