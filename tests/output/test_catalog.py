"""The catalog of output documents, and docs/reference.md kept equal to it."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from envctl.output import Document, Item
from envctl.output.catalog import DOCUMENTS
from envctl.output.promotion import RegisterDocument
from tests.conftest import REPO_ROOT

REFERENCE = REPO_ROOT / "docs" / "reference.md"
CHAPTER = "## Output documents"


def test_catalog_names_every_document_once() -> None:
    assert {
        "validate", "show", "list", "check", "diff", "lock", "render", "build", "verify",
        "register", "approve", "status", "history",
    } <= set(DOCUMENTS)  # fmt: skip
    assert len(set(DOCUMENTS.values())) == len(DOCUMENTS)
    assert all(issubclass(model, Document) for model in DOCUMENTS.values())


@pytest.mark.parametrize("name", DOCUMENTS)
def test_document_schema_starts_with_schema_version(name: str) -> None:
    schema = DOCUMENTS[name].model_json_schema(mode="serialization")
    assert next(iter(schema["properties"])) == "schema_version"
    assert schema["properties"]["schema_version"]["const"] == 1
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])


def test_documents_are_frozen_and_strict() -> None:
    model = RegisterDocument
    doc = model(tag="m@v1.0.0", commit="c" * 40, pushed=False)
    assert doc.to_json() == {
        "schema_version": 1,
        "tag": "m@v1.0.0",
        "commit": "c" * 40,
        "pushed": False,
    }
    with pytest.raises(ValueError, match="frozen"):
        doc.tag = "other"  # type: ignore[misc]  # the point: assignment is refused
    with pytest.raises(ValueError, match="extra"):
        model.model_validate({**doc.to_json(), "surprise": 1})
    with pytest.raises(ValueError, match="schema_version"):
        model.model_validate({**doc.to_json(), "schema_version": 2})


# ---- docs/reference.md --------------------------------------------------------


def chapter() -> str:
    text = REFERENCE.read_text(encoding="utf-8")
    start = text.index(f"\n{CHAPTER}\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def sections() -> dict[str, str]:
    parts = re.split(r"^### (\S+)\n", chapter(), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def tables(section: str) -> Iterator[tuple[str, list[str]]]:
    """(header's first cell, backticked names of the first column) per table."""
    for block in re.findall(r"(?:^\|.*\n)+", section, flags=re.MULTILINE):
        rows = [line.split("|")[1].strip() for line in block.splitlines()]
        header, names = rows[0], [r.strip("`") for r in rows[2:]]
        yield header.strip("`"), names


def nested_model(annotation: object) -> type[BaseModel] | None:
    """The model inside list[X], dict[str, X], X | None, or X itself."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = nested_model(arg)
        if found is not None:
            return found
    return None


def model_at(document: type[BaseModel], path: str) -> type[BaseModel]:
    """`comparisons[].findings[]` -> the model of a finding of a comparison."""
    model = document
    for step in path.split("."):
        inner = nested_model(model.model_fields[step.rstrip("[]{}")].annotation)
        assert inner is not None, f"{path}: {step} holds no object"
        model = inner
    return model


def reachable(model: type[BaseModel]) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    for field in model.model_fields.values():
        inner = nested_model(field.annotation)
        if inner is not None and inner not in found:
            found |= {inner} | reachable(inner)
    return found


def test_reference_has_a_section_per_document_and_no_other() -> None:
    assert list(sections()) == list(DOCUMENTS)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_reference_tables_match_the_model(name: str) -> None:
    document = DOCUMENTS[name]
    found = list(tables(sections()[name]))
    assert found, f"### {name} has no field table"
    assert found[0][0] == "field", f"### {name}: the first table lists the document's fields"
    documented: set[type[BaseModel]] = set()
    for header, names in found:
        model = document if header == "field" else model_at(document, header)
        assert names == list(model.model_fields), f"### {name}, table {header}"
        documented.add(model)
    missing = {m.__name__ for m in reachable(document) - documented}
    assert not missing, f"### {name}: no table for {', '.join(sorted(missing))}"


def test_nested_model_reads_through_containers() -> None:
    class Inner(Item):
        x: int

    assert nested_model(list[Inner]) is Inner
    assert nested_model(dict[str, Inner | None]) is Inner
    assert nested_model(Inner | None) is Inner
    assert nested_model(list[str]) is None
