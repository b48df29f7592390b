"""The `--format json` documents: frozen pydantic models with `schema_version`.

Fields are only ever added within a schema version; a rename or a removal bumps
it. The models live here, one module per family (`specs`: validate, show, list,
check; `diff`; `build`: lock, render, build, verify; `promotion`: register,
approve, status, history), so every layer can build them and `catalog` can name
them all: `envctl schema --output NAME` prints each one's JSON Schema, and a test
keeps docs/reference.md in step with them.
"""

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
