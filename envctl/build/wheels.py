"""The host-side wheel cache: locked wheels downloaded once, hash-checked, reused.

Wheels are fetched on the host (where the index and its credentials are) with
`pip download` for the image's platform, checked against the lock's sha256
hashes here as well as by pip, and moved into
`$XDG_CACHE_HOME/envctl/wheels/sha256/<hex>/<file>` with one directory rename,
so an interrupted download never leaves a half-written entry behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from envctl import paths
from envctl.build.installer import WheelTarget, pip_argv
from envctl.build.lockfile import Lock, LockEntry, lock_target
from envctl.errors import ExternalError, InputError
from envctl.progress import Progress
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


def fetch(lock: Lock, *, root: Path | None = None, on_line: Progress | None = None) -> list[Wheel]:
    """One cached wheel per lock entry, downloading only what the cache lacks."""
    root = root or cache_dir()
    missing = [e for e in lock.entries if cached(e, root) is None]
    if missing:
        _download(missing, lock, root, on_line)
    wheels = []
    for entry in lock.entries:
        wheel = cached(entry, root)
        if wheel is None:  # pragma: no cover - _download raises first
            raise ExternalError(f"{entry.name}=={entry.version} is not in the wheel cache")
        wheels.append(wheel)
    return wheels


def _download(entries: list[LockEntry], lock: Lock, root: Path, on_line: Progress | None) -> None:
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
        _pip_download(requirements, work / "files", lock, on_line)
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


def _pip_download(requirements: Path, dest: Path, lock: Lock, on_line: Progress | None) -> None:
    cmd = pip_command(requirements, dest, lock)
    shown = _sanitizing(on_line or _ignore)
    proc = run_tool(cmd, on_line=shown, fix="check the Python envctl runs with")
    if not proc.ok:
        # pip echoes what it was given (names, versions, index answers): no byte
        # of it may drive the terminal.
        lines = [paths.sanitized(line).rstrip() for line in proc.stdout_text.splitlines()]
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
