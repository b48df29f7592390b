"""Where a stage's gates run: its `runner:` (the second real engine the tests start),
an unreachable runner, and a stage with GPUs on an engine that has none (this
machine's: refused, or run without them when the promoter accepts it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from envctl import engine
from tests.cli.conftest import Invoke
from tests.commands.test_promote import lock
from tests.conftest import git

pytestmark = pytest.mark.docker

SPEC = """\
name: dev
version: 1
image:
  base: {base}
python: "3.11"
{extra}gates:
  - command: {{run: [/opt/venv/bin/python, -c, 'import app']}}
"""


@pytest.fixture
def project(git_repo: Path, base_image: str) -> Path:
    (git_repo / "envctl.yaml").write_text("stages: [dev]\nmodels:\n  tiny: {path: model}\n")
    (git_repo / "environments").mkdir()
    write_dev(git_repo, base_image, "")
    (git_repo / "model").mkdir()
    # Content of its own, so the image is built here (and on the runner) for this test.
    (git_repo / "model" / "app.py").write_text(f"RUN = {uuid.uuid4().hex!r}\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "tiny v1")
    return git_repo


def write_dev(project: Path, base_image: str, extra: str) -> None:
    (project / "environments" / "dev.yaml").write_text(SPEC.format(base=base_image, extra=extra))
    lock(project, "dev")


def commit(project: Path, message: str) -> None:
    git(project, "add", "-A")
    git(project, "commit", "-qm", message)


def record(project: Path, tag: str) -> dict[str, Any]:
    message = git(project, "tag", "-l", "--format=%(contents)", tag)
    data: dict[str, Any] = json.loads(message.split("envctl-record: v1", 1)[1])
    return data


def own_containers() -> list[str]:
    return engine.owned_containers({engine.PID_LABEL: str(os.getpid())})


@pytest.fixture
def fresh_clients() -> Iterator[None]:
    engine.client.cache_clear()
    yield
    engine.client.cache_clear()


@pytest.mark.usefixtures("fresh_clients")
def test_a_stage_runner_builds_and_gates_on_that_engine_and_records_it(
    project: Path, invoke: Invoke, base_image: str, engine_b: str
) -> None:
    write_dev(project, base_image, f"runner: {engine_b}\n")
    commit(project, "dev's gates run on engine B")
    assert invoke("register", "tiny", "v1.0.0").code == 0

    result = invoke("promote", "--to", "dev")

    assert result.code == 0, result.err
    on_b = docker.DockerClient(base_url=engine_b)
    try:
        b_id = on_b.info()["ID"]
        data = record(project, "tiny#dev#1")
        [gate] = data["gates"]
        assert gate["status"] == "passed"
        assert gate["evidence"]["engine"] == {
            "url": engine_b,
            "id": b_id,
            "name": on_b.info()["Name"],
            "runner": True,
        }
        # The image gated and recorded is engine B's; this machine's engine has none.
        assert on_b.images.get(data["image"]["ref"]).id == data["image"]["id"]
        assert not engine.image_exists(data["image"]["ref"])
        assert on_b.containers.list(all=True, filters={"label": "dev.envctl.owner"}) == []
    finally:
        on_b.close()
    assert f"  gates ran on {gate['evidence']['engine']['name']} ({b_id}) at {engine_b}\n" in (
        result.out
    )


@pytest.mark.usefixtures("fresh_clients")
def test_an_unreachable_runner_is_one_line_naming_the_stage_and_url_and_writes_nothing(
    project: Path, invoke: Invoke, base_image: str
) -> None:
    write_dev(project, base_image, "runner: tcp://127.0.0.1:1\n")
    commit(project, "dev's gates run on a closed port")
    assert invoke("register", "tiny", "v1.0.0").code == 0
    plan = invoke("promote", "--to", "dev", "--plan")  # runs nothing, so reaches nothing
    assert plan.code == 0, plan.err
    assert "  gates run on: tcp://127.0.0.1:1 (runner:)\n" in plan.out

    result = invoke("promote", "--to", "dev")

    assert (result.code, result.out) == (4, "")
    assert result.err.splitlines()[-1] == (
        "error: dev's runner: the Docker Engine at tcp://127.0.0.1:1 refused the "
        "connection: start dockerd there or change the stage's runner:"
    )
    assert git(project, "tag", "-l", "tiny#*") == ""


GPU_REFUSED = (
    "error: dev declares 1 GPU but its gate engine {url} gives none (could not select "
    'device driver "" with capabilities: [[gpu]]); run dev\'s gates where GPUs are '
    '(runner:), or promote with --accept-no-gpu "REASON" to run them without GPUs, '
    "recorded as a bypass"
)


def test_a_stage_with_gpus_on_an_engine_without_is_refused_before_any_gate_runs(
    project: Path, invoke: Invoke, base_image: str
) -> None:
    write_dev(project, base_image, "compute: {gpu: 1}\n")
    commit(project, "dev has a GPU")
    assert invoke("register", "tiny", "v1.0.0").code == 0

    result = invoke("promote", "--to", "dev", "--format", "json")

    assert result.code == 1
    assert result.err.splitlines()[-1] == GPU_REFUSED.format(url=engine.engine_host())
    report = json.loads(result.out)
    assert (report["status"], report["gates"], report["gpu_bypass"]) == ("blocked", [], None)
    assert git(project, "tag", "-l", "tiny#*") == ""
    assert own_containers() == []


def test_accepting_no_gpu_runs_the_gates_without_and_records_the_bypass(
    project: Path, invoke: Invoke, base_image: str
) -> None:
    write_dev(project, base_image, "compute: {gpu: 1}\n")
    commit(project, "dev has a GPU")
    assert invoke("register", "tiny", "v1.0.0").code == 0
    blank = invoke("promote", "--to", "dev", "--accept-no-gpu", " ")
    assert (blank.code, blank.err) == (
        2,
        "error: --accept-no-gpu needs a reason: it is recorded as a bypass\n",
    )

    result = invoke("promote", "--to", "dev", "--accept-no-gpu", "CPU smoke test of the GPU stage")

    assert result.code == 0, result.err
    bypass = {
        "gpus": 1,
        "reason": "CPU smoke test of the GPU stage",
        "engine_said": 'could not select device driver "" with capabilities: [[gpu]]',
    }
    data = record(project, "tiny#dev#1")
    assert data["gpu_bypass"] == bypass
    [gate] = data["gates"]
    assert gate["evidence"]["gpu_bypass"] == bypass
    assert gate["evidence"]["engine"]["runner"] is False
    assert gate["summary"].endswith("(ran without the stage's 1 GPU: accepted)")
    assert data["bypass"] is None  # not a stage-order bypass: audit must not read it as one
    assert (
        "  BYPASSED (--accept-no-gpu): the gates ran without dev's 1 GPU(s); "
        "reason: CPU smoke test of the GPU stage\n"
    ) in result.out
    history = invoke("history", "tiny", "--format", "json")
    [event] = json.loads(history.out)["events"]
    assert (event["gpu_bypass_reason"], event["bypass_reason"]) == (bypass["reason"], None)
    assert "  NO GPU (accepted): CPU smoke test of the GPU stage" in invoke("history", "tiny").out
    audit = subprocess.run(
        [sys.executable, "-m", "envctl", "audit"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert own_containers() == []
