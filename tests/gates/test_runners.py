"""The verdicts of the image gates on a finished run: pure, no container needed."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from envctl.errors import InputError
from envctl.gates import runners
from envctl.gates.runners import command_result, http_result
from envctl.spec import types
from envctl.spec.model import validated
from envctl.spec.types import CommandGate, HttpGate, Spec
from tests.conftest import git

# Imported by module: pytest would collect names starting with "test" as tests.

TESTS: list[tuple[int, str, bool, str, str]] = [
    # exit code, output, timed out, status, summary
    (0, "..\n2 passed in 0.1s\n", False, "passed", "2 passed"),
    (
        1,
        ".F\n1 failed, 1 passed in 0.1s\n",
        False,
        "failed",
        "pytest exited 1 (1 failed, 1 passed)",
    ),
    (5, "no tests ran in 0.01s\n", False, "failed", "pytest exited 5 (no summary)"),
    (0, "", False, "passed", "no summary"),
    (137, "..", True, "failed", "pytest timed out after 30s"),
]


@pytest.mark.parametrize(("exit_code", "output", "timed_out", "status", "summary"), TESTS)
def test_tests_result(
    exit_code: int, output: str, timed_out: bool, status: str, summary: str
) -> None:
    gate = types.TestsGate(paths=["tests/unit"], timeout=30)
    result = runners.tests_result(gate, exit_code=exit_code, output=output, timed_out=timed_out)
    assert (result.kind, result.status, result.summary) == ("tests", status, summary)
    assert result.evidence["paths"] == ["tests/unit"]
    assert (result.evidence["exit_code"], result.evidence["timed_out"]) == (exit_code, timed_out)


def test_tests_result_keeps_the_output_tail() -> None:
    output = "\n".join(f"line {n}" for n in range(40)) + "\n1 passed in 0.1s\n"
    result = runners.tests_result(types.TestsGate(), exit_code=0, output=output, timed_out=False)
    tail = result.evidence["output_tail"].splitlines()
    assert len(tail) == 15
    assert tail[-1] == "1 passed in 0.1s"
    assert result.evidence["counts"] == {"passed": 1}


COMMANDS: list[tuple[int, bool, str, str]] = [
    (0, False, "passed", "python -c pass exited 0"),
    (3, False, "failed", "python -c pass exited 3"),
    (0, True, "failed", "python -c pass timed out after 9s"),
    (137, True, "failed", "python -c pass timed out after 9s"),
]


@pytest.mark.parametrize(("exit_code", "timed_out", "status", "summary"), COMMANDS)
def test_command_result(exit_code: int, timed_out: bool, status: str, summary: str) -> None:
    gate = CommandGate(run=["python", "-c", "pass"], timeout=9)
    result = command_result(gate, exit_code=exit_code, output="out\n", timed_out=timed_out)
    assert (result.kind, result.status, result.summary) == ("command", status, summary)
    assert result.evidence == {
        "argv": ["python", "-c", "pass"],
        "exit_code": exit_code,
        "timed_out": timed_out,
        "output_tail": "out",
    }


def reply(status: int | None, body: str = "", error: str = "") -> str:
    return "some log\n" + json.dumps({"status": status, "body": body, "error": error}) + "\n"


HTTP: list[tuple[str, str, str, bool, str, str, bool]] = [
    # stdout, stderr, server logs, timed out, status, summary, server log kept
    (reply(200, '{"prediction": 1}'), "", "", False, "passed", "POST /predict -> 200", False),
    (
        reply(200, '{"prediction": 1}'),
        "",
        "GET /health",
        False,
        "passed",
        "POST /predict -> 200",
        False,
    ),
    (
        reply(200, "{}"),
        "",
        "Traceback",
        False,
        "failed",
        "POST /predict answer lacks prediction",
        True,
    ),
    (
        reply(None, error="server not healthy in time (health answered 503)"),
        "",
        "",
        False,
        "failed",
        "server not healthy in time (health answered 503)",
        False,
    ),
    ("", "", "boom", True, "failed", "timed out", True),
    (
        "garbage",
        "Traceback\nValueError: x\n",
        "",
        False,
        "failed",
        "request failed: Traceback\nValueError: x",
        True,
    ),
    ("", "", "", False, "failed", "request failed: no output", True),
]


@pytest.mark.parametrize(
    ("stdout", "stderr", "logs", "timed_out", "status", "summary", "has_log"), HTTP
)
def test_http_result(
    stdout: str,
    stderr: str,
    logs: str,
    timed_out: bool,
    status: str,
    summary: str,
    has_log: bool,
) -> None:
    gate = HttpGate(expect_keys=["prediction"])
    result = http_result(gate, stdout, stderr, logs, timed_out=timed_out)
    assert (result.kind, result.status, result.summary) == ("http", status, summary)
    assert ("server_log_tail" in result.evidence) is has_log
    if has_log:
        assert result.evidence["server_log_tail"] == logs


def test_gate_files_come_from_git_so_a_committed_symlink_reads_as_its_link_text(
    git_repo: Path, tmp_path: Path
) -> None:
    """metrics/request/data files are read from the version's commit: git stores a
    symlink as the text of its target, so no host file is ever read through one."""
    from envctl.gates.checks import parse_metrics

    host = tmp_path / "host" / "secret.json"
    host.parent.mkdir()
    host.write_text('{"CANARY-gate": 1}')
    (git_repo / "model").mkdir()
    (git_repo / "model" / "metrics.json").symlink_to(host)
    (git_repo / "model" / "request.json").symlink_to("../../host/secret.json")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "links")
    read = runners.model_file_reader(git_repo, "HEAD", "model")

    assert read("metrics.json") == str(host).encode()
    assert read("request.json") == b"../../host/secret.json"
    assert read("../../host/secret.json") is None
    with pytest.raises(InputError) as caught:
        parse_metrics(read("metrics.json"), "model/metrics.json")
    assert "CANARY" not in caught.value.message


# ---- GPUs --------------------------------------------------------------------------


def _gpu_spec(gpu: object) -> Spec:
    return validated(
        Spec,
        {
            "name": "prod",
            "version": 1,
            "image": {"base": "python:3.11-slim"},
            "python": "3.11",
            "compute": {"gpu": gpu},
        },
    )


def test_gate_containers_request_the_stage_s_gpus() -> None:
    from envctl.gates.runners import gate_gpus

    assert gate_gpus(_gpu_spec(0)) == 0
    assert gate_gpus(_gpu_spec({"count": 2, "driver": ">=550"})) == 2


def test_gates_of_a_stage_with_amd_gpus_cannot_run_as_it_does() -> None:
    from envctl.errors import InputError
    from envctl.gates.runners import gate_gpus

    with pytest.raises(InputError, match="prod declares amd GPUs; gate containers can request"):
        gate_gpus(_gpu_spec({"count": 1, "vendor": "amd"}))


def test_a_tests_gate_on_a_gpu_stage_asks_the_engine_and_says_what_it_lacks(
    base_image: str,
) -> None:
    from envctl.errors import EngineError

    ctx = runners.ImageContext(
        image=base_image, workdir="/", serve=None, read_file=lambda _: None, gpus=1
    )
    with pytest.raises(EngineError, match=r"^the engine could not give the container 1 GPU \("):
        runners.run_tests(types.TestsGate(), ctx, image=base_image)


# ---- the stage's resources ---------------------------------------------------------------

# Prints the CPU quota and period, the memory limit and the swap the kernel allows
# the container (cgroup v2: swap beyond memory, 0; v1: memory plus swap, equal to
# memory), and the stage's env: what was applied, not what was asked.
_SHOW_LIMITS = (
    "if [ -f /sys/fs/cgroup/cpu.max ]; then "
    "echo cpu $(cat /sys/fs/cgroup/cpu.max) memory $(cat /sys/fs/cgroup/memory.max)"
    " extra swap $(cat /sys/fs/cgroup/memory.swap.max); else "
    "cg=/sys/fs/cgroup; echo cpu $(cat $cg/cpu/cpu.cfs_quota_us) $(cat $cg/cpu/cpu.cfs_period_us)"
    " memory $(cat $cg/memory/memory.limit_in_bytes)"
    " extra swap $(($(cat $cg/memory/memory.memsw.limit_in_bytes)"
    " - $(cat $cg/memory/memory.limit_in_bytes)));"
    " fi; echo env $STAGE_MARK"
)

_ALLOCATE = "x = bytearray(200 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096]); print('survived')"


def _ctx(image: str, cpu: float | None = None, memory: int | None = None) -> runners.ImageContext:
    from envctl.gates.resources import StageResources

    stage = StageResources("prod", cpu, memory, (("STAGE_MARK", "from-the-stage"),))
    return runners.ImageContext(
        image=image, workdir="/", serve=None, read_file=lambda _: None, resources=stage
    )


def _no_container_left() -> None:
    import os

    from envctl import engine

    assert engine.owned_containers({engine.PID_LABEL: str(os.getpid())}) == []


@pytest.mark.docker
def test_a_command_gate_runs_under_the_stage_s_cpu_quota_memory_limit_and_env(
    base_image: str,
) -> None:
    gate = CommandGate(run=["sh", "-c", _SHOW_LIMITS])

    result = runners.run_command(gate, _ctx(base_image, cpu=0.5, memory=64 * 2**20))

    assert result.passed, result.evidence
    assert "cpu 50000 100000 memory 67108864 extra swap 0" in result.evidence["output_tail"]
    assert "env from-the-stage" in result.evidence["output_tail"]
    assert result.evidence["limits"] == {"cpu": 0.5, "memory": "64Mi", "swap": "none"}
    _no_container_left()


@pytest.mark.docker
def test_a_stage_asking_more_cpus_than_the_host_has_runs_with_what_exists(
    base_image: str,
) -> None:
    from envctl import engine

    host = engine.host_cpus()
    gate = CommandGate(run=["sh", "-c", _SHOW_LIMITS])

    result = runners.run_command(gate, _ctx(base_image, cpu=host + 62))

    assert result.passed, result.evidence
    assert f"cpu {host * 100000} 100000 " in result.evidence["output_tail"]
    note = f"ran with {host} of {host + 62} CPUs"
    assert result.summary.endswith(f"({note})")
    assert result.evidence["limits"]["cpu"] == host
    assert result.evidence["limits"]["note"] == note


@pytest.mark.docker
def test_a_command_gate_over_the_stage_s_memory_fails_with_the_oom_named(
    base_image: str,
) -> None:
    gate = CommandGate(run=["python3", "-c", _ALLOCATE])

    result = runners.run_command(gate, _ctx(base_image, memory=64 * 2**20))

    assert result.status == "failed"
    assert result.summary == "killed: out of memory at 64Mi, prod's limit"
    assert result.evidence["oom_killed"] is True
    assert "survived" not in result.evidence["output_tail"]
    _no_container_left()


@pytest.mark.docker
def test_the_same_command_passes_where_the_stage_gives_it_enough_memory(
    base_image: str,
) -> None:
    gate = CommandGate(run=["python3", "-c", _ALLOCATE])

    result = runners.run_command(gate, _ctx(base_image, memory=512 * 2**20))

    assert result.passed, result.evidence
    assert "survived" in result.evidence["output_tail"]


@pytest.mark.docker
def test_an_http_gate_whose_server_dies_of_the_stage_s_memory_limit_says_so(
    base_image: str,
) -> None:
    from envctl.spec.project_file import Serve

    serve = Serve(
        command=["python3", "-c", _ALLOCATE + "; import time; time.sleep(60)"],
        port=8080,
        health="/health",
    )
    ctx = replace(_ctx(base_image, memory=64 * 2**20), serve=serve)

    result = runners.run_http(HttpGate(path="/predict", timeout=20), ctx)

    assert result.status == "failed"
    assert result.summary == "killed: out of memory at 64Mi, prod's limit"
    _no_container_left()


_CRASH = ["sh", "-c", "echo 'boom: missing weights'; exit 3"]


@pytest.mark.docker
@pytest.mark.parametrize("kind", ["http", "evaluate"])
def test_a_server_that_exits_at_start_fails_its_gate_with_its_log(
    base_image: str, kind: str
) -> None:
    # Was an engine error (exit 4): "exec in a container failed: Container … is not
    # running". A model that cannot start is the model's failure, with its reason.
    from envctl.gates import answers, evaluation
    from envctl.spec.project_file import Serve
    from envctl.spec.types import EvaluateGate, EvaluationSet

    serve = Serve(command=_CRASH, port=8080, health="/health")
    ctx = replace(_ctx(base_image), serve=serve)
    if kind == "http":
        result = runners.run_http(HttpGate(path="/predict", timeout=20), ctx)
    else:
        held = EvaluationSet(file="e.csv", classification="internal", label="y")
        data = evaluation.labelled_set("hold", held, b"x,y\n1,1\n")
        gate = validated(
            EvaluateGate, {"data": "hold", "require": {"accuracy": ">= 0.9"}, "timeout": 20}
        )
        result = answers.run_evaluate(gate, ctx, data, None)

    assert (result.kind, result.status) == (kind, "failed")
    assert "boom: missing weights" in result.evidence["server_log_tail"]
    if result.summary.startswith("the model's server"):  # else the client started first
        assert result.summary == (
            "the model's server exited before it answered; its log ends: boom: missing weights"
        )
    _no_container_left()
