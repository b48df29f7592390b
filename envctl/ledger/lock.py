"""The registry lock: one writer of registry tags per clone at a time, so N never
repeats and every decision is taken on the ledger the new tag is written against.

The lock is an `flock` on a file in the common git directory (linked work trees
share the tags). The kernel releases it when its holder dies, however it dies,
so a lock left by a killed process is taken over at once. The file also says who
holds it (pid, host, since) so that a waiting process can say whom it waits for,
and a waiter gives up after a timeout instead of hanging forever.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from envctl.errors import LockTimeout
from envctl.progress import Progress, clean, silent
from envctl.vocabulary import LOCK_TIMEOUT_SECONDS

LOCK_FILE = "envctl-registry.lock"
DEFAULT_TIMEOUT = LOCK_TIMEOUT_SECONDS
_POLL = 0.05


@dataclass(frozen=True)
class Holder:
    pid: int | None
    host: str
    since: str

    def __str__(self) -> str:
        pid = self.pid if self.pid is not None else "?"
        return f"pid {pid} on {clean(self.host) or '?'} since {clean(self.since) or '?'}"


def lock_path(root: Path) -> Path:
    from envctl import vcs

    return vcs.common_dir(root) / LOCK_FILE


@contextmanager
def registry_lock(
    root: Path, *, timeout: float = DEFAULT_TIMEOUT, say: Progress = silent
) -> Iterator[None]:
    """Hold the registry lock of the clone at `root`; LockTimeout (exit 4, naming
    the holder) when another process keeps it longer than `timeout` seconds."""
    path = lock_path(root)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        _acquire(fd, path, timeout, say)
        try:
            _write_holder(fd)
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def read_holder(path: Path) -> Holder | None:
    """Who the lock file says holds the lock (None when it says nothing readable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    pid = data.get("pid")
    return Holder(
        pid if isinstance(pid, int) else None, str(data.get("host", "")), str(data.get("since", ""))
    )


def _acquire(fd: int, path: Path, timeout: float, say: Progress) -> None:
    deadline = time.monotonic() + max(timeout, 0.0)
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        holder = read_holder(path)
        if not told:
            say(f"waiting for the registry lock, held by {holder or 'another process'}")
            told = True
        if time.monotonic() >= deadline:
            raise LockTimeout(
                f"the registry lock {path} is held by {holder or 'another process'}; gave up "
                f"after {timeout:g}s (--lock-timeout). If that process is stuck, stop it and retry"
            )
        time.sleep(_POLL)


def _write_holder(fd: int) -> None:
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(holder).encode(), 0)
