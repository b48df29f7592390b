"""Running things in containers: a command to completion (`run`), a long-running
server (`service`), a command inside a running one (`exec_in`), and a file out
of an image (`copy_from_image`). Every container is owned and removed by
`lifecycle`; networking is off unless asked for."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from envctl.engine.connection import client, decode, engine_errors
from envctl.engine.lifecycle import (
    OOM_SETTLE,
    REMOVE_TIMEOUT,
    ContainerOptions,
    Service,
    create,
    id_of,
    kill,
    kill_quietly,
    logs,
    oom_killed,
    owned_container,
    remove_quietly,
    start,
    unique_name,
    wait,
)
from envctl.errors import EngineError

if TYPE_CHECKING:
    from typing_extensions import Unpack

KILLED_EXIT_CODE = 137  # 128 + SIGKILL, what a shell reports for a killed process


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool = False
    oom_killed: bool = False  # the kernel killed a process for going over the memory limit

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


def run(
    image: str,
    command: Sequence[str],
    *,
    timeout: float,
    **options: Unpack[ContainerOptions],
) -> RunResult:
    """Run `command` in a fresh container of `image` (networking off by default) and
    return its exit code and output. The container is killed after `timeout`
    seconds and removed however this call ends."""
    name = unique_name("run")
    with owned_container(name):
        container = create(name, image, command, options)
        start(container, gpus=options.get("gpus", 0))
        exit_code = wait(container, timeout)
        if exit_code is None:
            kill(container)
        stdout, stderr = logs(container)
        if exit_code is None:
            final = wait(container, REMOVE_TIMEOUT)
            exit_code = final if final is not None else KILLED_EXIT_CODE
            return RunResult(exit_code, stdout, stderr, True, oom_killed(container))
        # Only a SIGKILLed main process waits for a trailing OOM flag; pytest may
        # survive a killed child, which the flag shows as soon as the exit is recorded.
        settle = OOM_SETTLE if exit_code == KILLED_EXIT_CODE else 0.0
        return RunResult(exit_code, stdout, stderr, False, oom_killed(container, settle=settle))


def start_service(
    image: str, command: Sequence[str], **options: Unpack[ContainerOptions]
) -> Service:
    """Start a long-running container. The caller must `remove_container` it; prefer
    the `service` context manager, which guarantees that."""
    return _start_service(unique_name("service"), image, command, options)


@contextmanager
def service(
    image: str, command: Sequence[str], **options: Unpack[ContainerOptions]
) -> Iterator[Service]:
    """A long-running container for the duration of the block, then removed."""
    name = unique_name("service")
    with owned_container(name):
        yield _start_service(name, image, command, options)


def _start_service(
    name: str, image: str, command: Sequence[str], options: ContainerOptions
) -> Service:
    try:
        container = create(name, image, command, options)
        start(container, gpus=options.get("gpus", 0))
    except BaseException:
        remove_quietly(name)
        raise
    return Service(id=str(container.id), name=name, image=image)


def host_cpus() -> int:
    """The CPUs of the engine's host: the most a container's quota can be."""
    with engine_errors("reading the engine's info"):
        return int(client().info()["NCPU"])


def stats_stream(container: Service | str) -> Iterator[dict[str, Any]]:
    """The engine's usage samples of a running container (about one a second), as
    `docker stats` reads them; ends when the container stops or is removed."""
    with engine_errors("reading container stats"):
        stream = client().api.stats(id_of(container), decode=True, stream=True)
    while True:
        with engine_errors("reading container stats"):
            sample = next(stream, None)
        if not isinstance(sample, dict):
            return
        yield sample


def is_running(container: Service | str) -> bool:
    import docker.errors

    with engine_errors("inspecting a container"):
        try:
            state = client().api.inspect_container(id_of(container))["State"]
        except docker.errors.NotFound:
            return False
    return bool(state.get("Running"))


def container_logs(container: Service | str, *, tail: int | None = None) -> str:
    """stdout and stderr interleaved, e.g. to show why a server died."""
    with engine_errors("reading container logs"):
        raw = client().api.logs(id_of(container), tail=tail if tail is not None else "all")
    return decode(raw)


def copy_from_image(image: str, path: str) -> bytes:
    """`path` from `image` as a tar archive, without running anything in it."""
    import docker.errors

    name = unique_name("copy")
    with owned_container(name):
        container = create(name, image, ["true"], {})
        with engine_errors(f"copying {path} from {image}"):
            try:
                chunks, _stat = container.get_archive(path)
                return b"".join(chunks)
            except docker.errors.NotFound:
                raise EngineError(f"{path} does not exist in image {image}") from None


# --- exec -----------------------------------------------------------------------------


def exec_in(
    container: Service | str,
    argv: Sequence[str],
    *,
    timeout: float,
    environment: Mapping[str, str] | None = None,
    workdir: str | None = None,
    user: str | None = None,
) -> RunResult:
    """Run `argv` inside a running container (in its network namespace).

    The engine has no way to kill one exec, so an exec that outlives `timeout`
    kills the whole container: a hung probe means the check failed anyway."""
    container_id = id_of(container)
    with engine_errors(f"exec in container {container_id[:12]}"):
        exec_id = client().api.exec_create(
            container_id,
            list(argv),
            environment=dict(environment or {}),
            workdir=workdir,
            user=user or "",
        )["Id"]
    outcome = _exec_with_deadline(exec_id, timeout)
    if outcome is None:
        kill_quietly(container_id)
        return RunResult(KILLED_EXIT_CODE, "", "", True)
    stdout, stderr = outcome
    return RunResult(_exec_exit_code(exec_id), decode(stdout), decode(stderr), False)


def _exec_with_deadline(exec_id: str, timeout: float) -> tuple[bytes, bytes] | None:
    """(stdout, stderr) of a started exec, or None if it ran past `timeout`.

    exec_start blocks in poll() with no timeout of its own, so it runs in a
    daemon thread and the deadline is kept here."""
    result: dict[str, Any] = {}

    def attach() -> None:
        try:
            result["output"] = client().api.exec_start(exec_id, demux=True)
        except Exception as exc:  # handed to the calling thread, translated there
            result["error"] = exc

    worker = threading.Thread(target=attach, name=f"envctl-exec-{exec_id[:12]}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return None
    if "error" in result:
        with engine_errors("exec in a container"):
            raise result["error"]
    stdout, stderr = result["output"]
    return stdout or b"", stderr or b""


def _exec_exit_code(exec_id: str) -> int:
    # The output stream can close a moment before the engine records the exit
    # code; until then ExitCode is null.
    with engine_errors("inspecting an exec"):
        for _ in range(50):
            exit_code = client().api.exec_inspect(exec_id)["ExitCode"]
            if exit_code is not None:
                return int(exit_code)
            time.sleep(0.1)
    raise EngineError(f"the engine never reported the exit code of exec {exec_id[:12]}")
