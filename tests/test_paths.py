"""paths: containment of checkout paths (real symlinks), sanitized excerpts."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envctl import paths
from envctl.errors import InputError


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "proj" / "sub").mkdir(parents=True)
    (tmp_path / "proj" / "sub" / "a.txt").write_text("inside")
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "secret").write_text("CANARY")
    return tmp_path


def test_inside_accepts_files_and_links_that_stay_in(tree: Path) -> None:
    root = tree / "proj"
    (root / "link").symlink_to(root / "sub" / "a.txt")
    assert paths.inside(root / "sub" / "a.txt", root, what="file") == root / "sub" / "a.txt"
    assert paths.read_text_inside(root / "link", root, what="file") == "inside"


@pytest.mark.parametrize(
    "make",
    [
        lambda root, host: (root / "link").symlink_to(host / "secret"),
        lambda root, host: (root / "link").symlink_to("../host/secret"),
        lambda root, host: (root / "sub" / "link").symlink_to(host, target_is_directory=True),
    ],
)
def test_inside_refuses_links_out_naming_the_path_only(tree: Path, make: object) -> None:
    root, host = tree / "proj", tree / "host"
    make(root, host)  # type: ignore[operator]  # a lambda from the table
    link = root / "link" if (root / "link").exists() else root / "sub" / "link" / "secret"
    with pytest.raises(paths.OutsideError) as caught:
        paths.read_text_inside(link, root, what="lock")
    assert isinstance(caught.value, InputError)
    assert "lock resolves outside" in caught.value.message
    assert "CANARY" not in caught.value.message


def test_inside_refuses_dot_dot(tree: Path) -> None:
    root = tree / "proj"
    with pytest.raises(paths.OutsideError):
        paths.inside(root / "sub" / ".." / ".." / "host" / "secret", root, what="include")


def test_inside_accepts_any_of_several_roots(tree: Path) -> None:
    assert paths.is_inside(tree / "host" / "secret", tree / "proj", tree / "host")


@given(st.text())
def test_sanitized_never_holds_escape_or_control_characters(text: str) -> None:
    clean = paths.sanitized(text)
    assert not any(ord(c) < 32 and c not in "\t\n" for c in clean)
    assert not any(0x7F <= ord(c) <= 0x9F for c in clean)


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_sanitized_keeps_printable_text(text: str) -> None:
    assert paths.sanitized(text) == text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[31mred\x1b[0m", "red"),
        ("a\x1b]0;title\x07b", "ab"),
        ("x\x1b[2J\x1b[Hy", "xy"),
        ("tab\tkept", "tab\tkept"),
        ("cr\roverwrite", "croverwrite"),
    ],
)
def test_sanitized_table(raw: str, clean: str) -> None:
    assert paths.sanitized(raw) == clean


def test_excerpt_is_one_short_sanitized_line() -> None:
    assert paths.excerpt("a" * 100 + "\nsecond") == "a" * 59 + "…"
    assert paths.excerpt("\x1b[2Jshort\nnext") == "short"
    assert paths.excerpt("") == ""
