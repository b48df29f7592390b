"""From an import to the text of `environments/NAME.yaml`, and the defaults:
which format a file is, the environment's name, the base image."""

from __future__ import annotations

import json
import re
from pathlib import PurePath
from typing import Any

from envctl.spec.imports.model import DEFAULT_PLATFORM, Imported

DEFAULT_NAME = "imported"
# The base `envctl init` writes, for the imported Python.
BASE_IMAGE = "python:{python}-slim-bookworm"
_PLAIN_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_WORD_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")  # YAML reads it as a string as written
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def detect_format(filename: str, text: str | None = None) -> str | None:
    """By name when it tells (uv.lock, *.toml, *.yml / *.yaml, *.txt / *.in),
    else by content (`nanochat__uv.lock`, `deps`); None when neither does."""
    name = PurePath(filename).name.lower()
    if name == "uv.lock":
        return "uv-lock"
    if name.endswith(".toml"):
        return "pyproject"
    if name.endswith((".yml", ".yaml")):
        return "conda"
    if name.endswith((".txt", ".in")):
        return "requirements"
    return sniff_format(text) if text is not None else None


_REQUIREMENT_LINE = re.compile(r"^(-[-a-zA-Z]|[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[|[<>=!~;@]|$))")


def sniff_format(text: str) -> str | None:
    """The format a file's content has: a uv lock (top-level `version` and
    `[[package]]` tables with a `source`), a pyproject (`[project]` or
    `[build-system]`), a conda file (a YAML mapping with `dependencies`), a
    requirements file (every line a requirement, an option or a comment)."""
    toml = _toml(text)
    if toml is not None:
        packages = toml.get("package")
        if (
            isinstance(packages, list)
            and "version" in toml
            and all(isinstance(p, dict) and "source" in p for p in packages)
        ):
            return "uv-lock"
        if "project" in toml or "build-system" in toml:
            return "pyproject"
        return None  # TOML of another kind (poetry.lock, Pipfile)
    if _is_conda(text):
        return "conda"
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")
    ]
    if lines and all(_REQUIREMENT_LINE.match(line) for line in lines):
        return "requirements"
    return None


def _toml(text: str) -> dict[str, Any] | None:
    from envctl.errors import InputError
    from envctl.spec.imports.pyproject import load_toml

    try:
        data = load_toml(text, "")
    except InputError:
        return None
    return data or None


def _is_conda(text: str) -> bool:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and isinstance(data.get("dependencies"), list)


def default_name(operand: str) -> str:
    """The file's stem as an environment name (`requirements-dev.txt` ->
    `requirements-dev`); `imported` for an image or a stem that cannot be one."""
    if operand.startswith("image:"):
        return DEFAULT_NAME
    stem = PurePath(operand).stem.lower()
    name = re.sub(r"[^a-z0-9_-]+", "-", stem).strip("-_")
    return name if re.match(r"^[a-z][a-z0-9_-]*$", name) else DEFAULT_NAME


def base_image(python: str) -> str:
    return BASE_IMAGE.format(python=python)


def spec_text(name: str, imported: Imported, *, version: int = 1, schema: str | None = None) -> str:
    """The spec as YAML, in the layout `envctl init` writes."""
    source = _CONTROL.sub("?", imported.source)
    lines = [f"# yaml-language-server: $schema=../{schema}"] if schema else []
    lines += [
        f"# Written by `envctl import` from {source}.",
        f"name: {name}",
        f"version: {version}",
        f"description: {json.dumps(f'imported from {source}')}",
        "image:",
        f"  base: {base_image(imported.python)}",
    ]
    if imported.platform != DEFAULT_PLATFORM:
        lines.append(f"  platform: {imported.platform}")
    lines.append(f'python: "{imported.python}"')
    lines.append("packages:" if imported.packages else "packages: {}")
    for key, specifier in imported.packages:
        shown = key if _PLAIN_KEY.match(key) else json.dumps(key)
        lines.append(f"  {shown}: {json.dumps(specifier)}")
    lines += _routing_lines(imported)
    lines.append("system_packages: []")
    return "\n".join(lines) + "\n"


def _routing_lines(imported: Imported) -> list[str]:
    lines = ["indexes:"] if imported.indexes else []
    for index in imported.indexes:
        flags = "".join(
            f", {key}: true"
            for key, on in (("explicit", index.explicit), ("default", index.default))
            if on
        )
        name = index.name if _WORD_NAME.match(index.name) else json.dumps(index.name)
        lines.append(f"  - {{name: {name}, url: {json.dumps(index.url)}{flags}}}")
    if imported.sources:
        lines.append("sources:")
    for package, name in imported.sources:
        shown = name if _WORD_NAME.match(name) else json.dumps(name)
        lines.append(f"  {package}: {{index: {shown}}}")
    return lines
