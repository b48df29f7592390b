"""Package indexes in a spec: names, URLs without credentials, routing that
names declared indexes and packages; credentials from uv's variables only, and
the redaction every printed or stored URL goes through."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envctl.errors import SpecError
from envctl.spec import indexes, types
from envctl.spec.loading import load_environment
from envctl.spec.model import validated

BASE: dict[str, Any] = {
    "name": "dev",
    "version": 1,
    "image": {"base": "python:3.11-slim-bookworm"},
    "python": "3.11",
    "packages": {"torch": "==2.7.1+cu128", "numpy": "==1.26.4"},
}
CU128 = {
    "name": "pytorch-cu128",
    "url": "https://download.pytorch.org/whl/cu128/",
    "explicit": True,
}


def spec(**changes: Any) -> types.Spec:
    return validated(types.Spec, {**BASE, **changes})


def test_spec_routes_a_package_to_a_named_index() -> None:
    routed = spec(indexes=[CU128], sources={"Torch": {"index": "pytorch-cu128"}})
    index = routed.index_of("torch")
    assert index is not None
    assert (index.name, index.url, index.explicit, index.default) == (
        "pytorch-cu128",
        "https://download.pytorch.org/whl/cu128",
        True,
        False,
    )
    assert routed.index_of("numpy") is None
    assert routed.canonical()["sources"] == {"torch": {"index": "pytorch-cu128"}}


def test_spec_without_indexes_keeps_its_fingerprint() -> None:
    plain = spec()
    assert "indexes" not in plain.canonical() and "sources" not in plain.canonical()
    assert plain.fingerprint() == spec(indexes=[], sources={}).fingerprint()
    assert plain.fingerprint() != spec(indexes=[CU128]).fingerprint()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"indexes": [{"name": "corp", "url": "https://alice:s3cret@pkgs.example.com/simple"}]},
            "an index URL holds no credentials",
        ),
        ({"indexes": [{"name": "corp", "url": "ftp://pkgs.example.com"}]}, "http or https"),
        ({"indexes": [{"name": "corp", "url": "https://x.org/simple?token=1"}]}, "no query"),
        ({"indexes": [{"name": "-corp", "url": "https://x.org"}]}, "is not an index name"),
        ({"indexes": [CU128, CU128]}, "pytorch-cu128 named more than once"),
        (
            {
                "indexes": [
                    {"name": "a", "url": "https://a.org", "default": True},
                    {"name": "b", "url": "https://b.org", "default": True},
                ]
            },
            "only one default index",
        ),
        ({"sources": {"torch": {"index": "nowhere"}}}, "no index named 'nowhere'"),
        (
            {"indexes": [CU128], "sources": {"jax": {"index": "pytorch-cu128"}}},
            "sources.jax: jax is not under packages",
        ),
        ({"indexes": [CU128], "sources": {"torch": "pytorch-cu128"}}, "valid dictionary"),
    ],
)
def test_spec_refuses_bad_routing(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        spec(**changes)


def test_credentials_in_a_spec_file_are_never_echoed(tmp_path: Path) -> None:
    path = tmp_path / "dev.yaml"
    path.write_text(
        "name: dev\nversion: 1\nimage: {base: 'python:3.11-slim-bookworm'}\npython: '3.11'\n"
        "indexes:\n  - {name: corp, url: 'https://alice:s3cret@pkgs.example.com/simple'}\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as raised:
        load_environment(str(path))
    shown = " ".join([raised.value.message, *raised.value.details])
    assert "an index URL holds no credentials" in shown
    assert "s3cret" not in shown and "alice" not in shown


def test_credentials_come_from_uv_variables() -> None:
    environ = {
        "UV_INDEX_PYTORCH_CU128_USERNAME": "alice",
        "UV_INDEX_PYTORCH_CU128_PASSWORD": "s3cret",
        "UV_INDEX_OTHER_PASSWORD": "x",
    }
    assert indexes.credential_variables("pytorch-cu128") == (
        "UV_INDEX_PYTORCH_CU128_USERNAME",
        "UV_INDEX_PYTORCH_CU128_PASSWORD",
    )
    assert indexes.credentials("pytorch-cu128", environ) == indexes.Credentials("alice", "s3cret")
    assert indexes.credentials("nothing", environ) is None
    assert indexes.credential_environment(["pytorch-cu128"], environ) == {
        "UV_INDEX_PYTORCH_CU128_USERNAME": "alice",
        "UV_INDEX_PYTORCH_CU128_PASSWORD": "s3cret",
    }
    url = indexes.with_credentials("https://x.org/simple", indexes.Credentials("a@b", "p:w/"))
    assert url == "https://a%40b:p%3Aw%2F@x.org/simple"
    assert indexes.redact(url) == "https://****@x.org/simple"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("--index-url https://u:p@h.org/simple", "--index-url https://****@h.org/simple"),
        ("see http://token@h.org and git+https://u:p@gh.com/x", "see http://****@h.org and git+https://****@gh.com/x"),
        ("mail alice@example.com", "mail alice@example.com"),
        ("https://h.org/simple/@pkg", "https://h.org/simple/@pkg"),
    ],
)  # fmt: skip
def test_redact(text: str, shown: str) -> None:
    assert indexes.redact(text) == shown


_USERINFO = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789:%!~*", min_size=1, max_size=20)


@given(user=_USERINFO, password=_USERINFO, prefix=st.text(max_size=20))
def test_redact_hides_any_userinfo(user: str, password: str, prefix: str) -> None:
    secret = f"{user}:{password}"
    text = f"{prefix} https://{secret}@host.example/simple"
    shown = indexes.redact(text)
    assert f"{secret}@" not in shown
    assert "https://****@host.example/simple" in shown
