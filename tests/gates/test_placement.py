"""Where a stage's gates run: the GPU decision on the engine's answer, the engine and
the bypass in each image gate's evidence, and an unreachable runner named as such.
The engine's answers are faked at the adapter boundary (`envctl.engine`) only."""

from __future__ import annotations

import pytest

from envctl import engine
from envctl.engine import EngineInfo
from envctl.errors import EngineError, GateFailed, UsageError
from envctl.gates import placement
from envctl.gates.placement import GateEngine, GpuBypass
from envctl.registry.results import PASSED, GateResult
from envctl.spec.model import validated
from envctl.spec.types import Spec

HOST = GateEngine("ssh://deploy@gpu-host", "5AAF:BVFW", "gpu-host", runner=True)
NO_DRIVER = 'could not select device driver "" with capabilities: [[gpu]]'


def spec(**changes: object) -> Spec:
    base: dict[str, object] = {
        "name": "prod",
        "version": 1,
        "image": {"base": "python:3.11-slim"},
        "python": "3.11",
    }
    return validated(Spec, {**base, **changes})


def test_an_engine_that_gives_the_gpus_keeps_the_gates_as_the_stage_runs() -> None:
    assert placement.gpu_verdict(HOST, "prod", 2, None, accept=None) == HOST
    assert placement.gpu_verdict(HOST, "prod", 2, None, accept="why").gpu_bypass is None


def test_an_engine_without_gpus_is_refused_naming_stage_count_and_flag() -> None:
    with pytest.raises(GateFailed) as info:
        placement.gpu_verdict(HOST, "prod", 2, NO_DRIVER, accept=None)
    assert info.value.exit_code == 1
    assert info.value.message == (
        f"prod declares 2 GPUs but its gate engine ssh://deploy@gpu-host gives none "
        f"({NO_DRIVER}); run prod's gates where GPUs are (runner:), or promote with "
        '--accept-no-gpu "REASON" to run them without GPUs, recorded as a bypass'
    )


def test_accepting_no_gpu_carries_the_bypass_with_the_engine_s_words() -> None:
    where = placement.gpu_verdict(HOST, "prod", 1, NO_DRIVER, accept="CPU smoke test")
    assert where.gpu_bypass == GpuBypass(1, "CPU smoke test", NO_DRIVER)
    assert (where.url, where.id, where.runner) == (HOST.url, HOST.id, True)


def test_with_gpus_asks_the_engine_only_when_the_stage_has_gpus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[str, int]] = []

    def gpu_refusal(image: str, command: object, count: int) -> str | None:
        asked.append((image, count))
        return None  # an engine with the NVIDIA Container Toolkit gives them

    monkeypatch.setattr(engine, "gpu_refusal", gpu_refusal)
    none = spec()
    assert placement.with_gpus(HOST, none, 0, "img", accept=None) == HOST
    assert asked == []
    gpus = spec(compute={"gpu": 2})
    assert placement.with_gpus(HOST, gpus, 2, "img", accept=None) == HOST
    assert asked == [("img", 2)]


def test_an_image_gate_names_the_engine_and_the_bypass_others_do_not() -> None:
    ran = GateResult("command", PASSED, "true exited 0", {"limits": {"cpu": None}})
    assert placement.ran_on(ran, HOST).evidence["engine"] == {
        "url": "ssh://deploy@gpu-host",
        "id": "5AAF:BVFW",
        "name": "gpu-host",
        "runner": True,
    }
    bypassed = GateEngine(HOST.url, HOST.id, HOST.name, True, GpuBypass(2, "why", NO_DRIVER))
    shown = placement.ran_on(ran, bypassed)
    assert shown.summary == "true exited 0 (ran without the stage's 2 GPUs: accepted)"
    assert shown.evidence["gpu_bypass"] == {"gpus": 2, "reason": "why", "engine_said": NO_DRIVER}
    metrics = GateResult("metrics", PASSED, "accuracy 0.93", {"values": {}})
    assert placement.ran_on(metrics, bypassed) == metrics
    assert placement.ran_on(ran, None) == ran


@pytest.mark.parametrize(("given", "kept"), [(None, None), ("  why \n", "why")])
def test_accepted_reason(given: str | None, kept: str | None) -> None:
    assert placement.accepted_reason(given) == kept


def test_a_blank_accept_reason_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--accept-no-gpu needs a reason"):
        placement.accepted_reason(" ")


def test_reach_names_a_runner_by_what_the_engine_says(monkeypatch: pytest.MonkeyPatch) -> None:
    info = EngineInfo("tcp://10.0.0.7:2376", "ID9", "gpu-7")
    monkeypatch.setattr(engine, "engine_info", lambda: info)
    assert placement.reach(spec(runner="tcp://10.0.0.7:2376")) == GateEngine(
        "tcp://10.0.0.7:2376", "ID9", "gpu-7", runner=True
    )
    assert placement.reach(spec()).runner is False


def test_an_unreachable_runner_names_the_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable() -> EngineInfo:
        raise EngineError("the Docker Engine at tcp://10.0.0.7:2376 refused the connection")

    monkeypatch.setattr(engine, "engine_info", unreachable)
    with pytest.raises(EngineError) as info:
        placement.reach(spec(runner="tcp://10.0.0.7:2376"))
    assert (info.value.exit_code, info.value.message) == (
        4,
        "prod's runner: the Docker Engine at tcp://10.0.0.7:2376 refused the connection",
    )
    with pytest.raises(EngineError) as own:
        placement.reach(spec())  # envctl's own engine: its message as it always was
    assert own.value.message.startswith("the Docker Engine at")


@pytest.mark.docker
def test_a_load_gate_on_a_runner_samples_the_service_there(engine_b: str, base_image: str) -> None:
    """The load gate's sidecar, calibration and stats sampler (a thread of its own)
    all run on the stage's runner: the peaks are the runner's container's."""
    import os

    import docker

    from envctl.gates import load
    from envctl.gates.load import LoadContext
    from tests.gates.test_load import CALM, _ctx, _gate

    slo = {"p95_ms": "<= 10000", "error_rate": "<= 0.1%"}
    engine.client.cache_clear()
    try:
        with engine.engine_at(engine_b):
            result = load.run_load(
                _gate(slo=slo, request="request.json", **CALM),
                _ctx(base_image, 0.0),
                LoadContext(python="python3"),
            )
            assert engine.owned_containers({engine.PID_LABEL: str(os.getpid())}) == []
    finally:
        engine.client.cache_clear()
    assert result.status == "passed", result.summary
    assert result.evidence["service"]["samples"] >= 1
    assert result.evidence["service"]["peak_memory_bytes"] > 0
    on_b = docker.DockerClient(base_url=engine_b)
    try:
        assert on_b.containers.list(all=True, filters={"label": "dev.envctl.owner"}) == []
    finally:
        on_b.close()
