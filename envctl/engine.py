"""Docker Engine adapter. The only module that imports the Docker SDK, and only
inside functions: `envctl diff` never needs an engine and must start fast.

Every library failure is translated here into EngineError (exit 4), message
first. Every container envctl creates carries OWNER_LABEL so strays can be found,
and is removed however the call ends (errors, timeouts, Ctrl-C included).
"""

from __future__ import annotations

import io
import os
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, TypedDict

from envctl.errors import EngineError

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container
    from typing_extensions import Unpack

DEFAULT_HOST = "unix:///var/run/docker.sock"
OWNER_LABEL = "dev.envctl.owner"
OWNER = "envctl"
LOG_TAIL_LINES = 20
KILLED_EXIT_CODE = 137  # 128 + SIGKILL, what a shell reports for a killed process
_REMOVE_TIMEOUT = 10  # seconds

LineSink = Callable[[str], None]


class BaseImageNotFoundError(EngineError):
    """A base image is neither in the engine nor pullable from where the engine is."""


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass(frozen=True)
class BuildResult:
    image_id: str
    tag: str
    steps: int
    cached_steps: int  # steps the engine reused from its layer cache
    log_tail: tuple[str, ...]


@dataclass(frozen=True)
class Service:
    """A long-running container (e.g. a model server), addressed by id."""

    id: str
    name: str
    image: str


@dataclass(frozen=True)
class Bind:
    """A host path mounted into a container. Only works when the engine runs on
    this machine; `archives` copies files in and works with any engine."""

    host_path: str
    container_path: str
    read_only: bool = True


class ContainerOptions(TypedDict, total=False):
    environment: Mapping[str, str]
    workdir: str
    user: str
    binds: Sequence[Bind]
    archives: Mapping[str, bytes]  # container directory -> tar bytes extracted there
    labels: Mapping[str, str]
    entrypoint: Sequence[str]
    mem_limit: str
    network_disabled: bool  # default True: network_mode "none", loopback only


# --- the client and error translation -------------------------------------------------


def engine_host() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_HOST


@cache
def client() -> DockerClient:
    """The engine client configured from the environment (DOCKER_HOST, DOCKER_TLS_VERIFY,
    DOCKER_CERT_PATH), pinged once. Cached: call `client.cache_clear()` after
    changing the environment."""
    import docker

    try:
        engine = docker.from_env()
        engine.ping()
    except Exception as exc:  # from_env wraps every transport failure differently
        raise unreachable_error(exc) from None
    return engine


def unreachable_error(exc: BaseException) -> EngineError:
    """One line saying why the engine cannot be used and what to do about it."""
    host = engine_host()
    causes = list(_causes(exc))
    if _has(causes, FileNotFoundError):
        return EngineError(f"no Docker Engine at {host}: start dockerd or set DOCKER_HOST")
    if _has(causes, PermissionError):
        return EngineError(
            f"permission denied on the Docker Engine at {host}: "
            "add yourself to the docker group or use sudo"
        )
    if _has(causes, ConnectionRefusedError):
        return EngineError(
            f"the Docker Engine at {host} refused the connection: start dockerd or set DOCKER_HOST"
        )
    if _is_timeout(exc):
        return EngineError(
            f"the Docker Engine at {host} did not answer in time: "
            "check that dockerd is healthy (its log) or set DOCKER_HOST"
        )
    return EngineError(f"cannot use the Docker Engine at {host}: {_first_line(exc)}")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps: requests/urllib3 hide the OSError that
    says what went wrong in __context__ or in args."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack += [current.__cause__, current.__context__]
        stack += [arg for arg in current.args if isinstance(arg, BaseException)]


def _has(
    causes: Iterable[BaseException], kind: type[BaseException] | tuple[type[BaseException], ...]
) -> bool:
    return any(isinstance(cause, kind) for cause in causes)


def _is_timeout(exc: BaseException) -> bool:
    import requests.exceptions

    return _has(_causes(exc), (TimeoutError, requests.exceptions.Timeout))


def _first_line(value: object) -> str:
    text = str(value).strip()
    return text.splitlines()[0] if text else type(value).__name__


def _api_reason(exc: Any) -> str:  # Any: docker.errors.APIError, imported lazily
    return _first_line(exc.explanation or exc)


