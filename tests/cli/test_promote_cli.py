"""promote/rollback wiring: a refused promotion still prints its outcome document
under --format json (stdout), keeps the one-line error (stderr) and its exit code.
The refusals here come before any image is built: no Docker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envctl.output.promotion import PromotionDocument
from tests.cli.conftest import Invoke
from tests.conftest import git

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
