"""envctl.build.logfile: the full log in a file, made lazily, cleaned, pruned."""

from __future__ import annotations

from pathlib import Path

import pytest

from envctl.build import logfile
from envctl.build.logfile import LogFile


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))


def test_log_is_made_on_the_first_line_and_echoes(tmp_path: Path) -> None:
    echoed: list[str] = []
    with LogFile("build-prod/x", echo=echoed.append) as log:
        assert log.written is None
        log("Step 1/2 : FROM base")
        log("\x1b[91mE: apt\x1b[0m")
    assert log.written is not None
    path = Path(log.written)
    assert path.parent == tmp_path / "envctl" / "logs"
    assert path.name.endswith("-build-prod-x.log")
    assert path.read_text() == "Step 1/2 : FROM base\nE: apt\n"
    assert echoed == ["Step 1/2 : FROM base", "E: apt"]


def test_nothing_written_leaves_no_file(tmp_path: Path) -> None:
    with LogFile("build-dev") as log:
        pass
    assert log.written is None
    assert not (tmp_path / "envctl" / "logs").exists()


def test_old_logs_are_pruned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "envctl" / "logs"
    folder.mkdir(parents=True)
    for i in range(logfile.KEEP + 5):
        (folder / f"2020{i:04d}-old.log").write_text("x")
    with LogFile("build-new") as log:
        log("line")
    logs = sorted(folder.glob("*.log"))
    assert len(logs) == logfile.KEEP
    assert (folder / "20200000-old.log") not in logs
