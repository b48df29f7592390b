"""The full log of a build or a promotion, kept in a file so the screen shows
progress, not logs. `$XDG_CACHE_HOME/envctl/logs/`, the newest `KEEP` kept."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from envctl.progress import Progress, clean

KEEP = 50


def logs_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "envctl" / "logs"


class LogFile:
    """A Progress that writes every line (cleaned) to a new log file, and echoes
    it to `echo` (`--verbose`). The file is made on the first line."""

    def __init__(self, name: str, *, echo: Progress | None = None) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)[:80]
        self.path = logs_dir() / f"{stamp}-{os.getpid()}-{safe}.log"
        self.echo = echo
        self._file: IO[str] | None = None

    def __call__(self, line: str) -> None:
        text = clean(line)
        if self._file is None:
            self._file = self._open()
        if self._file is not None:
            self._file.write(text + "\n")
        if self.echo is not None:
            self.echo(text)

    def _open(self) -> IO[str] | None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _prune(self.path.parent)
            return self.path.open("w", encoding="utf-8")
        except OSError:  # a log is a convenience: never fail a build for it
            return None

    @property
    def written(self) -> str | None:
        """The log's path when something was written to it."""
        return str(self.path) if self._file is not None else None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> LogFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _prune(folder: Path) -> None:
    logs = sorted(folder.glob("*.log"))
    for old in logs[: max(0, len(logs) - KEEP + 1)]:
        old.unlink(missing_ok=True)
