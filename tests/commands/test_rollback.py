"""rollback: the model named, what will happen said first, confirmation where
the stage asks for approvals. Real git; assignments written as envctl writes them."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from envctl import registry as reg
from tests.conftest import git
from tests.harness import Invoke


def assign(root: Path, model: str, version: str, stage: str, counter: int) -> None:
    data = reg.promotion_record(
        who_name="Ada Tester",
        who_email="ada@example.com",
        when=datetime(2025, 1, 2, tzinfo=timezone.utc),
        from_stage=None,
        env={},
        image=None,
        gates=[],
    )
    message = reg.format_record(f"ada@example.com promotes {model}@{version} to {stage}", data)
    git(
        root,
        "tag",
        "-a",
        reg.assignment_tag(model, stage, counter),
        "-m",
        message,
        version_ref(model, version),
    )


def version_ref(model: str, version: str) -> str:
    return f"refs/tags/{model}@{version}^{{commit}}"


@pytest.fixture
def two_versions_in_prod(git_repo: Path, invoke: Invoke) -> Path:
    assert invoke("init").code == 0  # prod's spec asks for one approval
    config = git_repo / "envctl.yaml"
    config.write_text(config.read_text().replace("models: {}", "models:\n  tiny:\n    path: model"))
    (git_repo / "model").mkdir()
    (git_repo / "model" / "app.py").write_text("v = 1\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "v1")
    assert invoke("register", "tiny", "v1.0.0").code == 0
    (git_repo / "model" / "app.py").write_text("v = 2\n")
    git(git_repo, "commit", "-qam", "v2")
    assert invoke("register", "tiny", "v1.1.0").code == 0
    assign(git_repo, "tiny", "v1.0.0", "prod", 1)
    assign(git_repo, "tiny", "v1.1.0", "prod", 2)
    return git_repo


def prod_tags(repo: Path) -> list[str]:
    return git(repo, "tag", "-l", "tiny#prod#*").splitlines()


def test_rollback_of_a_stage_with_approvals_needs_confirmation(
    two_versions_in_prod: Path, invoke: Invoke
) -> None:
    result = invoke("rollback", "tiny", "--stage", "prod")
    assert result.code == 2
    assert result.err == (
        "error: roll back prod: tiny@v1.1.0 -> tiny@v1.0.0? prod asks for approvals, so a "
        "rollback needs confirmation: answer at the prompt, or pass --yes (CI)\n"
    )
    assert prod_tags(two_versions_in_prod) == ["tiny#prod#1", "tiny#prod#2"]


def test_rollback_confirmed_says_what_and_records_it(
    two_versions_in_prod: Path, invoke: Invoke
) -> None:
    result = invoke("rollback", "tiny", "--stage", "prod", "--yes")
    assert result.code == 0, result.err
    assert "roll back prod: tiny@v1.1.0 -> tiny@v1.0.0" in result.err
    assert result.out == "restored tiny@v1.0.0 to prod (replacing v1.1.0): tiny#prod#3\n"
    assert prod_tags(two_versions_in_prod) == ["tiny#prod#1", "tiny#prod#2", "tiny#prod#3"]


def test_rollback_needs_the_model(two_versions_in_prod: Path, invoke: Invoke) -> None:
    result = invoke("rollback", "--stage", "prod", "--yes")
    assert result.code == 2
    assert "Missing argument 'NAME'" in result.err


def test_old_stage_spelling_still_works(two_versions_in_prod: Path, invoke: Invoke) -> None:
    assert invoke("rollback", "tiny", "--env", "prod", "--yes").code == 0
    clash = invoke("rollback", "tiny", "--stage", "prod", "--env", "dev", "--yes")
    assert clash.code == 2
    assert clash.err == "error: --stage prod and --env dev disagree; give --stage only\n"
