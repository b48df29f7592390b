"""The base classes of the `--format json` documents (envctl.output names them:
`from envctl.output import Document, Item`). Their own module so that importing
a plain document module (envctl.output.registry) does not import pydantic."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Item(BaseModel):
    """An object inside a document."""

    # Serialization-mode schemas list every field as required: every one is printed.
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_serialization_defaults_required=True,
        # Built on first use: a table-printing command never pays for its JSON model.
        defer_build=True,
    )

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Document(Item):
    """One JSON output document."""

    schema_version: Literal[1] = Field(1, description="Version of this document's shape.")