@contextmanager
def _engine_errors(action: str) -> Iterator[None]:
    """Translate SDK failures inside the block into one-line EngineErrors."""
    import docker.errors
    import requests.exceptions

    try:
        yield
    except docker.errors.APIError as exc:
        raise EngineError(f"{action} failed: {_api_reason(exc)}") from None
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise unreachable_error(exc) from None


# --- images ---------------------------------------------------------------------------


def image_exists(ref: str) -> bool:
    import docker.errors

    with _engine_errors(f"inspecting image {ref}"):
        try:
            client().images.get(ref)
        except docker.errors.ImageNotFound:
            return False
    return True


def inspect_image(ref: str) -> dict[str, Any]:
    """The engine's view of an image: Id, Size, Config.Labels, RepoDigests, …"""
    import docker.errors

    with _engine_errors(f"inspecting image {ref}"):
        try:
            attrs: dict[str, Any] = client().images.get(ref).attrs
        except docker.errors.ImageNotFound:
            raise missing_image_error(ref) from None
    return attrs


def missing_image_error(ref: str) -> EngineError:
    return EngineError(f"image {ref} is not present in the engine; build or pull it first")


def remove_image(ref: str, *, force: bool = False) -> None:
    """Remove an image; one that is already gone is not an error."""
    import docker.errors

    with _engine_errors(f"removing image {ref}"):
        try:
            client().api.remove_image(ref, force=force)
        except docker.errors.ImageNotFound:
            return


def tag_image(image: str, ref: str) -> None:
    import docker.utils

    repository, tag = docker.utils.parse_repository_tag(ref)
    with _engine_errors(f"tagging {image} as {ref}"):
        client().api.tag(image, repository, tag or "latest")


def ensure_image(ref: str, *, on_line: LineSink | None = None) -> None:
    """Make sure a base image is in the engine, pulling it if it is not; raise
    BaseImageNotFoundError if it cannot be had."""
    if image_exists(ref):
        return
    reason = _pull(ref, on_line)
    if reason:
        raise base_image_not_found(ref, reason)


def _pull(ref: str, on_line: LineSink | None) -> str:
    """Pull `ref`; '' on success, else the engine's reason."""
    import docker.errors

    with _engine_errors(f"pulling {ref}"):
        try:
            for event in client().api.pull(ref, stream=True, decode=True):
                if "error" in event:
                    return str(event["error"])
                _emit(on_line, _progress_line(event))
        except docker.errors.APIError as exc:
            return _api_reason(exc)
    return ""


def base_image_not_found(ref: str, reason: str) -> BaseImageNotFoundError:
    return BaseImageNotFoundError(
        f"base image {ref} is not present and cannot be pulled: {_first_line(reason)}; "
        "docker load/import it or pin one your engine can reach"
    )


def push(ref: str, *, on_line: LineSink | None = None) -> str:
    """Push `ref` to its registry; returns the pushed manifest digest ('' if the
    registry did not report one)."""
    digest = ""
    with _engine_errors(f"pushing {ref}"):
        for event in client().api.push(ref, stream=True, decode=True):
            _raise_on_stream_error(event, f"pushing {ref}")
            digest = (event.get("aux") or {}).get("Digest") or digest
            _emit(on_line, _progress_line(event))
    return str(digest)


def _raise_on_stream_error(event: Mapping[str, Any], action: str) -> None:
    if "error" in event:
        raise EngineError(f"{action} failed: {_first_line(event['error'])}")


def _progress_line(event: Mapping[str, Any]) -> str:
    parts = [event.get("id"), event.get("status"), event.get("progress")]
    return " ".join(str(part) for part in parts if part)


def _emit(on_line: LineSink | None, line: str) -> None:
    if on_line is not None and line:
        on_line(line)


# --- containers -----------------------------------------------------------------------


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
    name = _unique_name("run")
    with _owned_container(name):
        container = _create(name, image, command, options)
        _start(container)
        exit_code = _wait(container, timeout)
        if exit_code is None:
            _kill(container)
        stdout, stderr = _logs(container)
        if exit_code is None:
            final = _wait(container, _REMOVE_TIMEOUT)
            return RunResult(final if final is not None else KILLED_EXIT_CODE, stdout, stderr, True)
        return RunResult(exit_code, stdout, stderr, False)


def start_service(
    image: str, command: Sequence[str], **options: Unpack[ContainerOptions]
) -> Service:
    """Start a long-running container. The caller must `remove_container` it; prefer
    the `service` context manager, which guarantees that."""
    return _start_service(_unique_name("service"), image, command, options)


