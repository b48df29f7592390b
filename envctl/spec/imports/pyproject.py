"""pyproject.toml: `[project] dependencies` as they are written, the Python from
`requires-python` when it allows one minor version (else --python is needed).
Optional dependencies and dependency groups are not installed by default, so
they are listed as not carried."""

from __future__ import annotations

import sys
from typing import Any

from envctl.errors import InputError
from envctl.spec.imports.model import (
    Collector,
    Imported,
    Note,
    Options,
    Target,
    choose_python,
    pin_from_requirement,
    pinned_minor,
)
from envctl.spec.imports.routing import from_uv_tables, with_routing

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def load_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML: {exc}") from None


def parse_pyproject(text: str, *, source: str, options: Options) -> Imported:
    """Pins from `[project] dependencies`; the Python is --python, else the one
    minor `requires-python` allows, else the running interpreter's when the
    range allows it (said in a note)."""
    data = load_toml(text, source)
    project = data.get("project")
    if not isinstance(project, dict):
        hint = "; export Poetry's with `poetry export` and import that" if _is_poetry(data) else ""
        raise InputError(f"{source} has no [project] table{hint}")
    requires = project.get("requires-python")
    requires = str(requires) if requires is not None else None
    found = pinned_minor(requires) if requires else None
    python, origin, notes = choose_python(options, found, source=source, allowed=requires)
    collector = Collector(Target(python, options.platform))
    dependencies = project.get("dependencies") or []
    for entry in _strings(dependencies, source, "dependencies"):
        found_pin = pin_from_requirement(entry, source=source, line=None)
        if isinstance(found_pin, Note):
            collector.not_carried.append(found_pin)
        else:
            collector.add(found_pin)
    collector.not_carried.extend(_not_installed(data, project, source))
    routing, routing_notes = from_uv_tables(_tool_uv(data), collector.target, source)
    collector.not_carried.extend(routing_notes)
    imported = collector.result(source=source, format="pyproject", python_from=origin, notes=notes)
    return with_routing(imported, routing)


def _tool_uv(data: dict[str, Any]) -> dict[str, Any]:
    tool = data.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    return uv if isinstance(uv, dict) else {}


def _not_installed(data: dict[str, Any], project: dict[str, Any], source: str) -> list[Note]:
    notes = []
    if "dependencies" in (project.get("dynamic") or []):
        notes.append(
            Note("dynamic dependencies", "computed by the build backend; not readable here", source)
        )
    for group, items in sorted((project.get("optional-dependencies") or {}).items()):
        notes.append(
            Note(
                f"optional-dependencies.{group} ({len(items)})",
                "an extra of the project, not installed by default",
                source,
            )
        )
    for group, items in sorted((data.get("dependency-groups") or {}).items()):
        notes.append(
            Note(
                f"dependency-groups.{group} ({len(items)})",
                "a dependency group (dev, test, ...), not installed by default",
                source,
            )
        )
    return notes


def _strings(raw: object, source: str, key: str) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise InputError(f"{source}: [project] {key} must be a list of strings")
    return list(raw)


def _is_poetry(data: dict[str, Any]) -> bool:
    tool = data.get("tool")
    return isinstance(tool, dict) and "poetry" in tool
