"""GPU requests: how a container asks the engine for GPUs, and the one-line error
when the engine cannot give them (this machine's engine has no NVIDIA runtime)."""

from __future__ import annotations

import uuid

import pytest

from envctl import engine
from envctl.engine.lifecycle import gpu_request
from envctl.errors import EngineError


def test_no_gpus_asks_for_nothing() -> None:
    assert gpu_request(0) == {}


def test_gpus_are_a_device_request_with_the_gpu_capability() -> None:
    (request,) = gpu_request(2)["device_requests"]
    assert request["Count"] == 2
    assert request["Capabilities"] == [["gpu"]]
    assert request["Driver"] == ""  # any driver that offers the capability (nvidia)


REFUSED = (
    r"^the engine could not give the container {count} GPUs? \(could not select device "
    r"driver \"\" with capabilities: \[\[gpu\]\]\); run this stage's gates on an engine "
    r"whose host has NVIDIA GPUs and the NVIDIA Container Toolkit$"
)


def test_run_asking_for_a_gpu_the_engine_lacks_is_a_clear_error(base_image: str) -> None:
    label = {"dev.envctl.test": uuid.uuid4().hex}
    with pytest.raises(EngineError, match=REFUSED.format(count=1)):
        engine.run(base_image, ["true"], timeout=30, gpus=1, labels=label)
    assert engine.owned_containers(label) == []  # nothing left behind


def test_service_asking_for_gpus_the_engine_lacks_is_a_clear_error(base_image: str) -> None:
    label = {"dev.envctl.test": uuid.uuid4().hex}
    with (
        pytest.raises(EngineError, match=REFUSED.format(count=2)),
        engine.service(base_image, ["sleep", "30"], gpus=2, labels=label),
    ):
        pass
    assert engine.owned_containers(label) == []


def test_without_gpus_the_same_container_runs(base_image: str) -> None:
    assert engine.run(base_image, ["true"], timeout=30, gpus=0).ok