@contextmanager
def service(
    image: str, command: Sequence[str], **options: Unpack[ContainerOptions]
) -> Iterator[Service]:
    """A long-running container for the duration of the block, then removed."""
    name = _unique_name("service")
    with _owned_container(name):
        yield _start_service(name, image, command, options)


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
    container_id = _container_id(container)
    with _engine_errors(f"exec in container {container_id[:12]}"):
        exec_id = client().api.exec_create(
            container_id,
            list(argv),
            environment=dict(environment or {}),
            workdir=workdir,
            user=user or "",
        )["Id"]
    outcome = _exec_with_deadline(exec_id, timeout)
    if outcome is None:
        _kill_quietly(container_id)
        return RunResult(KILLED_EXIT_CODE, "", "", True)
    stdout, stderr = outcome
    return RunResult(_exec_exit_code(exec_id), _decode(stdout), _decode(stderr), False)


def is_running(container: Service | str) -> bool:
    import docker.errors

    with _engine_errors("inspecting a container"):
        try:
            state = client().api.inspect_container(_container_id(container))["State"]
        except docker.errors.NotFound:
            return False
    return bool(state.get("Running"))


def container_logs(container: Service | str, *, tail: int | None = None) -> str:
    """stdout and stderr interleaved, e.g. to show why a server died."""
    with _engine_errors("reading container logs"):
        raw = client().api.logs(_container_id(container), tail=tail if tail is not None else "all")
    return _decode(raw)


def remove_container(container: Service | str) -> None:
    """Kill and remove a container; one that is already gone is not an error."""
    import docker.errors

    container_id = _container_id(container)
    with _engine_errors("removing a container"):
        try:
            client().api.remove_container(container_id, force=True, v=True)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as exc:
            if exc.status_code != 409:
                raise
            # 409: the engine is already removing it (a cancelled build step does
            # that); wait so that "removed" means gone when we return.
            _wait_removed(container_id)


def _wait_removed(container_id: str) -> None:
    import docker.errors
    import requests.exceptions

    with suppress(docker.errors.NotFound, requests.exceptions.RequestException):
        client().api.wait(container_id, timeout=_REMOVE_TIMEOUT, condition="removed")


def owned_containers(labels: Mapping[str, str] | None = None) -> list[str]:
    """Ids of envctl's containers (running or not), optionally narrowed by labels."""
    wanted = {OWNER_LABEL: OWNER, **(labels or {})}
    filters: dict[str, Any] = {"label": [f"{key}={value}" for key, value in wanted.items()]}
    with _engine_errors("listing containers"):
        found = client().api.containers(all=True, filters=filters)
    return [str(entry["Id"]) for entry in found]


HOST_LABEL = "dev.envctl.host"
PID_LABEL = "dev.envctl.pid"


def _creator_labels() -> dict[str, str]:
    """Who made a container: lets a later run remove what a killed one left behind."""
    import socket

    return {OWNER_LABEL: OWNER, HOST_LABEL: socket.gethostname(), PID_LABEL: str(os.getpid())}


def reap_orphans() -> list[str]:
    """Remove envctl containers made on this host by processes that no longer exist
    (a `kill -9` cannot run our cleanup). Returns the removed ids."""
    import socket

    filters: dict[str, Any] = {
        "label": [f"{OWNER_LABEL}={OWNER}", f"{HOST_LABEL}={socket.gethostname()}"]
    }
    with _engine_errors("listing containers"):
        found = client().api.containers(all=True, filters=filters)
    removed = []
    for entry in found:
        pid = str((entry.get("Labels") or {}).get(PID_LABEL, ""))
        if pid.isdigit() and not _process_alive(int(pid)):
            remove_container(str(entry["Id"]))
            removed.append(str(entry["Id"]))
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def copy_from_image(image: str, path: str) -> bytes:
    """`path` from `image` as a tar archive, without running anything in it."""
    import docker.errors

    name = _unique_name("copy")
    with _owned_container(name):
        container = _create(name, image, ["true"], {})
        with _engine_errors(f"copying {path} from {image}"):
            try:
                chunks, _stat = container.get_archive(path)
                return b"".join(chunks)
            except docker.errors.NotFound:
                raise EngineError(f"{path} does not exist in image {image}") from None


