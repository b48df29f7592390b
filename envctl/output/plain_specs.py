"""validate, show and list documents as plain immutable data: what the spec
reading commands build and print. Their models, with descriptions and JSON
Schema, are in envctl.output.specs; building these instead keeps pydantic's
model machinery off `envctl validate`, `show` and `list`.
tests/output/test_plain_specs.py holds each to its model, field for field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from envctl.output.plain import document_json, fields_json

if TYPE_CHECKING:
    from envctl.errors import Location


class Validated(NamedTuple):
    """One spec's validation."""

    environment: str
    file: str
    valid: bool
    version: int | None = None
    fingerprint: str | None = None
    problems: Sequence[str] = ()
    # Where the first problem is, for the error document's file/line/column/key_path;
    # not printed in this document, whose problems already say it.
    location: Location | None = None

    def to_json(self) -> dict[str, Any]:
        fields = fields_json(self)
        del fields["location"]
        return fields


class ValidateDocument(NamedTuple):
    """envctl validate --format json: every spec's validation."""

    results: list[Validated]
    schema_version: Literal[1] = 1

    def to_json(self) -> dict[str, Any]:
        return document_json(self)


class ShowDocument(NamedTuple):
    """envctl show ENV --format json: the resolved spec, its version and fingerprint."""

    environment: str
    file: str
    version: int
    fingerprint: str
    spec: dict[str, Any]
    schema_version: Literal[1] = 1

    def to_json(self) -> dict[str, Any]:
        return document_json(self)


class Listed(NamedTuple):
    """One environment of the project."""

    name: str
    stage: int | None
    version: int | None
    fingerprint: str | None
    file: str
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return fields_json(self)


class ListDocument(NamedTuple):
    """envctl list --format json: the project's environments."""

    environments: list[Listed]
    schema_version: Literal[1] = 1

    def to_json(self) -> dict[str, Any]:
        return document_json(self)
