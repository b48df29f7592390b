"""schema --output: the JSON Schema of each `--format json` document."""

from __future__ import annotations

import difflib
from typing import Any

from envctl.errors import UsageError
from envctl.output.catalog import DOCUMENTS

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def outputs() -> dict[str, str]:
    """Each output document's name and what prints it."""
    return {name: _first_line(model.__doc__) for name, model in DOCUMENTS.items()}


def output_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of what `envctl NAME --format json` prints."""
    model = DOCUMENTS.get(name)
    if model is None:
        close = difflib.get_close_matches(name, list(DOCUMENTS), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UsageError(f"no output named {name!r}; {hint}envctl schema --list names them")
    return {"$schema": JSON_SCHEMA_DIALECT, **model.model_json_schema(mode="serialization")}


def _first_line(text: str | None) -> str:
    return (text or "").strip().split("\n", 1)[0]
