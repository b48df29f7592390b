"""What the plain documents share: JSON as their models' `model_dump(mode="json")`
writes it. A plain document is a named tuple whose fields are its model's, in
the model's order (`schema_version`, the one field with a default in most, comes
last in the tuple and first in the JSON); tests/output hold each to its model.
Named tuples because a class of them is defined without generating code (a
dataclass costs its module several times as much at import, a pydantic model
far more)."""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple


def as_json(value: Any) -> Any:
    """A field's value as JSON data: nested documents by their `to_json()`."""
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, list | tuple):
        return [as_json(item) for item in value]
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    return value


def fields_json(item: NamedTuple) -> dict[str, Any]:
    return {name: as_json(value) for name, value in zip(item._fields, item, strict=True)}


def document_json(item: NamedTuple) -> dict[str, Any]:
    """A document's fields, `schema_version` first as in every JSON document."""
    fields = fields_json(item)
    return {"schema_version": fields.pop("schema_version"), **fields}
