"""The base of every `--format json` document: a frozen pydantic model with
`schema_version`. Fields are only ever added within a schema version; a rename
or a removal bumps it. `envctl schema --output NAME` prints each document's
JSON Schema, and docs/reference.md is checked against them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class Document(BaseModel):
    """One JSON output document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