def _unique_name(purpose: str) -> str:
    # Named before creation so a container can be removed even when Ctrl-C lands
    # between the engine creating it and us learning its id.
    return f"envctl-{purpose}-{uuid.uuid4().hex[:12]}"


def _container_id(container: Service | str) -> str:
    return container.id if isinstance(container, Service) else container


@contextmanager
def _owned_container(name: str) -> Iterator[None]:
    """Remove container `name` however the block ends. On the error path a failed
    removal must not hide the original exception (or a Ctrl-C)."""
    try:
        yield
    except BaseException:
        _remove_quietly(name)
        raise
    remove_container(name)


def _remove_quietly(name: str) -> None:
    with suppress(EngineError):
        remove_container(name)


def _start_service(
    name: str, image: str, command: Sequence[str], options: ContainerOptions
) -> Service:
    try:
        container = _create(name, image, command, options)
        _start(container)
    except BaseException:
        _remove_quietly(name)
        raise
    return Service(id=str(container.id), name=name, image=image)


def _create(name: str, image: str, command: Sequence[str], options: ContainerOptions) -> Container:
    import docker.errors

    kwargs = _create_kwargs(options)
    with _engine_errors(f"creating a container from {image}"):
        try:
            container = client().containers.create(image, list(command), name=name, **kwargs)
        except docker.errors.ImageNotFound:
            raise missing_image_error(image) from None
        for directory, archive in (options.get("archives") or {}).items():
            container.put_archive(directory, archive)
    return container


def _create_kwargs(options: ContainerOptions) -> dict[str, Any]:
    binds = options.get("binds") or ()
    entrypoint = options.get("entrypoint")
    return {
        "labels": {**(options.get("labels") or {}), **_creator_labels()},
        "network_mode": "none" if options.get("network_disabled", True) else None,
        "environment": dict(options.get("environment") or {}),
        "working_dir": options.get("workdir"),
        "user": options.get("user") or "",
        "entrypoint": list(entrypoint) if entrypoint is not None else None,
        "mem_limit": options.get("mem_limit"),
        "volumes": {
            bind.host_path: {"bind": bind.container_path, "mode": "ro" if bind.read_only else "rw"}
            for bind in binds
        },
    }


def _start(container: Container) -> None:
    with _engine_errors("starting a container"):
        container.start()


def _wait(container: Container, timeout: float) -> int | None:
    """The exit code, or None if the container is still running after `timeout`."""
    import requests.exceptions

    try:
        status = container.wait(timeout=timeout)
    except requests.exceptions.RequestException as exc:
        if _is_timeout(exc):
            return None
        raise unreachable_error(exc) from None
    return int(status["StatusCode"])


def _kill(container: Container) -> None:
    import docker.errors

    with _engine_errors("killing a container"):
        try:
            container.kill()
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: it exited on its own meanwhile
                raise


def _kill_quietly(container_id: str) -> None:
    with suppress(EngineError), _engine_errors("killing a container"):
        client().api.kill(container_id)


def _logs(container: Container) -> tuple[str, str]:
    with _engine_errors("reading container logs"):
        stdout = container.logs(stdout=True, stderr=False)
        stderr = container.logs(stdout=False, stderr=True)
    return _decode(stdout), _decode(stderr)


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
        with _engine_errors("exec in a container"):
            raise result["error"]
    stdout, stderr = result["output"]
    return stdout or b"", stderr or b""


def _exec_exit_code(exec_id: str) -> int:
    # The output stream can close a moment before the engine records the exit
    # code; until then ExitCode is null.
    with _engine_errors("inspecting an exec"):
        for _ in range(50):
            exit_code = client().api.exec_inspect(exec_id)["ExitCode"]
            if exit_code is not None:
                return int(exit_code)
            time.sleep(0.1)
    raise EngineError(f"the engine never reported the exit code of exec {exec_id[:12]}")


