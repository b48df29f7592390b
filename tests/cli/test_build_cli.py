"""Wiring of build/render: a model version is read as promote reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from envctl.build import lockfile
from envctl.spec.loading import load_environment, require_project
from tests.cli.conftest import Invoke
from tests.conftest import git

REFUSED = "error: '1.3.0' is not a version like v1.2.3 (GTO's NAME@vMAJOR.MINOR.PATCH)"


@pytest.fixture
def project(git_repo: Path) -> Path:
    (git_repo / "environments").mkdir()
    (git_repo / "models" / "churn").mkdir(parents=True)
    (git_repo / "models" / "churn" / "serve.py").write_text("print('hi')\n")
    (git_repo / "envctl.yaml").write_text(
        "stages: [dev]\nmodels:\n  churn:\n    path: models/churn\n"
    )
    (git_repo / "environments" / "dev.yaml").write_text(
        'name: dev\nversion: 1\nimage:\n  base: python:3.11-slim\npython: "3.11"\n'
    )
    found = require_project(git_repo)
    lockfile.lock(found, load_environment("dev", found))  # no packages: uv is not run
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "project")
    git(git_repo, "tag", "-a", "churn@v1.3.0", "-m", "Registering artifact churn version v1.3.0")
    return git_repo


@pytest.mark.parametrize(
    "argv",
    [
        ("render", "dev", "--model", "churn@1.3.0"),
        ("build", "dev", "--model", "churn@1.3.0"),
        ("promote", "churn@1.3.0", "--to", "dev"),
    ],
)
def test_model_version_without_v_is_refused_alike(
    project: Path, invoke: Invoke, argv: tuple[str, ...]
) -> None:
    result = invoke(*argv)

    assert (result.code, result.err.strip()) == (3, REFUSED)


def test_render_reads_a_registry_version(project: Path, invoke: Invoke) -> None:
    result = invoke("render", "dev", "--model", "churn@v1.3.0")

    assert result.code == 0, result.err
    assert "LABEL" in result.out and '"churn@v1.3.0"' in result.out
