"""Two promotions at once, with real image builds and gates: on one clone (the
registry lock) and on two machines sharing a bare remote (a clone that has not
fetched fetches first and takes the next N). The ledger's rules under races and
stale clones, where the gates are not the point, run on faked gates in
tests/commands/test_promote_ledger.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.commands.test_promote import write_minimal_project
from tests.conftest import git


def envctl(cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "envctl", *args],
        cwd=cwd,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out, err


def assignment_tags(repo: Path) -> dict[str, str]:
    """tag -> version recorded in it, for every tiny#... tag."""
    out = git(
        repo, "for-each-ref", "--format=%(refname:short) %(contents:subject)", "refs/tags/tiny#*"
    )
    return {line.split()[0]: line.split()[3] for line in out.splitlines()}


@pytest.fixture
def two_versions(git_repo: Path, base_image: str) -> Path:
    write_minimal_project(git_repo, base_image, stages=("dev", "staging"))
    git(git_repo, "tag", "-a", "tiny@v1.0.0", "-m", "v1.0.0")
    git(git_repo, "commit", "-q", "--allow-empty", "-m", "second version")
    git(git_repo, "tag", "-a", "tiny@v1.1.0", "-m", "v1.1.0")
    return git_repo


@pytest.mark.docker
def test_parallel_promotions_on_one_clone_take_distinct_numbers(two_versions: Path) -> None:
    first = envctl(two_versions, "promote", "tiny@v1.0.0", "--to", "dev")
    second = envctl(two_versions, "promote", "tiny@v1.1.0", "--to", "dev")
    results = [finish(first), finish(second)]
    assert [code for code, _, _ in results] == [0, 0], [err for _, _, err in results]
    tags = assignment_tags(two_versions)
    assert sorted(tags) == ["tiny#dev#1", "tiny#dev#2"]
    assert sorted(tags.values()) == ["tiny@v1.0.0", "tiny@v1.1.0"]


@pytest.mark.docker
def test_rejected_push_is_fetched_rechecked_and_retried(two_versions: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(two_versions, "remote", "add", "origin", str(remote))
    git(two_versions, "push", "-q", "origin", "main", "--tags")
    other = tmp_path / "other-machine"
    subprocess.run(["git", "clone", "-q", "-b", "main", str(remote), str(other)], check=True)
    for key, value in (("user.name", "Bob"), ("user.email", "bob@example.com")):
        git(other, "config", key, value)
    # The environments' locks are committed, so the other clone can build too.
    a = finish(envctl(two_versions, "promote", "tiny@v1.0.0", "--to", "dev", "--push"))
    assert a[0] == 0, a[2]
    # The other machine has not fetched: it sees the remote has more, fetches, takes N=2.
    b = finish(envctl(other, "promote", "tiny@v1.1.0", "--to", "dev", "--push"))
    assert b[0] == 0, b[2]
    assert "origin has registry tags this clone has not seen; fetching them first" in b[2]
    assert b[1].strip().endswith("promoted tiny@v1.1.0 to dev: tiny#dev#2 (pushed)")
    remote_tags = git(two_versions, "ls-remote", "--tags", "origin")
    assert "refs/tags/tiny#dev#1" in remote_tags
    assert "refs/tags/tiny#dev#2" in remote_tags
    git(two_versions, "fetch", "-q", "origin", "refs/tags/*:refs/tags/*")
    assert assignment_tags(two_versions) == {
        "tiny#dev#1": "tiny@v1.0.0",
        "tiny#dev#2": "tiny@v1.1.0",
    }
    status = json.loads(
        subprocess.run(
            [sys.executable, "-m", "envctl", "status", "--format", "json"],
            cwd=two_versions,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert status["models"][0]["stages"]["dev"]["version"] == "v1.1.0"
