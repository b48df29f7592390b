"""What an engine says about itself (`docker info`), and whether it gives a
container the GPUs it asks for (a device-request probe)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from envctl.engine.connection import api_reason, client, engine_errors, engine_host
from envctl.engine.lifecycle import create, owned_container, unique_name, wait

PROBE_TIMEOUT = 60.0  # seconds the probe container may run once started


@dataclass(frozen=True)
class EngineInfo:
    """The engine in use: the URL envctl reached it at, and its own ID and name."""

    url: str
    id: str
    name: str


def engine_info() -> EngineInfo:
    """`docker info` of the engine in use (a stage's runner inside `engine_at`)."""
    with engine_errors("reading the engine's info"):
        info = client().info()
    return EngineInfo(engine_host(), str(info.get("ID") or ""), str(info.get("Name") or ""))


def gpu_refusal(image: str, command: Sequence[str], count: int) -> str | None:
    """Whether the engine gives a container of `image` `count` GPUs: None when it
    started one asking for them, else the engine's reason. An engine without the
    NVIDIA Container Toolkit accepts the device request at create and refuses it at
    start, so only a start says; `command` must be one the image runs."""
    import docker.errors

    name = unique_name("gpu-probe")
    with owned_container(name):
        container = create(name, image, command, {"gpus": count})
        with engine_errors("starting a container"):
            try:
                container.start()
            except docker.errors.APIError as exc:
                return api_reason(exc)
        wait(container, PROBE_TIMEOUT)
    return None
