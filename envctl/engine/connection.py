"""The engine client, and the translation of its failures into one-line
EngineErrors (exit 4), message first. Also the small readers every other engine
module shares: first lines, progress lines, decoded output."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

from envctl.errors import EngineError
from envctl.progress import Progress

if TYPE_CHECKING:
    from docker import DockerClient

DEFAULT_HOST = "unix:///var/run/docker.sock"


# The engines blocks of work are addressed to instead of DOCKER_HOST's, innermost
# last: a stage's `runner:` while its image is made and its gates run (`engine_at`).
# Process-wide, not a context variable: threads a gate starts (an exec's reader,
# a stats sampler) must reach the same engine as the gate.
_RUNNERS: list[str] = []


def engine_host() -> str:
    return _RUNNERS[-1] if _RUNNERS else os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def is_runner() -> bool:
    """Whether the engine in use is a stage's runner rather than DOCKER_HOST's."""
    return bool(_RUNNERS)


@contextmanager
def engine_at(host: str | None) -> Iterator[None]:
    """Every engine call during the block (from any thread) goes to `host`, a Docker
    Engine URL, with the environment's TLS settings; None leaves the engine as it is."""
    if host is None:
        yield
        return
    _RUNNERS.append(host)
    try:
        yield
    finally:
        _RUNNERS.pop()


class _Clients:
    """`client()`: the engine client for `engine_host()`, connected and pinged once
    per host. `client.cache_clear()` drops them (after changing the environment)."""

    def __call__(self) -> DockerClient:
        return _connect(engine_host())

    def cache_clear(self) -> None:
        _connect.cache_clear()


client = _Clients()


@cache
def _connect(host: str) -> DockerClient:
    import docker

    try:
        engine = docker.from_env(environment=sdk_environment(host))
        engine.ping()
    except Exception as exc:  # from_env wraps every transport failure differently
        raise unreachable_error(exc) from None
    _USED.setdefault(host, None)
    return engine


# Every engine this process has reached, in order: a Ctrl-C's last sweep for the
# containers it started visits each (a stage's runner as well as DOCKER_HOST's).
_USED: dict[str, None] = {}


def hosts_used() -> tuple[str, ...]:
    return tuple(_USED)


def fresh_client() -> DockerClient:
    """A new, unpinged client for the engine in use (cleanup after a Ctrl-C, whose
    pooled connection may be broken)."""
    import docker

    return docker.from_env(environment=sdk_environment(engine_host()))


def sdk_environment(host: str) -> dict[str, str]:
    """The environment the SDK reads its settings from, addressed to `host`."""
    return {**os.environ, "DOCKER_HOST": host}


def unreachable_error(exc: BaseException) -> EngineError:
    """One line saying why the engine cannot be used and what to do about it."""
    host = engine_host()
    causes = list(_causes(exc))
    if host.startswith("ssh://") and not _has_paramiko():
        # The SDK's ssh transport imports paramiko even when it runs the ssh client.
        return EngineError(
            f"the Docker Engine at {host} is reached over ssh, which needs paramiko: "
            "pip install 'envctl[ssh]'"
        )
    fix = "start dockerd or set DOCKER_HOST"
    if is_runner():
        fix = "start dockerd there or change the stage's runner:"
    if _has(causes, FileNotFoundError):
        return EngineError(f"no Docker Engine at {host}: {fix}")
    if _has(causes, PermissionError):
        return EngineError(
            f"permission denied on the Docker Engine at {host}: "
            "add yourself to the docker group or use sudo"
        )
    if _has(causes, ConnectionRefusedError):
        return EngineError(f"the Docker Engine at {host} refused the connection: {fix}")
    if is_timeout(exc):
        return EngineError(
            f"the Docker Engine at {host} did not answer in time: "
            "check that dockerd is healthy (its log) or set DOCKER_HOST"
        )
    return EngineError(f"cannot use the Docker Engine at {host}: {first_line(exc)}")


def _has_paramiko() -> bool:
    from importlib.util import find_spec

    return find_spec("paramiko") is not None


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


def is_timeout(exc: BaseException) -> bool:
    import requests.exceptions

    return _has(_causes(exc), (TimeoutError, requests.exceptions.Timeout))


def first_line(value: object) -> str:
    text = str(value).strip()
    return text.splitlines()[0] if text else type(value).__name__


def api_reason(exc: Any) -> str:  # Any: docker.errors.APIError, imported lazily
    return first_line(exc.explanation or exc)


@contextmanager
def engine_errors(action: str) -> Iterator[None]:
    """Translate SDK failures inside the block into one-line EngineErrors."""
    import docker.errors
    import requests.exceptions

    try:
        yield
    except docker.errors.APIError as exc:
        raise EngineError(f"{action} failed: {api_reason(exc)}") from None
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise unreachable_error(exc) from None


def progress_line(event: Mapping[str, Any]) -> str:
    parts = [event.get("id"), event.get("status"), event.get("progress")]
    return " ".join(str(part) for part in parts if part)


def emit(on_line: Progress | None, line: str) -> None:
    if on_line is not None and line:
        on_line(line)


def decode(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", errors="replace")
