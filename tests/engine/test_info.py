"""What an engine says about itself, the device-request probe, and addressing
another engine for a block of work (`engine_at`, a stage's runner): real engines,
this machine's and the second one the tests start."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import docker
import pytest

from envctl import engine
from envctl.errors import EngineError

pytestmark = pytest.mark.docker


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    engine.client.cache_clear()
    yield
    engine.client.cache_clear()


def test_engine_at_sends_every_call_in_the_block_to_that_engine(
    engine_b: str, base_image: str
) -> None:
    own = engine.engine_info()
    with engine.engine_at(engine_b):
        there = engine.engine_info()
        with engine.service(base_image, ["sleep", "60"]) as svc:
            # exec_in reads its output in a thread of its own: it must stay on B too.
            answer = engine.exec_in(svc, ["python3", "-c", "print('on b')"], timeout=30)
            on_b = docker.DockerClient(base_url=engine_b)
            try:
                assert svc.id in [c.id for c in on_b.containers.list()]
            finally:
                on_b.close()
    assert answer.stdout == "on b\n"
    # Two dockerds on one host may share its key and hostname (docker 20.10 derives
    # the ID from /etc/docker/key.json): the URL is what tells them apart.
    assert (there.url, own.url) == (engine_b, engine.engine_host())
    with engine.engine_at(None):
        assert engine.engine_info() == own


def test_threads_a_gate_starts_in_the_block_reach_the_same_engine(engine_b: str) -> None:
    """A gate's helper threads (the load gate's stats sampler, an exec's reader) call
    the engine from threads of their own: they must not fall back to DOCKER_HOST's."""
    seen: list[str] = []

    def ask() -> None:
        seen.append(engine.engine_info().url)

    with engine.engine_at(engine_b):
        worker = threading.Thread(target=ask)
        worker.start()
        worker.join(60)
    assert seen == [engine_b]


def test_an_unreachable_runner_says_to_fix_the_runner_not_docker_host() -> None:
    with engine.engine_at("tcp://127.0.0.1:1"), pytest.raises(EngineError) as info:
        engine.engine_info()
    assert (info.value.exit_code, info.value.message) == (
        4,
        "the Docker Engine at tcp://127.0.0.1:1 refused the connection: "
        "start dockerd there or change the stage's runner:",
    )


def test_an_engine_without_the_nvidia_toolkit_refuses_a_gpu_at_start(base_image: str) -> None:
    """This machine has no GPU: the probe gets the engine's refusal and leaves no
    container behind. (An engine that gives GPUs is faked in tests/gates.)"""
    reason = engine.gpu_refusal(base_image, ["true"], 1)
    assert reason == 'could not select device driver "" with capabilities: [[gpu]]'
    assert engine.gpu_refusal(base_image, ["true"], 0) is None  # no device request: started
    assert engine.owned_containers({engine.PID_LABEL: str(os.getpid())}) == []


def test_the_last_sweep_removes_this_process_s_containers_on_a_runner_too(
    engine_b: str, base_image: str
) -> None:
    """A Ctrl-C that cuts a gate's own cleanup short on a stage's runner: the CLI's
    last sweep (remove_own_containers, outside any runner block) finds it there."""
    with engine.engine_at(engine_b):
        left = engine.start_service(base_image, ["sleep", "60"])
    assert engine.owned_containers({engine.PID_LABEL: str(os.getpid())}) == []  # not here
    assert left.id in engine.remove_own_containers()
    with engine.engine_at(engine_b):
        assert not engine.is_running(left)
        assert engine.owned_containers({engine.PID_LABEL: str(os.getpid())}) == []
