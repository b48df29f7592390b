"""Git adapter. The only module that imports GitPython (lazily: it is slow to import).

Library exceptions are translated here into GitError / InputError, message first.
"""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envctl.errors import GitError, InputError

if TYPE_CHECKING:
    from git import Repo


def _git() -> Any:
    try:
        import git
    except ImportError as exc:  # pragma: no cover - GitPython needs the git binary
        raise GitError(f"git is not usable: {exc}; install git") from None
    return git


@cache
def repo(path: Path) -> Repo:
    """The repository containing `path`."""
    git = _git()
    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise InputError(f"{path} is not inside a git repository; run git init") from None


def toplevel(path: Path) -> Path:
    return Path(repo(path).working_tree_dir or path)


def run(root: Path, *args: str, check: bool = True, input: str | None = None) -> str:
    """Run one git command in `root` and return stdout. Used for plumbing calls
    where GitPython adds nothing (for-each-ref in one pass, show REV:path)."""
    proc = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, input=input, check=False
    )
    if check and proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise GitError(f"git {' '.join(args[:2])} failed: {detail}")
    return proc.stdout


def resolve_commit(root: Path, rev: str) -> str:
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        cwd=root, capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise InputError(f"git revision {rev!r} not found in {root}; check `git log`")
    return proc.stdout.strip()


def read_at(root: Path, rev: str, relpath: str) -> bytes | None:
    """Contents of `relpath` at commit `rev`, or None if the file did not exist there."""
    commit = resolve_commit(root, rev)
    proc = subprocess.run(
        ["git", "cat-file", "blob", f"{commit}:{relpath}"],
        cwd=root, capture_output=True, check=False,
    )
    return proc.stdout if proc.returncode == 0 else None


def file_commits(root: Path, relpath: str, rev: str = "HEAD") -> list[str]:
    """Commits that changed `relpath`, newest first (following renames is not needed:
    environment files are addressed by name)."""
    out = run(root, "log", "--format=%H", rev, "--", relpath, check=False)
    return out.split()


def is_repo(path: Path) -> bool:
    proc = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"], cwd=path, capture_output=True, check=False
    )
    return proc.returncode == 0
