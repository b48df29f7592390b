"""What a gate container gets of its stage, and what its evidence says (pure)."""

from __future__ import annotations

import pytest

from envctl.gates.resources import Limits, StageResources, applied
from envctl.gates.runners import limit_options, under_limits
from envctl.registry.results import FAILED, PASSED, GateResult
from envctl.spec.model import validated
from envctl.spec.types import Spec


def _spec(compute: dict[str, object], env: dict[str, str] | None = None) -> Spec:
    return validated(
        Spec,
        {
            "name": "prod",
            "version": 1,
            "image": {"base": "python:3.11-slim"},
            "python": "3.11",
            "compute": compute,
            "env": env or {},
        },
    )


def test_the_stage_s_compute_and_env_are_what_its_gates_ask_for() -> None:
    stage = StageResources.of(_spec({"cpu": "500m", "memory": "8Gi"}, {"OMP_NUM_THREADS": "4"}))

    assert stage == StageResources("prod", 0.5, 8 * 2**30, (("OMP_NUM_THREADS", "4"),))


def test_a_stage_without_compute_sets_no_limit() -> None:
    limits = applied(StageResources.of(_spec({})), None)

    assert (limits.cpu, limits.memory, limits.nano_cpus) == (None, None, None)
    assert limits.evidence() == {"cpu": None, "memory": None, "swap": None}
    assert limit_options(limits, 0) == {"environment": {}, "gpus": 0}


def test_limits_within_the_host_are_applied_as_asked() -> None:
    limits = applied(StageResources("prod", 0.5, 64 * 2**20), host_cpus=2)

    assert limits.nano_cpus == 500_000_000
    assert limits.note() == ""
    assert limits.evidence() == {"cpu": 0.5, "memory": "64Mi", "swap": "none"}
    assert limit_options(limits, 1) == {
        "environment": {},
        "gpus": 1,
        "memory": 64 * 2**20,
        "nano_cpus": 500_000_000,
    }


@pytest.mark.parametrize(
    ("asked", "host", "cpu", "note"),
    [
        (4.0, 2, 2.0, "ran with 2 of 4 CPUs"),
        (2.5, 2, 2.0, "ran with 2 of 2.5 CPUs"),
        (2.0, 2, 2.0, ""),
        (1.5, 16, 1.5, ""),
    ],
)
def test_a_host_with_fewer_cpus_than_asked_runs_with_what_exists_and_says_so(
    asked: float, host: int, cpu: float, note: str
) -> None:
    limits = applied(StageResources("prod", asked, None), host_cpus=host)

    assert limits.cpu == cpu  # never more than the host has
    assert limits.note() == note
    if note:
        assert limits.evidence() == {
            "cpu": cpu,
            "memory": None,
            "swap": None,
            "cpu_asked": asked,
            "host_cpus": host,
            "note": note,
        }


def test_an_oom_kill_names_the_limit_and_the_stage() -> None:
    limits = applied(StageResources("prod", None, 8 * 2**30), None)

    assert limits.oom_message() == "killed: out of memory at 8Gi, prod's limit"


@pytest.mark.parametrize(
    ("declared", "shown"),
    [("8Gi", "8Gi"), ("8G", "8G"), ("512M", "512M"), ("1500Mi", "1500Mi"), ("64Mi", "64Mi"),
     ("100000001", "100000001"), ("1000", "1k")],
)  # fmt: skip
def test_a_limit_is_quoted_as_the_stage_declares_it(declared: str, shown: str) -> None:
    from envctl.gates.resources import memory_text
    from envctl.spec.values import memory_bytes

    assert memory_text(memory_bytes(declared)) == shown


def _limits(cpu: float | None, asked: float | None, host: int | None) -> Limits:
    return Limits("staging", cpu, asked, host, 2**30)


def test_a_gate_result_carries_its_limits_and_a_cut_in_its_summary() -> None:
    passed = GateResult("command", PASSED, "true exited 0", {"exit_code": 0})

    shown = under_limits(passed, _limits(2.0, 4.0, 2), oom_killed=False)

    assert shown.status == PASSED
    assert shown.summary == "true exited 0 (ran with 2 of 4 CPUs)"
    assert shown.evidence["exit_code"] == 0
    assert shown.evidence["limits"]["note"] == "ran with 2 of 4 CPUs"


def test_an_oom_kill_fails_the_gate_whatever_its_exit_code() -> None:
    # pytest can survive a killed child and still exit 0: the kill is the verdict.
    passed = GateResult("tests", PASSED, "2 passed", {"exit_code": 0})

    shown = under_limits(passed, _limits(None, None, None), oom_killed=True)

    assert shown.status == FAILED
    assert shown.summary == "killed: out of memory at 1Gi, staging's limit"
    assert shown.evidence["oom_killed"] is True
    assert shown.evidence["limits"] == {"cpu": None, "memory": "1Gi", "swap": "none"}
