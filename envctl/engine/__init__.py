"""Docker Engine adapter. The only package that imports the Docker SDK, and only
inside functions: `envctl diff` never needs an engine and must start fast.

Every library failure is translated here into EngineError (exit 4), message
first. Every container envctl creates carries OWNER_LABEL so strays can be found,
and is removed however the call ends (errors, timeouts, Ctrl-C included).

Layout: `connection` (the client, error translation, stream readers), `images`
(exists, inspect, tag, pull, push, remove), `info` (what an engine says about
itself, whether it gives GPUs), `lifecycle` (a container's naming,
creation, removal, and reaping strays), `containers` (run, service, exec, copy
out of an image), `hostfiles` (a file on the engine's host, through a read-only
mount), `builder` (build and its log stream). Callers use this
package's names only: `from envctl import engine; engine.run(...)`.
"""

from __future__ import annotations

from envctl.engine.builder import LOG_TAIL_LINES, BuildResult, build
from envctl.engine.connection import (
    DEFAULT_HOST,
    client,
    engine_at,
    engine_host,
    unreachable_error,
)
from envctl.engine.containers import (
    KILLED_EXIT_CODE,
    RunResult,
    container_logs,
    copy_from_image,
    exec_in,
    host_cpus,
    is_running,
    run,
    service,
    start_service,
    stats_stream,
)
from envctl.engine.credentials import registry_credentials
from envctl.engine.hostfiles import read_host_file
from envctl.engine.images import (
    base_image_not_found,
    ensure_image,
    image_exists,
    inspect_image,
    is_not_found,
    missing_image_error,
    pull,
    push,
    remove_image,
    tag_image,
)
from envctl.engine.info import EngineInfo, engine_info, gpu_refusal
from envctl.engine.lifecycle import (
    HOST_LABEL,
    OOM_SETTLE,
    OWNER,
    OWNER_LABEL,
    PID_LABEL,
    Bind,
    ContainerOptions,
    Service,
    oom_killed,
    owned_containers,
    reap_orphans,
    remove_container,
    remove_own_containers,
)
from envctl.errors import BaseImageNotFoundError, EngineError

__all__ = [
    "DEFAULT_HOST",
    "HOST_LABEL",
    "KILLED_EXIT_CODE",
    "LOG_TAIL_LINES",
    "OOM_SETTLE",
    "OWNER",
    "OWNER_LABEL",
    "PID_LABEL",
    "BaseImageNotFoundError",
    "Bind",
    "BuildResult",
    "ContainerOptions",
    "EngineError",
    "EngineInfo",
    "RunResult",
    "Service",
    "base_image_not_found",
    "build",
    "client",
    "container_logs",
    "copy_from_image",
    "engine_at",
    "engine_host",
    "engine_info",
    "ensure_image",
    "exec_in",
    "gpu_refusal",
    "host_cpus",
    "image_exists",
    "inspect_image",
    "is_not_found",
    "is_running",
    "missing_image_error",
    "oom_killed",
    "owned_containers",
    "pull",
    "push",
    "read_host_file",
    "reap_orphans",
    "registry_credentials",
    "remove_container",
    "remove_image",
    "remove_own_containers",
    "run",
    "service",
    "start_service",
    "stats_stream",
    "tag_image",
    "unreachable_error",
]
