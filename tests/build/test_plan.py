"""Resolving a model for an image (envctl/build/plan.py) against real git."""

from __future__ import annotations

from pathlib import Path

import pytest

from envctl.build import plan
from envctl.errors import InputError
from envctl.spec.loading import require_project
from tests.conftest import git


def make_project(repo: Path, outside: Path) -> None:
    """A project whose model folder is a committed symlink to `outside`."""
    outside.mkdir()
    (outside / "secret.txt").write_text("not for images\n")
    (repo / "envctl.yaml").write_text("models:\n  churn:\n    path: models/churn\n")
    (repo / "models").mkdir()
    (repo / "models" / "churn").symlink_to(outside)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "model")
    git(repo, "tag", "-a", "churn@v1.0.0", "-m", "v1")


def test_model_archive_refuses_a_symlink_out_of_the_repository(
    git_repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    make_project(git_repo, outside)
    project = require_project(git_repo)
    source = plan.resolve_model(project, "churn@v1.0.0")

    with pytest.raises(InputError) as info:
        plan.model_archive(project, source)

    assert info.value.exit_code == 3
    assert info.value.message == (
        f"models.churn.path 'models/churn' leaves the repository (it resolves to "
        f"{outside.resolve()}); keep the model's folder inside the repository"
    )


def test_model_relpath_of_a_project_below_the_repository_root(git_repo: Path) -> None:
    project_root = git_repo / "ml"
    project_root.mkdir()
    (project_root / "envctl.yaml").write_text("models:\n  churn:\n    path: models/churn\n")
    project = require_project(project_root)
    assert plan.model_relpath(project, "churn", git_repo) == "ml/models/churn"
