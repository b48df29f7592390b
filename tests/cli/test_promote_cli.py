"""promote/rollback wiring: a refused promotion still prints its outcome document
under --format json (stdout), keeps the one-line error (stderr) and its exit code.
The refusals here come before any image is built: no Docker."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from envctl.output.promotion import PromotionDocument
from tests.cli.conftest import Invoke
from tests.conftest import REPO_ROOT, git

SPEC = """\
name: {name}
version: 1
image:
  base: python:3.11-slim
python: "3.11"
gates:
  - metrics: {{file: metrics.json, require: {{accuracy: '>= 0.9'}}}}
"""


@pytest.fixture
def project(git_repo: Path, invoke: Invoke) -> Path:
    (git_repo / "envctl.yaml").write_text(
        "stages: [dev, staging]\nmodels:\n"
        "  tiny: {path: model, requires: {python: '>=3.11'}}\n"
        "  big: {path: model, requires: {python: '>=3.12', gpu: 1}}\n"
    )
    (git_repo / "environments").mkdir()
    for name in ("dev", "staging"):
        (git_repo / "environments" / f"{name}.yaml").write_text(SPEC.format(name=name))
    (git_repo / "model").mkdir()
    (git_repo / "model" / "metrics.json").write_text('{"accuracy": 0.95}\n')
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "init")
    for model in ("tiny", "big"):
        assert invoke("register", model, "v1.0.0").code == 0
    return git_repo


def tags(repo: Path) -> str:
    return git(repo, "tag", "-l", "*#*")


def test_promote_out_of_order_json_on_stdout(project: Path, invoke: Invoke) -> None:
    result = invoke("promote", "tiny@v1.0.0", "--to", "staging", "--format", "json")
    assert result.code == 1
    problem = "tiny@v1.0.0 has not entered dev, the stage before staging"
    assert result.err.strip().splitlines() == [
        f"error: {problem}; promote one stage at a time, or --force --reason TEXT "
        "to record a bypass"
    ]
    doc = PromotionDocument.model_validate_json(result.out)
    assert (doc.status, doc.model, doc.version, doc.stage) == (
        "blocked",
        "tiny",
        "v1.0.0",
        "staging",
    )
    assert (doc.from_stage, doc.order, doc.gates, doc.tag) == ("dev", problem, [], None)
    assert tags(project) == ""


def test_promote_incompatible_json_on_stdout(project: Path, invoke: Invoke) -> None:
    result = invoke("promote", "big", "--to", "dev", "--format", "json")
    assert result.code == 1
    assert result.err.strip().splitlines() == [
        "error: big@v1.0.0 is not compatible with dev: the model needs Python >=3.12; "
        "dev has 3.11 (+1 more)",
        "  the model needs 1 GPU(s); dev has 0",
    ]
    data = json.loads(result.out)
    assert data["status"] == "blocked"
    assert data["compatibility"] == [
        "the model needs Python >=3.12; dev has 3.11",
        "the model needs 1 GPU(s); dev has 0",
    ]
    assert (data["order"], data["planned_gates"], data["gates"]) == ("ok", ["metrics"], [])
    assert tags(project) == ""


def test_promote_refused_without_json_prints_nothing_on_stdout(
    project: Path, invoke: Invoke
) -> None:
    result = invoke("promote", "tiny@v1.0.0", "--to", "staging")
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith("error: tiny@v1.0.0 has not entered dev")


def test_promote_plan_json(project: Path, invoke: Invoke) -> None:
    result = invoke("promote", "tiny", "--to", "dev", "--plan", "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert (data["status"], data["version"], data["planned_gates"]) == (
        "planned",
        "v1.0.0",
        ["metrics"],
    )
    assert list(data) == list(PromotionDocument.model_fields)


def test_promote_plan_text(project: Path, invoke: Invoke) -> None:
    result = invoke("promote", "tiny", "--to", "dev", "--plan")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "plan: tiny@v1.0.0 -> dev",
        "  order: ok",
        "  gates: metrics",
    ]


def test_rollback_nothing_to_roll_back_is_an_error_document(project: Path, invoke: Invoke) -> None:
    result = invoke("rollback", "tiny", "--env", "dev", "--format", "json")
    assert result.code == 3
    data = json.loads(result.out)
    assert (data["ok"], data["error"]["kind"]) == (False, "invalid_input")
    assert data["error"]["message"] == "nothing to roll back: no version of tiny is in dev"


# ---- each gate's line as it ends (tests.commands.fake_gates: the CLI in a real
# process, stderr a pipe, the image build faked, metrics and approvals real) ----

GATED = {
    "dev": "[{metrics: {file: metrics.json, require: {accuracy: '>= 0.5'}}}, "
    "{metrics: {file: metrics.json, require: {accuracy: '>= 0.9'}}}]",
    "staging": "[{metrics: {file: metrics.json, require: {accuracy: '>= 0.99'}}}, "
    "{approvals: {required: 1}}]",
}
ELAPSED = r"\(\d+\.\d s\)"


def fake_gates(cwd: Path, *args: str) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.commands.fake_gates", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        text=True,
        capture_output=True,
        timeout=120,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def gated(git_repo: Path) -> Path:
    """churn@v1.0.0 (accuracy 0.95) registered; dev's two metrics gates pass it,
    staging's first fails it (so its approvals gate is skipped)."""
    (git_repo / "envctl.yaml").write_text(
        "stages: [dev, staging]\nmodels:\n  churn: {path: model}\n"
    )
    (git_repo / "environments").mkdir()
    for name, gates in GATED.items():
        spec = SPEC.split("gates:")[0].format(name=name) + f"gates: {gates}\n"
        (git_repo / "environments" / f"{name}.yaml").write_text(spec)
    (git_repo / "model").mkdir()
    (git_repo / "model" / "metrics.json").write_text('{"accuracy": 0.95}\n')
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "init")
    git(git_repo, "tag", "-a", "churn@v1.0.0", "-m", "v1.0.0")
    return git_repo


