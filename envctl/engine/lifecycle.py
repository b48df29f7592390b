"""A container's life as envctl lives it: named before it is created, labelled
with who made it, started, waited on, killed, and removed however the call ends
(errors, timeouts, Ctrl-C included). Also finding and reaping the containers a
killed envctl left behind."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from envctl.engine.connection import (
    api_reason,
    client,
    decode,
    engine_at,
    engine_errors,
    engine_host,
    fresh_client,
    hosts_used,
    is_timeout,
    unreachable_error,
)
from envctl.engine.images import missing_image_error
from envctl.errors import EngineError

if TYPE_CHECKING:
    from docker.models.containers import Container

OWNER_LABEL = "dev.envctl.owner"
OWNER = "envctl"
HOST_LABEL = "dev.envctl.host"
PID_LABEL = "dev.envctl.pid"
REMOVE_TIMEOUT = 10  # seconds


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
    memory: int  # bytes: a hard limit with no swap beyond it (memswap_limit = mem_limit)
    nano_cpus: int  # CPU quota in billionths of a CPU (Docker's NanoCpus)
    network_disabled: bool  # default True: network_mode "none", loopback only
    network_container: str  # join this container's network namespace (a sidecar)
    gpus: int  # NVIDIA GPUs the container must get (a device request); 0: none


# --- naming and removal ---------------------------------------------------------------


def unique_name(purpose: str) -> str:
    # Named before creation so a container can be removed even when Ctrl-C lands
    # between the engine creating it and us learning its id.
    return f"envctl-{purpose}-{uuid.uuid4().hex[:12]}"


def id_of(container: Service | str) -> str:
    return container.id if isinstance(container, Service) else container


@contextmanager
def owned_container(name: str) -> Iterator[None]:
    """Remove container `name` however the block ends. On the error path a failed
    removal must not hide the original exception (or a Ctrl-C)."""
    try:
        yield
    except BaseException:
        remove_quietly(name)
        raise
    remove_container(name)


def remove_quietly(name: str) -> None:
    """Cleanup on the error path. A Ctrl-C can land in the middle of a request on
    the cached client's pooled connection, leaving it unusable; so the removal
    uses a fresh client, and falls back to the cached one."""
    with suppress(Exception):
        fresh_client().api.remove_container(name, force=True, v=True)
    with suppress(EngineError):
        remove_container(name)


def remove_container(container: Service | str) -> None:
    """Kill and remove a container; one that is already gone is not an error."""
    import docker.errors

    container_id = id_of(container)
    with engine_errors("removing a container"):
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
        client().api.wait(container_id, timeout=REMOVE_TIMEOUT, condition="removed")


# --- creating and controlling ---------------------------------------------------------


def create(name: str, image: str, command: Sequence[str], options: ContainerOptions) -> Container:
    import docker.errors

    kwargs = {**_create_kwargs(options), **gpu_request(options.get("gpus", 0))}
    with engine_errors(f"creating a container from {image}"):
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
        "labels": {**(options.get("labels") or {}), **creator_labels()},
        "network_mode": _network_mode(options),
        "environment": dict(options.get("environment") or {}),
        "working_dir": options.get("workdir"),
        "user": options.get("user") or "",
        "entrypoint": list(entrypoint) if entrypoint is not None else None,
        **_resource_kwargs(options),
        "volumes": {
            bind.host_path: {"bind": bind.container_path, "mode": "ro" if bind.read_only else "rw"}
            for bind in binds
        },
    }


def _network_mode(options: ContainerOptions) -> str | None:
    # A sidecar shares its service's namespace: the same loopback, no network of its own.
    joined = options.get("network_container")
    if joined:
        return f"container:{joined}"
    return "none" if options.get("network_disabled", True) else None


def _resource_kwargs(options: ContainerOptions) -> dict[str, Any]:
    memory = options.get("memory")
    limits: dict[str, Any] = {"mem_limit": options.get("mem_limit")}
    if memory:
        # memswap_limit is memory plus swap: equal to mem_limit means no swap at all,
        # so a container over its limit is OOM-killed rather than slowed by swapping.
        limits.update(mem_limit=memory, memswap_limit=memory)
    if options.get("nano_cpus"):
        limits["nano_cpus"] = options["nano_cpus"]
    return limits


OOM_SETTLE = 2.0  # seconds an OOM event may trail the exit it caused


def oom_killed(container: Container | Service | str, *, settle: float = 0.0) -> bool:
    """Whether the kernel killed a process of the container for going over its memory
    limit. The engine records the OOM event and the exit separately, so the flag can
    land a moment after the exit: `settle` seconds are given for it."""
    container_id = container if isinstance(container, str) else str(container.id)
    deadline = time.monotonic() + settle
    while True:
        if _oom_flag(container_id):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _oom_flag(container_id: str) -> bool:
    import docker.errors

    with engine_errors("inspecting a container"):
        try:
            state = client().api.inspect_container(container_id)["State"]
        except docker.errors.NotFound:
            return False
    return bool(state.get("OOMKilled"))


def creator_labels() -> dict[str, str]:
    """Who made a container: lets a later run remove what a killed one left behind."""
    import socket

    return {OWNER_LABEL: OWNER, HOST_LABEL: socket.gethostname(), PID_LABEL: str(os.getpid())}


def gpu_request(count: int) -> dict[str, Any]:
    """The create() arguments asking the engine for `count` GPUs (none for 0)."""
    if count <= 0:
        return {}
    from docker.types import DeviceRequest

    return {"device_requests": [DeviceRequest(count=count, capabilities=[["gpu"]])]}


def start(container: Container, *, gpus: int = 0) -> None:
    """Start `container`; `gpus` is what it was created asking for (gpu_request)."""
    import docker.errors

    with engine_errors("starting a container"):
        try:
            container.start()
        except docker.errors.APIError as exc:
            if gpus <= 0:
                raise
            # The engine accepts a device request at create and refuses it only here.
            raise gpus_refused(gpus, api_reason(exc)) from None


def gpus_refused(count: int, reason: str) -> EngineError:
    return EngineError(
        f"the engine could not give the container {count} GPU{'s' if count > 1 else ''} "
        f"({reason}); run this stage's gates on an engine whose host has NVIDIA GPUs and "
        "the NVIDIA Container Toolkit"
    )


def wait(container: Container, timeout: float) -> int | None:
    """The exit code, or None if the container is still running after `timeout`."""
    import requests.exceptions

    try:
        status = container.wait(timeout=timeout)
    except requests.exceptions.RequestException as exc:
        if is_timeout(exc):
            return None
        raise unreachable_error(exc) from None
    return int(status["StatusCode"])


def kill(container: Container) -> None:
    import docker.errors

    with engine_errors("killing a container"):
        try:
            container.kill()
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: it exited on its own meanwhile
                raise


def kill_quietly(container_id: str) -> None:
    with suppress(EngineError), engine_errors("killing a container"):
        client().api.kill(container_id)


def logs(container: Container) -> tuple[str, str]:
    with engine_errors("reading container logs"):
        stdout = container.logs(stdout=True, stderr=False)
        stderr = container.logs(stdout=False, stderr=True)
    return decode(stdout), decode(stderr)


# --- strays ---------------------------------------------------------------------------


def owned_containers(labels: Mapping[str, str] | None = None) -> list[str]:
    """Ids of envctl's containers (running or not), optionally narrowed by labels."""
    wanted = {OWNER_LABEL: OWNER, **(labels or {})}
    filters: dict[str, Any] = {"label": [f"{key}={value}" for key, value in wanted.items()]}
    with engine_errors("listing containers"):
        found = client().api.containers(all=True, filters=filters)
    return [str(entry["Id"]) for entry in found]


def remove_own_containers() -> list[str]:
    """Remove every container this process created, on every engine it reached (a
    stage's runner too): the last line of defence when a Ctrl-C lands where a
    block's own cleanup could not finish."""
    removed = []
    for host in hosts_used() or (engine_host(),):
        with engine_at(host), suppress(EngineError):
            for container_id in owned_containers({PID_LABEL: str(os.getpid())}):
                remove_quietly(container_id)
                removed.append(container_id)
    return removed


def reap_orphans() -> list[str]:
    """Remove envctl containers made on this host by processes that no longer exist
    (a `kill -9` cannot run our cleanup). Returns the removed ids."""
    import socket

    filters: dict[str, Any] = {
        "label": [f"{OWNER_LABEL}={OWNER}", f"{HOST_LABEL}={socket.gethostname()}"]
    }
    with engine_errors("listing containers"):
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
