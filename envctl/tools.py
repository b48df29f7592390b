"""Running external programs (git, uv, pip): the one place envctl starts a subprocess.

Output is captured. A program that cannot be started, or that outlives its
timeout, becomes a ToolError naming the program and what to do; a non-zero exit
is not an error here, because only the caller knows what the program's exit
means. An interrupt kills the child and waits for it, so Ctrl-C never leaves a
half-run program behind.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from envctl.errors import ToolError
from envctl.progress import Progress


@dataclass(frozen=True)
class Completed:
    """A finished program: its exit code and everything it wrote."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes  # empty when stderr was merged into stdout (`on_line`)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def stdout_text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")


def run_tool(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    input: bytes | None = None,
    on_line: Progress | None = None,
    fix: str = "check that it is installed and on PATH",
    unset: Collection[str] = (),
) -> Completed:
    """Run `argv` to completion and capture its output.

    `env` is set on top of this process's environment, without the variables
    named in `unset`. With `on_line`, stderr is
    merged into stdout and every line is passed on as it arrives. `fix` is what
    the one-line error tells the user to do when the program cannot run.
    """
    name = Path(argv[0]).name
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=_environment(env, unset),
            stdin=subprocess.PIPE if input is not None else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if on_line is not None else subprocess.PIPE,
        )
    except FileNotFoundError:
        raise ToolError(f"{name} is not installed or not on PATH; {fix}") from None
    except OSError as exc:
        raise ToolError(f"cannot run {name}: {exc.strerror or exc}; {fix}") from None
    with proc:  # closes the pipes and reaps the child on every way out
        try:
            if on_line is None:
                stdout, stderr = proc.communicate(input, timeout=timeout)
            else:
                stdout, stderr = _stream(proc, on_line, timeout), b""
        except subprocess.TimeoutExpired:
            _stop(proc)
            raise ToolError(
                f"{name} did not finish within {timeout:g}s and was stopped; "
                "retry, or look at what it was waiting for"
            ) from None
        except BaseException:  # KeyboardInterrupt above all: never leave the child running
            _stop(proc)
            raise
    return Completed(tuple(argv), proc.returncode, stdout, stderr)


def _stream(proc: subprocess.Popen[bytes], on_line: Progress, timeout: float | None) -> bytes:
    # Reading lines blocks, so a timer enforces the timeout by killing the child,
    # which ends the output; lines are passed on from this (the caller's) thread.
    expired = threading.Event()
    timer = threading.Timer(timeout, _expire, (proc, expired)) if timeout is not None else None
    if timer is not None:
        timer.start()
    try:
        assert proc.stdout is not None  # opened with stdout=PIPE
        chunks: list[bytes] = []
        for raw in proc.stdout:
            chunks.append(raw)
            on_line(raw.decode("utf-8", "replace").rstrip("\r\n"))
        proc.wait()
    finally:
        if timer is not None:
            timer.cancel()
    if expired.is_set():
        raise subprocess.TimeoutExpired(proc.args, timeout or 0.0)
    return b"".join(chunks)


def _expire(proc: subprocess.Popen[bytes], expired: threading.Event) -> None:
    expired.set()
    proc.kill()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait()


def _environment(env: Mapping[str, str] | None, unset: Collection[str]) -> dict[str, str] | None:
    if env is None and not unset:
        return None  # inherit as is
    kept = {k: v for k, v in os.environ.items() if k not in unset}
    return {**kept, **(env or {})}
