"""conda `environment.yml`: the Python from `python=3.11`, pins from the `pip:`
section. Conda packages are not carried: conda names are not PyPI names
(`pytorch` is `torch`) and many are system libraries (`openssl`, `libgcc-ng`),
so each is listed for the user to map by hand."""

from __future__ import annotations

import re
from typing import Any

import yaml

from envctl.errors import InputError
from envctl.spec.imports.model import Imported, Note, Options, choose_python
from envctl.spec.imports.requirements import Reader, parse_requirements

_CONDA_NAME = re.compile(r"^(?:[^:\s]+::)?(?P<name>[A-Za-z0-9_.-]+)\s*(?P<rest>.*)$")
# `=3.11`, `==3.11.5`, `=3.11.*`, ` 3.11.5 h955ad1f_0`, `=3.11.5=h955ad1f_0`
_PYTHON_PIN = re.compile(r"^(?:==?|\s)?\s*(?P<minor>3\.[0-9]+)(?:\.(?:[0-9]+|\*))?(?:[=\s].*)?$")
_CONDA_REASON = "a conda package; conda names are not PyPI names: add its PyPI name by hand"


def conda_python(dependencies: list[Any]) -> tuple[str | None, str | None]:
    """(the minor version a `python` dependency pins or None, the dependency as written)."""
    for dep in dependencies:
        match = _CONDA_NAME.match(dep) if isinstance(dep, str) else None
        if match and match["name"].lower() == "python":
            pinned = _PYTHON_PIN.match(match["rest"])
            return (pinned["minor"] if pinned else None), dep
    return None, None


def parse_conda(
    text: str, *, source: str, options: Options, read: Reader | None = None
) -> Imported:
    """Pins from the `pip:` section; every conda dependency listed as not carried."""
    data = _load(text, source)
    dependencies = data.get("dependencies") or []
    if not isinstance(dependencies, list):
        raise InputError(f"{source}: dependencies must be a list")
    found, written = conda_python(dependencies)
    python, origin, notes = choose_python(options, found, source=source)
    if found is not None and written is not None and found == python:
        notes.extend(_patch_note(written, found, source))
    pip_lines: list[str] = []
    skipped: list[Note] = []
    for dep in dependencies:
        if isinstance(dep, dict) and set(dep) == {"pip"} and isinstance(dep["pip"], list):
            pip_lines.extend(str(line) for line in dep["pip"])
        elif not (isinstance(dep, str) and _is_python(dep)):
            skipped.append(Note(_shown(dep), _reason(dep), source))
    skipped += [Note(key, reason, source) for key, reason in _KEY_REASONS.items() if data.get(key)]
    # The pip section is a requirements file inside the YAML: same rules, same
    # `-r` includes relative to this file, and the Python chosen here.
    pinned = Options(python=python, platform=options.platform)
    inner = parse_requirements(_in_place(text, pip_lines), source=source, options=pinned, read=read)
    return Imported(
        source=source,
        format="conda",
        python=python,
        python_from=origin,
        platform=options.platform,
        packages=inner.packages,
        not_carried=(*skipped, *inner.not_carried),
        adjusted=(*notes, *inner.adjusted),
        indexes=inner.indexes,
        sources=inner.sources,
    )


_KEY_REASONS = {
    "channels": "conda channels; a spec installs from a Python package index",
    "variables": "conda environment variables; add them under env: by hand",
}


def _in_place(text: str, entries: list[str]) -> str:
    """The pip entries as a requirements text, each on its own line of the YAML
    file (found by content, in order) so notes point at the right line."""
    lines = text.splitlines()
    out = [""] * len(lines)
    at = 0
    for entry in entries:
        found = next((i for i in range(at, len(lines)) if _item(lines[i]) == entry.strip()), None)
        if found is None:
            out.append(entry)
        else:
            out[found], at = entry, found + 1
    return "\n".join(out)


def _item(line: str) -> str:
    text = line.strip()
    return text[1:].strip().strip("\"'") if text.startswith("-") else ""


def _patch_note(written: str, found: str, source: str) -> list[Note]:
    """Say so when `python=3.11.5` is recorded as 3.11."""
    version = _CONDA_NAME.sub(r"\g<rest>", written).strip("= ").removesuffix(".*")
    if version == found:
        return []
    return [Note(written, f"recorded as python {found}: the spec names a minor version", source)]


def _load(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise InputError(f"{source}: not a conda environment file (no mapping of keys)")
    return data


def _is_python(dep: str) -> bool:
    match = _CONDA_NAME.match(dep)
    return bool(match and match["name"].lower() == "python")


def _reason(dep: object) -> str:
    if not isinstance(dep, str):
        return "not a conda dependency envctl reads"
    match = _CONDA_NAME.match(dep)
    if match and match["name"].lower() == "pip":
        return "the installer; every environment envctl builds has its own"
    return _CONDA_REASON


def _shown(dep: object) -> str:
    return dep if isinstance(dep, str) else yaml.safe_dump(dep, default_flow_style=True).strip()
