"""What the plain-document tests share: a plain document (a named tuple) against
the pydantic model it stands for, field by field."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pydantic import BaseModel


def json_keys(plain: type[Any], unprinted: Collection[str] = ()) -> list[str]:
    """A plain document's JSON keys, in the order to_json() writes them
    (`schema_version` first); `unprinted`: fields it carries and never prints."""
    fields = [f for f in plain._fields if f not in unprinted]
    if "schema_version" not in fields:
        return fields
    return ["schema_version", *(f for f in fields if f != "schema_version")]


def assert_same_defaults(plain: type[Any], model: type[BaseModel]) -> None:
    """A field the model fills in when absent is one the plain document fills in
    alike (a model's default list is a plain document's empty tuple)."""
    for name, field in model.model_fields.items():
        if field.is_required():
            assert name not in plain._field_defaults, name
        else:
            default = field.get_default(call_default_factory=True)
            mine = plain._field_defaults[name]
            assert (list(mine) if isinstance(default, list) else mine) == default, name
