"""The host-side wheel cache: locked wheels downloaded once, hash-checked, reused.

Wheels are fetched on the host (where the index and its credentials are) with
`pip download` for the image's platform, from the index each entry was locked
from (a spec's `indexes:`; credentials from UV_INDEX_<NAME>_* handed to pip in
its environment, never on a command line, and redacted from every line logged),
checked against the lock's sha256 hashes here as well as by pip, and moved into
`$XDG_CACHE_HOME/envctl/wheels/sha256/<hex>/<file>` with one directory rename,
so an interrupted download never leaves a half-written entry behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from envctl import paths
from envctl.build.installer import WheelTarget, pip_argv
from envctl.build.lockfile import Lock, LockEntry, lock_target
from envctl.errors import ExternalError, InputError
from envctl.progress import Progress
from envctl.spec import indexes as index_rules
from envctl.spec.types import PackageIndex
from envctl.tools import run_tool


@dataclass(frozen=True)
class Wheel:
    entry: LockEntry
    path: Path  # inside the cache
    sha256: str


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "envctl" / "wheels"


def cached(entry: LockEntry, root: Path) -> Wheel | None:
    for digest in entry.hashes:
        folder = root / "sha256" / digest
        files = sorted(folder.glob("*.whl")) if folder.is_dir() else []
        if files:
            return Wheel(entry, files[0], digest)
    return None


def fetch(
    lock: Lock,
    *,
    root: Path | None = None,
    on_line: Progress | None = None,
    indexes: Sequence[PackageIndex] = (),
) -> list[Wheel]:
    """One cached wheel per lock entry, downloading only what the cache lacks,
    each from the index the lock says it came from (`indexes`: the spec's)."""
    root = root or cache_dir()
    missing = [e for e in lock.entries if cached(e, root) is None]
    for url, group in _by_index(missing).items():
        _download(group, lock, root, on_line, _index_environment(url, indexes))
    wheels = []
    for entry in lock.entries:
        wheel = cached(entry, root)
        if wheel is None:  # pragma: no cover - _download raises first
            raise ExternalError(f"{entry.name}=={entry.version} is not in the wheel cache")
        wheels.append(wheel)
    return wheels


def _by_index(entries: list[LockEntry]) -> dict[str | None, list[LockEntry]]:
    groups: dict[str | None, list[LockEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.index, []).append(entry)
    return groups


def _index_environment(url: str | None, indexes: Sequence[PackageIndex]) -> dict[str, str]:
    """pip's environment for one index: PIP_INDEX_URL (credentials included,
    from the environment) so that no other index is asked for these files."""
    if url is None:
        return {}  # a lock without index annotations: pip's own configuration
    named = next((i for i in indexes if index_rules.same_url(i.url, url)), None)
    found = index_rules.credentials(named.name) if named is not None else None
    return {"PIP_INDEX_URL": index_rules.with_credentials(url, found)}


def _download(
    entries: list[LockEntry],
    lock: Lock,
    root: Path,
    on_line: Progress | None,
    env: dict[str, str],
) -> None:
    for entry in entries:
        if not entry.hashes:
            raise InputError(
                f"{lock.path.name}: {entry.name} has no --hash; re-create the lock with envctl lock"
            )
    root.mkdir(parents=True, exist_ok=True)
    # The temp folder lives in the cache's file system so the final move is a rename.
    with tempfile.TemporaryDirectory(prefix=".download-", dir=root) as tmp:
        work = Path(tmp)
        requirements = work / "requirements.txt"
        requirements.write_text(_requirements(entries), encoding="utf-8")
        _pip_download(requirements, work / "files", lock, on_line, env)
        for path in sorted((work / "files").glob("*.whl")):
            _admit(path, entries, root)


def _requirements(entries: list[LockEntry]) -> str:
    return "".join(
        f"{e.name}=={e.version} " + " ".join(f"--hash=sha256:{h}" for h in e.hashes) + "\n"
        for e in entries
    )


def pip_command(requirements: Path, dest: Path, lock: Lock) -> list[str]:
    if not lock.python or not lock.platform:
        raise InputError(
            f"{lock.path.name} has no python/platform header; re-create it with envctl lock"
        )
    target = WheelTarget(lock.python, lock_target(lock.platform))
    return pip_argv(
        sys.executable, requirements=str(requirements), wheels=str(dest), download_for=target
    )


def _pip_download(
    requirements: Path, dest: Path, lock: Lock, on_line: Progress | None, env: dict[str, str]
) -> None:
    cmd = pip_command(requirements, dest, lock)
    shown = _sanitizing(on_line or _ignore)

    def redacted(line: str) -> None:
        shown(index_rules.redact(line))

    proc = run_tool(cmd, env=env, on_line=redacted, fix="check the Python envctl runs with")
    if not proc.ok:
        # pip echoes what it was given (names, versions, index answers): no byte
        # of it may drive the terminal, and no credential may show.
        text = index_rules.redact(proc.stdout_text)
        lines = [paths.sanitized(line).rstrip() for line in text.splitlines()]
        last = next((ln for ln in reversed(lines) if ln.strip()), "no output")
        raise ExternalError(
            f"downloading wheels for {lock.platform} failed: {last}", details=lines[-20:]
        )


def _ignore(line: str) -> None:
    pass


def _sanitizing(on_line: Progress) -> Progress:
    def passed_on(line: str) -> None:
        on_line(paths.sanitized(line))

    return passed_on


def _admit(path: Path, entries: list[LockEntry], root: Path) -> None:
    digest = sha256_file(path)
    if not any(digest in e.hashes for e in entries):
        raise ExternalError(
            f"{path.name} has sha256 {digest}, which the lock does not list; "
            "the index served another file: re-lock or check the index"
        )
    final = root / "sha256" / digest
    if final.exists():
        return
    staged = Path(tempfile.mkdtemp(prefix=".entry-", dir=root))
    shutil.move(str(path), staged / path.name)
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        staged.rename(final)
    except OSError:  # another envctl admitted the same file first
        shutil.rmtree(staged, ignore_errors=True)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
