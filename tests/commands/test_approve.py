"""approve: recorded where GTO never reads it, and never by the version's author."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git
from tests.harness import Invoke


@pytest.fixture
def registered(git_repo: Path, invoke: Invoke) -> Path:
    (git_repo / "envctl.yaml").write_text("stages: [dev, prod]\nmodels:\n  m:\n    path: model\n")
    (git_repo / "model").mkdir()
    (git_repo / "model" / "app.py").write_text("print('m')\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "model")
    assert invoke("register", "m", "v1.0.0").code == 0
    return git_repo


def approval_tags(repo: Path) -> list[str]:
    return git(repo, "tag", "-l", "envctl/approval/*").splitlines()


def test_the_author_cannot_approve_their_own_version(registered: Path, invoke: Invoke) -> None:
    result = invoke("approve", "m@v1.0.0", "--for", "prod")
    assert result.code == 1
    assert result.err == (
        "error: ada@example.com registered m@v1.0.0 and cannot approve it: an approval "
        "must come from another person (the author's and the promoter's own approvals "
        "never count)\n"
    )
    assert approval_tags(registered) == []


def test_another_person_approves(
    registered: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "Bob@Example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Bob")
    result = invoke("approve", "m@v1.0.0", "--for", "prod")
    assert result.code == 0, result.err
    (tag,) = approval_tags(registered)
    assert tag.startswith("envctl/approval/m/v1.0.0/prod/")


def test_a_pushed_approval_takes_its_local_only_version_along(
    registered: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(registered, "remote", "add", "origin", str(remote))
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "bob@example.com")
    result = invoke("approve", "m@v1.0.0", "--for", "prod", "--push")
    assert result.code == 0, result.err
    (tag,) = approval_tags(registered)
    pushed = git(registered, "ls-remote", "--tags", "origin").splitlines()
    assert sorted(line.split("\t")[1] for line in pushed if "^{}" not in line) == [
        f"refs/tags/{tag}",
        "refs/tags/m@v1.0.0",
    ]
