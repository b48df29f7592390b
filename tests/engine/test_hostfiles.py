"""Reading a file on the engine's host (here the engine runs on this machine, so
its host is ours): exactly the bytes, and nothing made where nothing was."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from envctl import engine


def _no_container_left() -> None:
    assert engine.owned_containers({engine.PID_LABEL: str(os.getpid())}) == []


@pytest.mark.docker
def test_read_host_file_returns_the_file_s_bytes(base_image: str, tmp_path: Path) -> None:
    data = tmp_path / "holdout.csv"
    data.write_bytes(b"x,label\n1,1\n\xff not utf-8\n")

    assert engine.read_host_file(base_image, str(data)) == data.read_bytes()
    _no_container_left()


@pytest.mark.docker
def test_a_missing_host_file_is_none_and_nothing_is_made_there(
    base_image: str, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "holdout.csv"

    assert engine.read_host_file(base_image, str(missing)) is None
    assert not missing.parent.exists()  # a volume bind would have made it a folder
    _no_container_left()


@pytest.mark.docker
def test_a_host_folder_is_not_a_file(base_image: str, tmp_path: Path) -> None:
    (tmp_path / "inside.csv").write_text("x,label\n")

    assert engine.read_host_file(base_image, str(tmp_path)) is None
    _no_container_left()
