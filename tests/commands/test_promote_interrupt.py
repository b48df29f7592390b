"""Ctrl-C or a kill in the middle of a gate: no assignment tag, no container left."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.commands.test_promote import write_minimal_project
from tests.conftest import git


@pytest.fixture
def slow_gate(git_repo: Path, base_image: str) -> Path:
    write_minimal_project(git_repo, base_image, stages=("dev",))
    spec = git_repo / "environments" / "dev.yaml"
    spec.write_text(
        spec.read_text().replace("gates: []", "gates:\n  - command: {run: [sleep, '120']}")
    )
    git(git_repo, "commit", "-qam", "a slow gate")
    git(git_repo, "tag", "-a", "tiny@v1.0.0", "-m", "v1.0.0")
    return git_repo


def start_promotion(repo: Path) -> tuple[subprocess.Popen[str], list[str]]:
    """Start `envctl promote --to dev` and wait until its gate container runs."""
    from envctl import engine

    proc = subprocess.Popen(
        [sys.executable, "-m", "envctl", "promote", "--to", "dev"],
        cwd=repo,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        found = engine.owned_containers({engine.PID_LABEL: str(proc.pid)})
        if found:
            return proc, found
        if proc.poll() is not None:
            pytest.fail(f"promote ended early: {proc.communicate()}")
        time.sleep(0.2)
    proc.kill()
    pytest.fail("the gate container never started")


@pytest.mark.docker
def test_ctrl_c_during_a_gate_leaves_no_tag_and_no_container(slow_gate: Path) -> None:
    from envctl import engine

    proc, containers = start_promotion(slow_gate)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "error: interrupted"
    assert "Traceback" not in err
    assert git(slow_gate, "tag", "-l", "tiny#*") == ""
    assert set(engine.owned_containers()) & set(containers) == set()


@pytest.mark.docker
def test_kill_during_a_gate_leaves_no_tag_and_the_next_run_reaps(slow_gate: Path) -> None:
    from envctl import engine

    proc, containers = start_promotion(slow_gate)
    proc.kill()
    proc.communicate(timeout=60)
    assert git(slow_gate, "tag", "-l", "tiny#*") == ""
    assert set(containers) <= set(engine.owned_containers())  # a kill cannot clean up
    assert set(engine.reap_orphans()) >= set(containers)
    assert set(engine.owned_containers()) & set(containers) == set()
