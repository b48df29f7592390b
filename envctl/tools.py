"""Running external programs (git, uv, pip): the one place envctl starts a subprocess.

The project envctl runs on is input from a stranger (a CI job checks out
whatever a tag points at), so nothing in it may become code on the host: a
program runs in a fresh, empty working directory unless the caller names one
(git needs the repository), without the PYTHON* variables that point an
interpreter at other code, and a Python interpreter always runs isolated
(`-I`: neither the working directory nor the user's site-packages on
`sys.path`), so a committed `pip/__main__.py` or `sitecustomize.py` is inert.

Output is captured. A program that cannot be started, or that outlives its
timeout, becomes a ToolError naming the program and what to do; a non-zero exit
is not an error here, because only the caller knows what the program's exit
means. An interrupt kills the child and waits for it, so Ctrl-C never leaves a
half-run program behind.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
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

    `env` is set on top of this process's environment (PYTHON* variables and
    those named in `unset` removed). Without `cwd` the program runs in an empty
    temporary folder. With `on_line`, stderr is merged into stdout and every line
    is passed on as it arrives. `fix` is what the one-line error tells the user
    to do when the program cannot run.
    """
    if cwd is None:
        with tempfile.TemporaryDirectory(prefix="envctl-run-") as neutral:
            return _run(isolated(argv), Path(neutral), env, timeout, input, on_line, fix, unset)
    return _run(isolated(argv), cwd, env, timeout, input, on_line, fix, unset)


_PYTHON = re.compile(r"^python[0-9.]*$")


def is_python(program: str) -> bool:
    """Whether `program` is a Python interpreter: envctl's own, or one named python*."""
    return program == sys.executable or _PYTHON.match(Path(program).name) is not None


def isolated(argv: Sequence[str]) -> list[str]:
    """`argv` with `-I` after a Python interpreter: no working directory, script
    folder, PYTHON* variable or user site-packages on its import path."""
    args = list(argv)
    if args and is_python(args[0]) and "-I" not in args[1:2]:
        args.insert(1, "-I")
    return args


def clean_environment(
    extra: Mapping[str, str] | None = None, unset: Collection[str] = ()
) -> dict[str, str]:
    """This process's environment without PYTHON* variables (PYTHONPATH,
    PYTHONSTARTUP, PYTHONHOME...) and those named in `unset`, plus `extra`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k not in unset}
    return {**base, **(extra or {})}


def _run(
    argv: list[str],
    cwd: Path,
    env: Mapping[str, str] | None,
    timeout: float | None,
    input: bytes | None,
    on_line: Progress | None,
    fix: str,
    unset: Collection[str],
) -> Completed:
    name = Path(argv[0]).name
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=clean_environment(env, unset),
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
