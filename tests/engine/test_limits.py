"""Resource limits: how a container is created with a CPU quota and a memory limit
with no swap beyond it, and how an OOM kill is reported."""

from __future__ import annotations

import uuid

import pytest

from envctl import engine
from envctl.engine.lifecycle import _resource_kwargs


def test_no_limits_ask_for_nothing() -> None:
    assert _resource_kwargs({}) == {"mem_limit": None}


def test_a_memory_limit_allows_no_swap_beyond_it() -> None:
    # memswap_limit is memory plus swap: equal to the limit means no swap.
    assert _resource_kwargs({"memory": 2**30, "nano_cpus": 500_000_000}) == {
        "mem_limit": 2**30,
        "memswap_limit": 2**30,
        "nano_cpus": 500_000_000,
    }


ALLOCATE = "x = bytearray(200 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096])"


@pytest.mark.docker
def test_run_reports_an_oom_kill_and_leaves_nothing(base_image: str) -> None:
    label = {"dev.envctl.test": uuid.uuid4().hex}

    killed = engine.run(
        base_image, ["python3", "-c", ALLOCATE], timeout=60, memory=32 * 2**20, labels=label
    )
    fine = engine.run(base_image, ["python3", "-c", "print(1)"], timeout=60, memory=32 * 2**20)

    assert (killed.exit_code, killed.oom_killed) == (137, True)
    assert (fine.exit_code, fine.oom_killed) == (0, False)
    assert engine.owned_containers(label) == []


@pytest.mark.docker
def test_the_engine_host_has_cpus(docker_engine: object) -> None:
    assert engine.host_cpus() >= 1
