"""The `--format json` documents: frozen pydantic models with `schema_version`.

Fields are only ever added within a schema version; a rename or a removal bumps
it. The models live here, one module per family (`specs`: validate, show, list,
check; `diff`; `build`: lock, render, build, verify; `promotion`: register,
approve, status, history), so every layer can build them and `catalog` can name
them all: `envctl schema --output NAME` prints each one's JSON Schema, and a test
keeps docs/reference.md in step with them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from envctl.output.base import Document, Item

__all__ = ["Document", "Item"]


def __getattr__(name: str) -> Any:
    """`Item` and `Document` are defined on first use (they import pydantic):
    `envctl status` imports envctl.output.registry, whose documents are plain."""
    if name in __all__:
        from envctl.output import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
