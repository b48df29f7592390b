"""`envctl schema`: the spec schemas as before, and each output document's schema."""

from __future__ import annotations

import json

import pytest

from envctl.commands.schema import output_schema, outputs
from envctl.errors import UsageError
from envctl.output.catalog import DOCUMENTS
from tests.cli.conftest import Invoke


def test_outputs_names_each_document_with_its_command() -> None:
    names = outputs()
    assert list(names) == list(DOCUMENTS)
    assert names["check"] == "envctl check --format json: what the CI step wants fixed."
    assert all(
        text.startswith(f"envctl {name} ") for name, text in names.items() if name != "error"
    )
    assert names["error"].startswith("envctl COMMAND --format json when COMMAND fails")


@pytest.mark.parametrize("name", DOCUMENTS)
def test_output_schema_is_the_models_serialization_schema(name: str) -> None:
    schema = output_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == DOCUMENTS[name].__name__
    assert schema["properties"]["schema_version"]["const"] == 1


def test_output_schema_unknown_name_suggests_one() -> None:
    with pytest.raises(UsageError) as info:
        output_schema("chek")
    assert info.value.message == (
        "no output named 'chek'; did you mean 'check'? envctl schema --list names them"
    )
    with pytest.raises(UsageError) as unknown:
        output_schema("deploy")
    assert unknown.value.message == "no output named 'deploy'; envctl schema --list names them"


def test_cli_schema_list(invoke: Invoke) -> None:
    result = invoke("schema", "--list")
    assert result.code == 0
    lines = result.out.splitlines()
    assert [line.split()[0] for line in lines] == list(DOCUMENTS)
    width = max(len(name) for name in DOCUMENTS) + 2  # names padded to the longest
    assert (
        lines[0]
        == "validate".ljust(width) + "envctl validate --format json: every spec's validation."
    )


def test_cli_schema_output(invoke: Invoke) -> None:
    result = invoke("schema", "--output", "diff")
    assert result.code == 0
    assert json.loads(result.out) == output_schema("diff")
    assert json.loads(invoke("schema", "-o", "status").out)["title"] == "StatusDocument"


def test_cli_schema_output_errors_exit_2(invoke: Invoke) -> None:
    unknown = invoke("schema", "--output", "nope")
    assert (unknown.code, unknown.out) == (2, "")
    assert unknown.err == "error: no output named 'nope'; envctl schema --list names them\n"
    both = invoke("schema", "project", "--output", "check")
    assert (both.code, both.err) == (2, "error: give project or --output/--list, not both\n")


def test_cli_schema_without_options_is_the_spec_schema(invoke: Invoke) -> None:
    default = json.loads(invoke("schema").out)
    assert json.loads(invoke("schema", "environment").out) == default
    assert default["title"] == "envctl environment"
    project = json.loads(invoke("schema", "project").out)
    assert "stages" in project["properties"]
