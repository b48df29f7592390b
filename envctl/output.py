"""The base of every `--format json` document: a frozen pydantic model with
`schema_version`. Fields are only ever added within a schema version; a rename
or a removal bumps it. `envctl schema --output NAME` prints each document's
JSON Schema, and docs/reference.md is checked against them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Document(BaseModel):
    """One JSON output document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(description="the error family, e.g. spec, unknown_name, gate_failed, engine")
    message: str = Field(description="the one line also printed on stderr")
    details: list[str] = Field(default_factory=list, description="every problem, one per line")
    file: str | None = None
    line: int | None = None
    column: int | None = None
    key_path: str | None = Field(None, description="dotted path of the key, e.g. compute.memory")


class ErrorDocument(Document):
    """What `--format json` prints on stdout when a command fails (usage errors aside)."""

    ok: Literal[False] = False
    exit_code: int
    error: ErrorDetail
