"""The error document: what `--format json` prints when a command fails."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from envctl.output import Document, Item


class ErrorDetail(Item):
    """What failed, and where when known."""

    kind: str = Field(description="the error family, e.g. spec, unknown_name, gate_failed, engine")
    message: str = Field(description="the one line also printed on stderr")
    details: list[str] = Field(default_factory=list, description="every problem, one per line")
    file: str | None = None
    line: int | None = None
    column: int | None = None
    key_path: str | None = Field(None, description="dotted path of the key, e.g. compute.memory")


class ErrorDocument(Document):
    """envctl COMMAND --format json when COMMAND fails: the error (usage errors aside)."""

    ok: Literal[False] = False
    exit_code: int
    error: ErrorDetail
