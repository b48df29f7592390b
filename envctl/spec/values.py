"""Validated scalar values that may reach a Dockerfile, a shell or a comparison.

Everything here is pure. Patterns are deliberately narrow: a value that could
carry a newline, a space or a shell metacharacter into a rendered Dockerfile is
rejected at the spec boundary, not escaped later.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from envctl import image_ref as refs
from envctl import platforms

_PEP508_NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")
_EXTRAS = re.compile(r"^(?P<name>[^\[\]]+)(\[(?P<extras>[A-Za-z0-9._,-]+)\])?$")
_APT_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$")
_PYTHON = re.compile(r"^3\.[0-9]{1,2}(\.[0-9]{1,3})?$")
_WORD = re.compile(r"^[a-z][a-z0-9_-]*$")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SAFE_TEXT = re.compile(r"^[^\x00-\x1f\x7f]*$")
_SAFE_TOKEN = re.compile(r"^[^\s\x00-\x1f\x7f'\"`$\\;|&<>]+$")
_REL_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$")

_UNITS = {
    "": 1,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
    "t": 10**12,
    "ki": 2**10,
    "mi": 2**20,
    "gi": 2**30,
    "ti": 2**40,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_QUANTITY = re.compile(r"^(?P<num>[0-9]+(?:\.[0-9]+)?)\s?(?P<unit>[A-Za-z]*)$")


def package_key(raw: str) -> str:
    """`Scikit_Learn[Extra]` -> `scikit-learn[extra]`: PEP 503 name, sorted extras."""
    match = _EXTRAS.match(raw.strip())
    if not match or not _PEP508_NAME.match(match["name"]):
        raise ValueError(
            f"{raw!r} is not a valid package name (PEP 508: letters, digits, '.', '_', '-')"
        )
    name = canonicalize_name(match["name"])
    extras = match["extras"]
    if not extras:
        return name
    parts = sorted({canonicalize_name(e) for e in extras.split(",") if e})
    return f"{name}[{','.join(parts)}]"


def package_name(key: str) -> str:
    """The distribution name of a package key, without extras."""
    return key.split("[", 1)[0]


def specifier(raw: object) -> str:
    """A PEP 440 specifier set, normalised. `*` or empty means any version."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raise ValueError(
            f'write the version as a quoted specifier, e.g. "=={raw}"; YAML read a number'
        )
    if not isinstance(raw, str):
        raise ValueError('a package version must be a string such as "==1.26.4"')
    text = raw.strip()
    if text in ("", "*"):
        return "*"
    try:
        spec = SpecifierSet(text)
    except InvalidSpecifier:
        hint = f' (did you mean "=={text}"?)' if re.match(r"^[0-9][0-9A-Za-z.+!-]*$", text) else ""
        raise ValueError(f"{raw!r} is not a PEP 440 version specifier{hint}") from None
    return str(spec)


def pinned_version(spec: str) -> str | None:
    """The version of an exact `==X` pin (no wildcard), else None."""
    if spec.startswith("==") and "," not in spec and not spec.endswith(".*"):
        return spec[2:]
    if spec.startswith("===") and "," not in spec:
        return spec[3:]
    return None


def image_ref(raw: str) -> str:
    try:
        refs.parse(raw)
    except ValueError:
        raise ValueError(
            f"{raw!r} is not an image reference like 'python:3.11-slim' or "
            "'registry:5000/team/img@sha256:<64 hex>'"
        ) from None
    return raw


def image_digest(ref: str) -> str | None:
    try:
        return refs.parse(ref).digest
    except ValueError:
        return None


def apt_package(raw: str) -> str:
    if not _APT_NAME.match(raw):
        raise ValueError(
            f"{raw!r} is not a Debian package name (lowercase letters, digits, '+', '-', '.')"
        )
    return raw


def python_version(raw: object) -> str:
    if isinstance(raw, float):
        raise ValueError(
            f'YAML read this as the number {raw!r}; quote it (python: "3.10" is not python: 3.10)'
        )
    if isinstance(raw, int) and not isinstance(raw, bool):
        raise ValueError(f'write a major.minor version in quotes, e.g. "{raw}.11"')
    if not isinstance(raw, str) or not _PYTHON.match(raw):
        raise ValueError(f'{raw!r} is not a Python version like "3.11" or "3.11.9"')
    return raw


def platform(raw: str) -> str:
    """A platform of envctl's table: one that locks, wheels and the base-image check know."""
    return platforms.target(raw).name


def word(raw: str, what: str) -> str:
    if not _WORD.match(raw):
        raise ValueError(f"{raw!r} is not a valid {what} (lowercase letters, digits, '_', '-')")
    return raw


def env_key(raw: str) -> str:
    if not _ENV_KEY.match(raw):
        raise ValueError(f"{raw!r} is not an environment variable name")
    return raw


def safe_text(raw: str) -> str:
    if not _SAFE_TEXT.match(raw):
        raise ValueError("control characters and newlines are not allowed here")
    return raw


def safe_token(raw: str) -> str:
    if not _SAFE_TOKEN.match(raw):
        raise ValueError(f"{raw!r} may not contain spaces, quotes or shell characters")
    return raw


def relative_path(raw: str) -> str:
    parts = raw.split("/")
    if not _REL_PATH.match(raw) or ".." in parts:
        raise ValueError(f"{raw!r} must be a relative path inside the project, without '..'")
    return raw


def memory_bytes(raw: object) -> int:
    """`8Gi`, `8192Mi`, `8G`, `512M`, or a number of bytes -> bytes."""
    if isinstance(raw, bool):
        raise ValueError('memory must be a quantity such as "8Gi"')
    if isinstance(raw, int):
        return raw
    match = _QUANTITY.match(str(raw).strip())
    unit = match["unit"].lower() if match else None
    if not match or unit not in _UNITS:
        raise ValueError(f'{raw!r} is not a memory quantity like "8Gi", "512Mi" or "16G"')
    try:
        return int(Decimal(match["num"]) * _UNITS[unit])
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise ValueError(f"{raw!r} is not a number") from None


def format_bytes(value: int) -> str:
    """Bytes -> the largest binary unit that divides it exactly (`8Gi`)."""
    for unit, size in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if value and value % size == 0:
            return f"{value // size}{unit}"
    return str(value)


def cpu_count(raw: object) -> float:
    """`4`, `0.5` or Kubernetes-style `500m` -> cores."""
    if isinstance(raw, bool):
        raise ValueError('cpu must be a number of cores such as 4 or "500m"')
    if isinstance(raw, (int, float)):
        value = float(raw)
    elif isinstance(raw, str) and re.match(r"^[0-9]+m$", raw.strip()):
        value = int(raw.strip()[:-1]) / 1000
    else:
        raise ValueError(f'{raw!r} is not a number of cores such as 4, 0.5 or "500m"')
    if value <= 0:
        raise ValueError("cpu must be greater than 0")
    return value
