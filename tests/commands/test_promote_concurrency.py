"""Two promotions at once: on one clone (the registry lock) and on two machines
sharing a bare remote (a rejected push is fetched, re-checked and retried)."""

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


@pytest.mark.docker
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_stale_clone_decides_the_baseline_on_the_fetched_ledger(
    git_repo: Path, base_image: str, tmp_path: Path, as_json: bool
) -> None:
    write_minimal_project(git_repo, base_image, stages=("dev", "staging"))
    spec = git_repo / "environments" / "staging.yaml"
    spec.write_text(
        spec.read_text().replace(
            "gates: []",
            "gates:\n  - metrics: {file: metrics.json, require: {accuracy: '>= 0.5'}, "
            "baseline: no_worse}",
        )
    )
    for version, accuracy in (("v2.0.0", 0.95), ("v3.0.0", 0.92)):
        (git_repo / "model" / "metrics.json").write_text(f'{{"accuracy": {accuracy}}}\n')
        git(git_repo, "add", "-A")
        git(git_repo, "commit", "-qm", version)
        git(git_repo, "tag", "-a", f"tiny@{version}", "-m", version)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(git_repo, "remote", "add", "origin", str(remote))
    for version in ("v2.0.0", "v3.0.0"):
        code, _, err = finish(envctl(git_repo, "promote", f"tiny@{version}", "--to", "dev"))
        assert code == 0, err
    git(git_repo, "push", "-q", "origin", "main", "--tags")
    other = tmp_path / "other-machine"
    subprocess.run(["git", "clone", "-q", "-b", "main", str(remote), str(other)], check=True)
    # Here v2.0.0 (accuracy 0.95) enters staging and is pushed...
    code, _, err = finish(envctl(git_repo, "promote", "tiny@v2.0.0", "--to", "staging", "--push"))
    assert code == 0, err
    # ...and the other machine, which has not fetched, would see an empty staging
    # (no baseline, so v3.0.0 at 0.92 would pass): with --push it fetches first.
    # (The race, where the remote changes during the gates and the push is
    # rejected: tests/commands/test_promote_ledger.py, with faked gates.)
    fmt = ("--format", "json") if as_json else ()
    code, out, err = finish(
        envctl(other, "promote", "tiny@v3.0.0", "--to", "staging", "--push", *fmt)
    )
    assert code == 1, err
    if as_json:
        # The outcome as it stood after the re-check: the new baseline and its verdict.
        data = json.loads(out)
        assert (data["status"], data["replaces"], data["tag"]) == ("blocked", "v2.0.0", None)
        metrics = data["gates"][0]["evidence"]
        assert metrics["baseline_version"] == "v2.0.0"
        assert metrics["metrics"][0]["baseline"] == 0.95
    else:
        assert "origin has registry tags this clone has not seen; fetching them first" in err
    assert err.strip().splitlines()[-1] == (
        "error: gate metrics failed for tiny@v3.0.0 -> staging: accuracy 0.92 is worse "
        "than 0.95 (v2.0.0, now in the stage)"
    )
    assert git(other, "tag", "-l", "tiny#staging*") == "tiny#staging#3"
    assert "tiny#staging#4" not in git(git_repo, "ls-remote", "--tags", "origin")
