"""The registry lock of envctl/promotion/lock.py against real git."""

from __future__ import annotations

from pathlib import Path

from envctl.promotion.lock import registry_lock
from tests.conftest import git

LOCK = "envctl-registry.lock"


def test_registry_lock_of_a_clone_is_in_its_git_dir(git_repo: Path) -> None:
    with registry_lock(git_repo):
        assert (git_repo / ".git" / LOCK).is_file()
    assert git(git_repo, "status", "--porcelain") == ""


def test_registry_lock_of_a_linked_worktree_is_in_the_common_git_dir(
    git_repo: Path, tmp_path: Path
) -> None:
    git(git_repo, "commit", "-q", "--allow-empty", "-m", "c")
    linked = tmp_path / "linked"
    git(git_repo, "worktree", "add", "-q", str(linked))
    assert (linked / ".git").is_file()

    with registry_lock(linked):
        assert (git_repo / ".git" / LOCK).is_file()

    assert sorted(p.name for p in linked.iterdir()) == [".git"]
    assert git(linked, "status", "--porcelain", "--ignored") == ""
