"""conda `environment.yml`: the Python from `python=3.11` (or the range of
`python >=3.8`), pins from the `pip:` section, and conda packages mapped to
PyPI names (`pytorch` is `torch`) through `conda_names`; native libraries
(`libgomp`) point to `system_packages` with their Debian name, CUDA packages
to the stage's GPU, and names the mapping does not know are listed."""

from __future__ import annotations

import re
from typing import Any

import yaml

from envctl.errors import InputError
from envctl.spec import values
from envctl.spec.imports.conda_names import map_conda_name
from envctl.spec.imports.model import Imported, Note, Options, choose_python
from envctl.spec.imports.requirements import Reader, parse_requirements

_CONDA_NAME = re.compile(r"^(?:[^:\s]+::)?(?P<name>[A-Za-z0-9_.-]+)\s*(?P<rest>.*)$")
# `=3.11`, `==3.11.5`, `=3.11.*`, ` 3.11.5 h955ad1f_0`, `=3.11.5=h955ad1f_0`
_PYTHON_PIN = re.compile(r"^(?:==?|\s)?\s*(?P<minor>3\.[0-9]+)(?:\.(?:[0-9]+|\*))?(?:[=\s].*)?$")


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
    """Pins from the conda dependencies that map to PyPI projects and from the
    `pip:` section; every other conda dependency listed with where it belongs."""
    data = _load(text, source)
    dependencies = data.get("dependencies") or []
    if not isinstance(dependencies, list):
        raise InputError(f"{source}: dependencies must be a list")
    found, written = conda_python(dependencies)
    allowed = _python_range(written) if written is not None and found is None else None
    python, origin, notes = choose_python(
        options, found, source=source, allowed=allowed, allowed_as=written
    )
    if found is not None and written is not None and found == python:
        notes.extend(_patch_note(written, found, source))
    lines = text.splitlines()
    placed: list[tuple[str, str]] = []  # (the entry as written, the requirement it becomes)
    skipped: list[Note] = []
    for dep in dependencies:
        if isinstance(dep, dict) and set(dep) == {"pip"} and isinstance(dep["pip"], list):
            placed.extend((str(line), str(line)) for line in dep["pip"])
        elif isinstance(dep, str) and _is_python(dep):
            continue
        elif isinstance(dep, str) and _CONDA_NAME.match(dep) and not _is_pip(dep):
            line = _line_of(lines, dep)
            requirement, note = _mapped(dep, source, line)
            if requirement is None:
                skipped.append(note)
            else:
                placed.append((dep, requirement))
                notes.append(note)
        else:
            skipped.append(Note(_shown(dep), _reason(dep), source))
    skipped += [Note(key, reason, source) for key, reason in _KEY_REASONS.items() if data.get(key)]
    # The pip section is a requirements file inside the YAML: same rules, same
    # `-r` includes relative to this file, and the Python chosen here; mapped
    # conda packages join it on their own lines, so duplicates merge as in pip.
    pinned = Options(python=python, platform=options.platform)
    inner = parse_requirements(_in_place(text, placed), source=source, options=pinned, read=read)
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


def _mapped(dep: str, source: str, line: int | None) -> tuple[str | None, Note]:
    """(the PEP 508 requirement a conda dependency becomes, or None; the note saying so)."""
    match = _CONDA_NAME.match(dep)
    assert match is not None
    conda = match["name"]
    found = map_conda_name(conda)
    if found.kind == "native":
        return None, Note(dep, _native_reason(found.name), source, line)
    if found.kind == "cuda":
        return None, Note(dep, _CUDA_REASON, source, line)
    if found.kind == "unknown":
        return None, Note(dep, _UNKNOWN_REASON, source, line)
    specifier, dropped = conda_specifier(match["rest"])
    if specifier is None:
        return None, Note(dep, f"{dropped}; add it by hand", source, line)
    shown = "" if specifier == "*" else specifier
    via = "same name on PyPI" if found.name == conda.lower() else f"PyPI name of {conda}"
    reason = f"carried as {found.name}{shown} ({via}, {_ORIGINS[found.origin]})"
    if dropped:
        reason += f"; {dropped}"
    return f"{found.name}{shown}", Note(dep, reason, source, line)