def _decode(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", errors="replace")


# --- build ----------------------------------------------------------------------------

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_RUNNING_IN = re.compile(r"^ ---> Running in ([0-9a-f]{12,64})\s*$")
_NONZERO = re.compile(r"returned a non-zero code: (\d+)")
_GZIP_MAGIC = b"\x1f\x8b"


class _BuildLog:
    """Follows the classic builder's JSON stream: lines, steps, containers, errors."""

    def __init__(self, on_line: LineSink | None) -> None:
        self.on_line = on_line
        self.tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self.partial = ""
        self.step = ""
        self.steps = 0
        self.cached_steps = 0
        self.containers: list[str] = []
        self.image_id = ""
        self.error = ""

    def feed(self, event: Mapping[str, Any]) -> None:
        if "stream" in event:
            self._text(str(event["stream"]))
        elif "error" in event:
            self.flush()
            self.error = str(event["error"])
            self._line(self.error)
        elif "aux" in event and isinstance(event["aux"], Mapping):
            self.image_id = str(event["aux"].get("ID") or self.image_id)
        elif "status" in event:
            self._line(_progress_line(event))

    def _text(self, text: str) -> None:
        # One stream event can hold half a line or several lines.
        *complete, self.partial = (self.partial + text).split("\n")
        for line in complete:
            self._line(line.rstrip("\r"))

    def _line(self, line: str) -> None:
        if not line:
            return
        self.tail.append(line)
        if step := _STEP.match(line):
            self.step, self.steps = line, int(step.group(2))
        elif line.strip() == "---> Using cache":
            self.cached_steps += 1
        elif running := _RUNNING_IN.match(line):
            self.containers.append(running.group(1))
        # Last: on_line may raise (Ctrl-C in a progress callback) and the
        # container just seen must already be known so it can be removed.
        _emit(self.on_line, line)

    def flush(self) -> None:
        self._text("\n")

    def failure(self, tag: str) -> EngineError:
        reason = _failure_reason(self.error)
        instruction = self.step.partition(" : ")[2]
        if instruction.upper().startswith("FROM "):
            return base_image_not_found(_from_image(instruction), reason)
        where = f" at {_shorten(self.step)}" if self.step else ""
        return EngineError(f"build of {tag} failed{where}: {reason}", details=tuple(self.tail))


def build(
    context: bytes,
    *,
    tag: str,
    labels: Mapping[str, str],
    buildargs: Mapping[str, str] | None = None,
    network_mode: str = "none",
    dockerfile: str = "Dockerfile",
    nocache: bool = False,
    on_line: LineSink | None = None,
) -> BuildResult:
    """Build an image from `context`, a tar (optionally gzipped) holding the
    Dockerfile. Every output line goes to `on_line`. A failure raises EngineError
    naming the failing step, with the last lines of output in `details`."""
    log = _BuildLog(on_line)
    with _engine_errors(f"building {tag}"):
        try:
            for event in _build_stream(
                context, tag, labels, buildargs, network_mode, dockerfile, nocache
            ):
                log.feed(event)
            log.flush()
        except KeyboardInterrupt:
            _remove_build_containers(log.containers)
            raise
        if log.error:
            raise log.failure(tag)
        image_id = log.image_id or str(client().images.get(tag).id)
    return BuildResult(image_id, tag, log.steps, log.cached_steps, tuple(log.tail))


def _build_stream(
    context: bytes,
    tag: str,
    labels: Mapping[str, str],
    buildargs: Mapping[str, str] | None,
    network_mode: str,
    dockerfile: str,
    nocache: bool,
) -> Iterator[dict[str, Any]]:
    stream: Iterator[dict[str, Any]] = client().api.build(
        fileobj=io.BytesIO(context),
        custom_context=True,
        encoding="gzip" if context.startswith(_GZIP_MAGIC) else None,
        decode=True,
        rm=True,
        forcerm=True,  # no intermediate containers left behind when a step fails
        pull=False,
        nocache=nocache,
        network_mode=network_mode,
        labels=dict(labels),
        buildargs=dict(buildargs or {}),
        tag=tag,
        dockerfile=dockerfile,
        timeout=None,  # a RUN step may print nothing for longer than any HTTP timeout
    )
    return stream


def _remove_build_containers(container_ids: Iterable[str]) -> None:
    """After Ctrl-C the engine may still hold the step's container; remove it."""
    for container_id in container_ids:
        _remove_quietly(container_id)


def _failure_reason(error: str) -> str:
    # The classic builder repeats the whole RUN line in its error; the step already
    # names it, so keep only what is new.
    if exit_code := _NONZERO.search(error):
        return f"exit code {exit_code.group(1)}"
    return _first_line(error)


def _from_image(instruction: str) -> str:
    words = [word for word in instruction.split()[1:] if not word.startswith("--")]
    return words[0] if words else instruction


def _shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
