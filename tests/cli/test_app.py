"""The error boundary: one stderr line, the exit code, and under `--format json`
exactly one JSON document on stdout whatever the outcome (usage errors aside)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from envctl.cli.app import wants_json
from envctl.output.errors import ErrorDocument
from tests.cli.conftest import Invoke
from tests.conftest import git


@pytest.fixture
def project(git_repo: Path, invoke: Invoke) -> Path:
    assert invoke("init").code == 0
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "init")
    return git_repo


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["show", "prod", "--format", "json"], True),
        (["show", "prod", "-f", "json"], True),
        (["show", "prod", "--format=json"], True),
        (["show", "prod", "-fjson"], True),
        (["show", "prod", "--format", "yaml"], False),
        (["show", "prod", "--format"], False),
        (["show", "json"], False),
    ],
)
def test_wants_json_reads_every_spelling(args: list[str], expected: bool) -> None:
    assert wants_json(args) is expected


def test_unknown_environment_json_error_document(project: Path, invoke: Invoke) -> None:
    result = invoke("show", "nope", "--format", "json")
    assert result.code == 3
    doc = ErrorDocument.model_validate_json(result.out)
    assert doc.exit_code == 3
    assert doc.error.kind == "unknown_name"
    assert doc.error.message.startswith("unknown environment 'nope'")
    assert result.err.strip().splitlines() == [f"error: {doc.error.message}"]


def test_spec_error_json_names_file_line_and_key_path(project: Path, invoke: Invoke) -> None:
    spec = project / "environments" / "prod.yaml"
    lines = spec.read_text().splitlines()
    spec.write_text("\n".join([*lines, "colour: red"]) + "\n")
    result = invoke("show", "prod", "-f", "json")
    assert result.code == 3
    data = json.loads(result.out)
    assert data["schema_version"] == 1
    assert data["ok"] is False
    error = data["error"]
    assert (error["kind"], error["file"], error["line"], error["column"], error["key_path"]) == (
        "spec",
        "environments/prod.yaml",
        len(lines) + 1,
        1,
        "colour",
    )
    assert "unknown key 'colour'" in error["message"]


def test_usage_error_prints_no_json(project: Path, invoke: Invoke) -> None:
    result = invoke("show", "prod", "--format", "json", "--bogus")
    assert result.code == 2
    assert result.out == ""
    # click words it "No such option: --bogus" or "No such option '--bogus'." by version
    assert re.fullmatch(
        r"error: No such option:? '?--bogus'?\.? \(see envctl show --help\)\n", result.err
    )


def test_a_command_that_printed_its_document_gets_no_second_one(
    project: Path, invoke: Invoke
) -> None:
    spec = project / "environments" / "prod.yaml"
    spec.write_text(spec.read_text().replace('python: "3.11"', 'python: "3.12"'))
    result = invoke("diff", "dev", "prod", "--format", "json")
    assert result.code == 1
    data = json.loads(result.out)  # one document: json.loads rejects trailing data
    assert "error" not in data
    assert data["failed"] is True
    assert data["comparisons"][0]["summary"]["error"] >= 1
