"""Each command's real `--format json` output validates against its document model.

build and verify need a Docker Engine: tests/build/test_image.py validates theirs.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from envctl import registry as reg
from envctl.output.build import LockDocument, RenderDocument
from envctl.output.diff import DiffDocument
from envctl.output.errors import ErrorDocument
from envctl.output.promotion import (
    ApproveDocument,
    HistoryDocument,
    RegisterDocument,
    StatusDocument,
)
from envctl.output.specs import CheckDocument, ListDocument, ShowDocument, ValidateDocument
from tests.cli.conftest import Invoke
from tests.conftest import git


@pytest.fixture
def initialised(git_repo: Path, invoke: Invoke) -> Path:
    assert invoke("init").code == 0
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "init")
    return git_repo


def test_validate_output(initialised: Path, invoke: Invoke) -> None:
    (initialised / "environments" / "staging.yaml").write_text("name: staging\n")
    result = invoke("validate", "--format", "json")
    assert result.code == 3
    error = ErrorDocument.model_validate_json(result.out)
    assert error.error.message.startswith("1 spec is invalid (staging): environments/staging.yaml")
    assert error.error.details[0].startswith("environments/staging.yaml")
    (initialised / "environments" / "staging.yaml").unlink()
    doc = ValidateDocument.model_validate_json(invoke("validate", "--format", "json").out)
    assert [(r.environment, r.valid) for r in doc.results] == [("dev", True), ("prod", True)]


def test_show_output_has_schema_version_and_the_spec(initialised: Path, invoke: Invoke) -> None:
    result = invoke("show", "prod", "--format", "json")
    assert result.code == 0
    doc = ShowDocument.model_validate_json(result.out)
    assert list(doc.to_json()) == [
        "schema_version", "environment", "file", "version", "fingerprint", "spec",
    ]  # fmt: skip
    assert (doc.environment, doc.file, doc.spec["name"]) == (
        "prod",
        "environments/prod.yaml",
        "prod",
    )


def test_list_output(initialised: Path, invoke: Invoke) -> None:
    (initialised / "environments" / "extra.yaml").write_text("name: extra\n")
    doc = ListDocument.model_validate_json(invoke("list", "--format", "json").out)
    extra = doc.environments[-1]
    assert (extra.name, extra.stage, extra.version) == ("extra", None, None)
    assert extra.error is not None and "required key 'version' is missing" in extra.error


def test_check_output(initialised: Path, invoke: Invoke) -> None:
    spec = initialised / "environments" / "prod.yaml"
    spec.write_text(spec.read_text().replace("==1.26.4", "==2.0.0"))
    result = invoke("check", "--format", "json")
    assert result.code == 1
    doc = CheckDocument.model_validate_json(result.out)
    assert (doc.base, doc.checked, doc.ok) == ("HEAD", 3, False)
    assert [(f.environment, f.kind) for f in doc.findings] == [("prod", "version-not-bumped")]


@pytest.mark.parametrize("args", [("dev", "prod"), ("--path",)], ids=["pair", "path"])
def test_diff_output(initialised: Path, invoke: Invoke, args: tuple[str, ...]) -> None:
    result = invoke("diff", *args, "--format", "json", "--fail-on", "never")
    assert result.code == 0
    doc = DiffDocument.model_validate_json(result.out)
    assert (doc.fail_on, doc.failed) == ("never", False)
    assert len(doc.comparisons) == (1 if args[0] == "dev" else 2)
    first = doc.comparisons[0]
    assert (first.left.name, first.left.kind, first.left.file) == (
        "dev",
        "spec",
        "environments/dev.yaml",
    )
    assert first.findings, "dev and prod differ in the scaffold"
    finding = first.findings[0]
    assert finding.left_location is not None and finding.left_location.line > 0


# ---- lock and render (uv resolves from the package index) ------------------------


@pytest.fixture
def locked(git_repo: Path, invoke: Invoke) -> Path:
    (git_repo / "envctl.yaml").write_text("stages: [dev]\n")
    (git_repo / "environments").mkdir()
    (git_repo / "environments" / "dev.yaml").write_text(
        "name: dev\nversion: 1\nimage:\n  base: python:3.11-slim\n"
        'python: "3.11"\npackages:\n  six: "==1.16.0"\n'
    )
    return git_repo


def test_lock_and_render_outputs(locked: Path, invoke: Invoke) -> None:
    result = invoke("lock", "dev", "--format", "json")
    assert result.code == 0, result.err
    lock = LockDocument.model_validate_json(result.out)
    assert (lock.lock, lock.packages, lock.changed) == ("environments/dev.lock", 1, True)
    rendered = invoke("render", "dev", "--format", "json")
    assert rendered.code == 0, rendered.err
    doc = RenderDocument.model_validate_json(rendered.out)
    assert (doc.environment, doc.system_install) == ("dev", False)
    assert doc.image == f"envctl/dev:{doc.fingerprint[:12]}"
    assert doc.dockerfile.startswith('# Rendered by envctl for "dev" v1.')


# ---- the registry -------------------------------------------------------------------


@pytest.fixture
def registered(initialised: Path, invoke: Invoke) -> Path:
    config = initialised / "envctl.yaml"
    config.write_text(config.read_text().replace("models: {}", "models:\n  tiny:\n    path: model"))
    git(initialised, "commit", "-qam", "model")
    result = invoke("register", "tiny", "v1.0.0", "--format", "json")
    assert result.code == 0, result.err
    doc = RegisterDocument.model_validate_json(result.out)
    assert (doc.tag, doc.commit, doc.pushed) == (
        "tiny@v1.0.0",
        git(initialised, "rev-parse", "HEAD"),
        False,
    )
    return initialised


def test_approve_output(registered: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "bob@example.com")  # not the version's author
    result = invoke("approve", "tiny@v1.0.0", "--for", "prod", "--format", "json")
    assert result.code == 0, result.err
    doc = ApproveDocument.model_validate_json(result.out)
    assert (doc.approver, doc.model, doc.version, doc.stage) == (
        "bob@example.com",
        "tiny",
        "v1.0.0",
        "prod",
    )


def assign(root: Path, stage: str, counter: int, **record: Any) -> None:
    data = reg.promotion_record(
        who_name="Ada Tester",
        who_email="ada@example.com",
        when=datetime(2025, 1, 2, tzinfo=timezone.utc),
        from_stage=None,
        env={},
        image=None,
        gates=[],
        **record,
    )
    message = reg.format_record(f"ada@example.com promotes tiny@v1.0.0 to {stage}", data)
    git(root, "tag", "-a", reg.assignment_tag("tiny", stage, counter), "-m", message)


def test_status_and_history_outputs(registered: Path, invoke: Invoke) -> None:
    assign(registered, "dev", 1)
    assign(registered, "staging", 2, bypass="hotfix", rollback_of="v0.9.0")
    status = StatusDocument.model_validate_json(invoke("status", "--format", "json").out)
    assert status.stages == ["dev", "staging", "prod"]
    (tiny,) = status.models
    assert (tiny.model, tiny.latest, tiny.stages["prod"]) == ("tiny", "v1.0.0", None)
    staging = tiny.stages["staging"]
    assert staging is not None
    assert (staging.n, staging.action, staging.bypass_reason, staging.rollback_of) == (
        2,
        "assign",
        "hotfix",
        "v0.9.0",
    )
    history = HistoryDocument.model_validate_json(invoke("history", "tiny", "--format", "json").out)
    assert [e.n for e in history.events] == [2, 1]
    assert [(v.version, v.by, v.active) for v in history.versions] == [
        ("v1.0.0", "ada@example.com", True)
    ]


def test_a_malformed_record_field_is_left_out(registered: Path, invoke: Invoke) -> None:
    data = {"kind": "promotion", "rollback_of": 7, "bypass": {"reason": ["x"]}}
    message = reg.format_record("someone promotes tiny@v1.0.0 to dev", data)
    git(registered, "tag", "-a", reg.assignment_tag("tiny", "dev", 1), "-m", message)
    result = invoke("history", "tiny", "--format", "json")
    assert result.code == 0, result.err
    (event,) = HistoryDocument.model_validate_json(result.out).events
    assert (event.rollback_of, event.bypass_reason, event.summary) == (
        None,
        None,
        "someone promotes tiny@v1.0.0 to dev",
    )
