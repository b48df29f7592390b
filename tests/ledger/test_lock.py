"""The registry lock of envctl/ledger/lock.py against real git."""

from __future__ import annotations

from pathlib import Path

import pytest

from envctl.ledger.lock import registry_lock
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


def test_publish_refuses_a_remote_tag_of_the_same_name_that_is_another_event(
    git_repo: Path,
) -> None:
    """A tag name the remote already holds with other content is someone else's
    event: never report it as pushed."""
    from envctl.errors import PushRejected
    from envctl.ledger.write import publish, read_ledger
    from envctl.progress import silent
    from envctl.registry.workspace import workspace

    (git_repo / "f").write_text("x\n")
    git(git_repo, "add", "f")
    git(git_repo, "commit", "-qm", "c")
    git(git_repo, "tag", "-a", "m@v1.0.0", "-m", "v1")
    git(git_repo, "tag", "-a", "m#dev#1", "-m", "ours")
    ws = workspace()
    with pytest.raises(PushRejected):
        publish(ws, read_ledger(ws), {"m#dev#1": "0" * 40}, "origin", "m#dev#1", silent)
