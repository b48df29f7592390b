"""Version order per ecosystem, as OSV ranges need it: PEP 440 for PyPI, dpkg's
order for Debian (python-debian, Debian's own implementation), SemVer 2.0 for
SEMVER ranges. Anything else cannot be ordered and says so."""

from __future__ import annotations

import re
from typing import Any


class Unparsable(ValueError):
    """A version that cannot be ordered in its ecosystem's scheme."""


_SEMVER = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)


def compare_key(scheme: str, version: str) -> Any:
    """A value that orders like `version` does in `scheme` (PyPI, Debian, SEMVER)."""
    if scheme == "PyPI":
        return _pep440(version)
    if scheme == "Debian":
        return _dpkg(version)
    if scheme == "SEMVER":
        return _semver(version)
    raise Unparsable(f"no version order known for {scheme}")


def _pep440(version: str) -> Any:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version)
    except InvalidVersion:
        raise Unparsable(f"{version!r} is not a PEP 440 version") from None


def _dpkg(version: str) -> Any:
    from debian.debian_support import Version

    try:
        return Version(version)
    except ValueError:
        raise Unparsable(f"{version!r} is not a Debian version") from None


def _semver(version: str) -> tuple[Any, ...]:
    m = _SEMVER.match(version)
    if m is None:
        raise Unparsable(f"{version!r} is not a SemVer version")
    core = (int(m["major"]), int(m["minor"]), int(m["patch"]))
    pre = m["pre"]
    if pre is None:
        return (*core, 1, ())  # a release sorts after its pre-releases
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (*core, 0, parts)
