"""From an import to the text of `environments/NAME.yaml`, and the defaults:
which format a file is, the environment's name, the base image."""

from __future__ import annotations

import json
import re
from pathlib import PurePath

from envctl.spec.imports.model import DEFAULT_PLATFORM, Imported

DEFAULT_NAME = "imported"
# The base `envctl init` writes, for the imported Python.
BASE_IMAGE = "python:{python}-slim-bookworm"
_PLAIN_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def detect_format(filename: str) -> str | None:
    """By name: uv.lock, *.toml (pyproject), *.yml / *.yaml (conda), any other
    lock file None (unknown), anything else a requirements file."""
    name = PurePath(filename).name.lower()
    if name == "uv.lock":
        return "uv-lock"
    if name.endswith(".lock"):
        return None
    if name.endswith(".toml"):
        return "pyproject"
    if name.endswith((".yml", ".yaml")):
        return "conda"
    return "requirements"


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
    lines.append("system_packages: []")
    return "\n".join(lines) + "\n"