_ORIGINS = {"envctl": "envctl's conda table", "grayskull": "grayskull's conda-PyPI mapping"}
_CUDA_REASON = (
    "CUDA is not a package here: it comes with the NVIDIA driver and the wheels (torch's "
    "nvidia-* dependencies); give the stage its GPU under compute.gpu and route torch to "
    "a CUDA index under indexes:/sources:"
)
_UNKNOWN_REASON = (
    "not in the conda-PyPI mapping (grayskull's, envctl's); add its PyPI name by hand if it "
    "is a Python package, or its Debian name under system_packages if it is a library"
)


def _native_reason(debian: str) -> str:
    if not debian:
        return "conda's own runtime plumbing; a Debian image needs nothing for it"
    return (
        "a native library, not a Python package; wheels bundle what they link, else add "
        f"system_packages: [{debian}] (its Debian bookworm name)"
    )


_VERSION_CHARS = re.compile(r"^[0-9A-Za-z.*+!_-]+$")


def conda_specifier(rest: str) -> tuple[str | None, str]:
    """A conda version spec (`=1.26.4`, `=1.26`, `>=1.2,<2`, ` 1.26.4 py311h_0`,
    `=1.26.4=py311_0`) -> (a PEP 440 specifier or None, what was dropped or why not)."""
    text = rest.strip()
    if not text:
        return "*", ""
    if "|" in text or text.startswith("["):
        return None, f"conda version spec {text!r} has no PEP 440 equivalent"
    build = ""
    if text[0].isdigit():  # `numpy 1.26.4 py311h_0`: version, then build
        version, _, build = text.partition(" ")
        spec = f"=={version}"
    elif text.startswith("=") and not text.startswith("=="):  # conda's fuzzy `=`
        version, _, build = text[1:].partition("=")
        spec = f"=={_fuzzy(version)}"
    else:
        head, _, build = text.partition(" ")
        if head.startswith("==") and "=" in head[2:]:
            head, _, build = head[2:].partition("=")
            head = f"=={head}"
        spec = head
    try:
        checked = values.specifier(spec)
    except ValueError:
        return None, f"conda version spec {text!r} is not a PEP 440 specifier"
    dropped = f"build {build.strip()!r} dropped (a conda build, not a wheel)" if build else ""
    return checked, dropped


def _fuzzy(version: str) -> str:
    """conda's `=1.26` is `1.26.*`; `=1.26.4` names the release."""
    if version.endswith("*") or not _VERSION_CHARS.match(version):
        return version if version.endswith(".*") else version.rstrip("*").rstrip(".") + ".*"
    return version if version.count(".") >= 2 else f"{version}.*"


def _python_range(written: str) -> str | None:
    """`python >=3.8` -> `>=3.8`, as the range --python or the interpreter must satisfy."""
    match = _CONDA_NAME.match(written)
    specifier, _ = conda_specifier(match["rest"]) if match else (None, "")
    return specifier if specifier not in (None, "*") else None


def _line_of(lines: list[str], dep: str) -> int | None:
    for number, line in enumerate(lines, 1):
        if _item(line) == dep.strip():
            return number
    return None


_KEY_REASONS = {
    "channels": "conda channels; a spec installs from a Python package index",
    "variables": "conda environment variables; add them under env: by hand",
}


def _in_place(text: str, entries: list[tuple[str, str]]) -> str:
    """The entries (as written, as a requirement) as a requirements text, each on
    its own line of the YAML file (found by content) so notes point at the right line."""
    lines = text.splitlines()
    out = [""] * len(lines)
    at = 0
    for written, requirement in entries:
        found = next((i for i in range(at, len(lines)) if _item(lines[i]) == written.strip()), None)
        if found is None:
            out.append(requirement)
        else:
            out[found], at = requirement, found + 1
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
    return "not a conda dependency envctl reads"


def _is_pip(dep: str) -> bool:
    match = _CONDA_NAME.match(dep)
    return bool(match and match["name"].lower() == "pip")


def _shown(dep: object) -> str:
    return dep if isinstance(dep, str) else yaml.safe_dump(dep, default_flow_style=True).strip()
