"""examples/churn/retrain.sh, run end to end against real git and Docker: three
retrained versions through advance, prod's service checked by check-live, the
last one rolled back automatically. Asserts on the ledger it leaves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from envctl import registry as reg
from tests.conftest import REPO_ROOT, git

SCRIPT = REPO_ROOT / "examples" / "churn" / "retrain.sh"
RUN_TIMEOUT = 2400.0
COMMIT_LABELS = ("dev.envctl.model-commit", "dev.envctl.git-commit")


@pytest.fixture
def loop(
    base_image: str, tmp_path: Path
) -> Iterator[tuple[Path, subprocess.CompletedProcess[str]]]:
    """The script's run in tmp_path/churn; afterwards the images it built are removed."""
    work = tmp_path / "churn"
    try:
        proc = subprocess.run(
            ["bash", str(SCRIPT), str(work)],
            env=documented_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT,
            check=False,
        )  # fmt: skip
        yield work, proc
    finally:
        if (work / ".git").exists():
            _remove_images_built_from(work)


def documented_env(*first: Path) -> dict[str, str]:
    """The environment of someone who installed envctl and runs the script as the
    docs say: envctl and python3 on PATH (this test's virtual environment, as if
    activated), and none of the script's own variables."""
    env = {k: v for k, v in os.environ.items() if k not in ("ENVCTL", "PYTHON", "PORT")}
    path = [*map(str, first), str(Path(sys.executable).parent), env.get("PATH", "")]
    return {**env, "PATH": os.pathsep.join(path)}


def test_the_script_runs_the_envctl_on_path_not_itself(tmp_path: Path) -> None:
    """No ENVCTL set: the script's `envctl` shell function must call the program
    (before, it called itself until bash crashed). A stand-in envctl on PATH
    records its call and fails, which ends the script there; no Docker needed."""
    fake = tmp_path / "bin"
    fake.mkdir()
    calls = tmp_path / "calls"
    (fake / "envctl").write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexit 3\n')
    (fake / "envctl").chmod(0o755)
    proc = subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path / "churn")],
        env=documented_env(fake), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert calls.read_text() == "register churn v1.0.0\n"
    assert proc.stderr.count("$ envctl register churn v1.0.0\n") == 1


def _remove_images_built_from(repo: Path) -> None:
    from envctl import engine

    commits = set(git(repo, "rev-list", "--all").split())
    images = engine.client().images.list(filters={"label": COMMIT_LABELS[0]})
    images += engine.client().images.list(filters={"label": COMMIT_LABELS[1]})
    ours = {i.id: i for i in images if {i.labels.get(k) for k in COMMIT_LABELS} & commits}
    # Newest first: test layers are children of model images.
    for image in sorted(ours.values(), key=lambda i: i.attrs.get("Created", ""), reverse=True):
        engine.remove_image(str(image.id), force=True)


def envctl_json(work: Path, *args: str) -> Any:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "envctl"), *args, "--format", "json"],
        cwd=work, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(proc.stdout)


@pytest.mark.docker
def test_retrain_loop_promotes_refuses_and_rolls_back(
    loop: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    work, proc = loop
    assert proc.returncode == 0, proc.stderr[-4000:]
    history = envctl_json(work, "history", "churn")
    entered = {(e["version"], e["stage"]) for e in history["events"] if not e["rollback_of"]}
    # A went all the way; B was refused at prod (the margin) and stays in staging.
    assert {("v1.0.0", s) for s in ("dev", "staging", "prod")} <= entered
    assert {("v1.1.0", "dev"), ("v1.1.0", "staging")} <= entered
    assert ("v1.1.0", "prod") not in entered
    assert ("v1.2.0", "prod") in entered
    # C was rolled back by check-live, with its evidence: prod serves A again.
    newest = history["events"][0]
    assert (newest["stage"], newest["version"], newest["rollback_of"]) == (
        "prod",
        "v1.0.0",
        "v1.2.0",
    )
    assert newest["rollback_reason"] == "check-live failed"
    cause = reg.parse_record(git(work, "tag", "-l", "--format=%(contents)", newest["tag"]))
    assert cause is not None
    checks = cause["cause"]["checks"]
    assert [(c["kind"], c["status"]) for c in checks] == [("http", "failed")]
    assert checks[0]["evidence"]["status"] == 503
    status = envctl_json(work, "status", "churn")
    prod = status["models"][0]["stages"]["prod"]
    assert (prod["version"], prod["rollback_of"]) == ("v1.0.0", "v1.2.0")
    assert "v1.1.0  B: accuracy 0.979; advance exit 1" in proc.stdout
    assert "live check exit 1 (failed: prod rolled back to v1.0.0)" in proc.stdout
    assert "ROLLBACK of v1.2.0 (check-live failed)" in proc.stdout