def test_promote_in_a_pipe_prints_one_line_per_gate_with_its_time(gated: Path) -> None:
    code, out, err = fake_gates(gated, "promote", "churn@v1.0.0", "--stage", "dev")

    assert code == 0, err
    gate_lines = [line for line in err.splitlines() if line.startswith("gate ")]
    assert len(gate_lines) == 2, err
    assert re.fullmatch(
        rf"gate 1/2 metrics: passed, accuracy 0\.95 >= 0\.5 {ELAPSED}", gate_lines[0]
    )
    assert re.fullmatch(
        rf"gate 2/2 metrics: passed, accuracy 0\.95 >= 0\.9 {ELAPSED}", gate_lines[1]
    )
    assert "running" not in err
    assert out.splitlines()[-1] == "promoted churn@v1.0.0 to dev: churn#dev#1"

    code, out, err = fake_gates(gated, "promote", "churn@v1.0.0", "--stage", "staging")

    assert code == 1
    gate_lines = [line for line in err.splitlines() if line.startswith("gate ")]
    assert re.fullmatch(
        rf"gate 1/2 metrics: failed, accuracy 0\.95 is not >= 0\.99 {ELAPSED}", gate_lines[0]
    )
    assert gate_lines[1:] == ["gate 2/2 approvals: skipped, not run: an earlier gate failed"]
    assert err.splitlines()[-1].startswith("error: gate metrics failed for churn@v1.0.0")


def test_promote_quiet_prints_only_the_result(gated: Path) -> None:
    code, out, err = fake_gates(gated, "promote", "churn@v1.0.0", "--stage", "dev", "--quiet")

    assert code == 0, err
    assert err == ""
    assert out.splitlines() == [
        "  passed  metrics: accuracy 0.95 >= 0.5",
        "  passed  metrics: accuracy 0.95 >= 0.9",
        "promoted churn@v1.0.0 to dev: churn#dev#1",
    ]


def test_promote_json_keeps_stdout_to_the_document_with_each_gates_seconds(gated: Path) -> None:
    code, out, err = fake_gates(gated, "promote", "churn@v1.0.0", "--stage", "dev", "-f", "json")

    assert code == 0, err
    assert err == ""
    doc = PromotionDocument.model_validate_json(out)
    assert [(g.kind, g.status) for g in doc.gates] == [("metrics", "passed")] * 2
    assert all(isinstance(g.seconds, float) and 0 <= g.seconds < 60 for g in doc.gates)

    code, out, err = fake_gates(
        gated, "promote", "churn@v1.0.0", "--stage", "staging", "-f", "json"
    )

    assert code == 1
    assert err.splitlines() == [
        "error: gate metrics failed for churn@v1.0.0 -> staging: accuracy 0.95 is not >= 0.99"
    ]
    data = json.loads(out)
    assert [(g["kind"], g["status"]) for g in data["gates"]] == [
        ("metrics", "failed"),
        ("approvals", "skipped"),
    ]
    assert isinstance(data["gates"][0]["seconds"], float)
    assert data["gates"][1]["seconds"] is None


def test_advance_in_a_pipe_prints_each_stages_gates(gated: Path) -> None:
    code, out, err = fake_gates(gated, "advance", "churn@v1.0.0")

    assert code == 1
    gate_lines = [re.sub(ELAPSED, "(T)", line) for line in err.splitlines() if "gate " in line]
    assert gate_lines == [
        "gate 1/2 metrics: passed, accuracy 0.95 >= 0.5 (T)",
        "gate 2/2 metrics: passed, accuracy 0.95 >= 0.9 (T)",
        "gate 1/2 metrics: failed, accuracy 0.95 is not >= 0.99 (T)",
        "gate 2/2 approvals: skipped, not run: an earlier gate failed",
        "error: gate metrics failed for churn@v1.0.0 -> staging: accuracy 0.95 is not >= 0.99",
    ]
    assert "promoted churn@v1.0.0 to dev: churn#dev#1" in out.splitlines()


def test_status_table_keeps_one_line_per_model_off_a_terminal(
    project: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Maximilian Alexander Featherstonehaugh-Whittington")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "maximilian.featherstonehaugh@example.com")
    for model in ("tiny", "big"):
        for number, stage in enumerate(("dev", "staging"), 1):
            git(project, "tag", "-a", f"{model}#{stage}#{number}", "-m", "assigned", "HEAD")
    result = invoke("status")
    assert result.code == 0, result.err
    lines = result.out.rstrip("\n").splitlines()
    assert [line.split()[0] for line in lines] == ["model", "big", "tiny"]
    assert all(line.count("featherstonehaugh@example.com") == 2 for line in lines[1:])
    assert max(len(line) for line in lines) > 120


def test_a_forced_promotion_says_what_it_bypassed(
    project: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from envctl.promotion import flow
    from tests.commands.fake_gates import run_without_image

    monkeypatch.setattr(flow, "_run", run_without_image)
    result = invoke("promote", "tiny@v1.0.0", "--to", "staging", "--force", "--reason", "INC-42")
    assert result.code == 0, result.err
    assert (
        "  BYPASSED (--force): tiny@v1.0.0 has not entered dev, the stage before staging; "
        "reason: INC-42"
    ) in result.out.splitlines()
    plain = invoke("promote", "big@v1.0.0", "--to", "dev", "--plan")
    assert "BYPASSED" not in plain.out
