"""Reasoning about PEP 440 versions and specifiers, shared by the package rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from packaging.version import Version

# Why a drift of each grade matters, as finding messages say it.
WHY = {
    "major": "a major version apart, so APIs and results can differ",
    "minor": "a minor version apart, so defaults and behaviour may differ",
    "patch": "a patch apart, usually compatible but not what was tested",
    "build": "the same release, another build (a local version such as +cpu or +cu124 names it)",
}


def grade(a: Version, b: Version) -> str:
    """ "major", "minor" or "patch": the most significant release part that differs;
    "build" when only the local version does (torch 2.6.0 and 2.6.0+cpu)."""
    if a.public == b.public:
        return "build"
    ra = (*a.release, 0, 0, 0)
    rb = (*b.release, 0, 0, 0)
    if a.epoch != b.epoch or ra[0] != rb[0]:
        return "major"
    return "minor" if ra[1] != rb[1] else "patch"


def show(spec: str) -> str:
    return "any version" if spec == "*" else spec


def by_distribution(packages: Mapping[str, str]) -> tuple[Mapping[str, str], dict[str, str]]:
    """Key by distribution name; `scikit-learn[alldeps]` is scikit-learn with extras.
    Returns (name -> specifier, name -> extras) and skips the work when no key has extras."""
    if not any("[" in key for key in packages):
        return packages, {}
    specs: dict[str, str] = {}
    extras: dict[str, str] = {}
    for key, spec in packages.items():
        name, _, rest = key.partition("[")
        if rest:
            extras[name] = ",".join(
                sorted({*extras.get(name, "").split(","), *rest.rstrip("]").split(",")} - {""})
            )
        previous = specs.get(name)
        specs[name] = (
            spec if previous in (None, "*") else (previous if spec == "*" else f"{previous},{spec}")
        )
    return specs, extras


def parse_version(text: str) -> Version | None:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(text)
    except InvalidVersion:
        return None


def allows(spec: str, version: str) -> bool:
    """Does specifier `spec` admit `version`? Pre-releases count: a pin names one."""
    if spec == "*":
        return True
    from packaging.specifiers import SpecifierSet

    parsed = parse_version(version)
    return parsed is not None and SpecifierSet(spec).contains(parsed, prereleases=True)


def is_satisfiable(*specs: str) -> bool:
    """Can one version satisfy every specifier set? Intersects them as intervals
    (PEP 440 versions are dense, so a non-empty open interval holds a version)."""
    from packaging.specifiers import SpecifierSet

    lo: tuple[Version, bool] | None = None
    hi: tuple[Version, bool] | None = None
    excluded: list[Version] = []
    for text in specs:
        for item in SpecifierSet("" if text == "*" else text):
            for bound, version, inclusive in _bounds(item.operator, item.version):
                if bound == "ne":
                    excluded.append(version)
                elif bound == "lo" and (lo is None or _tighter_lo((version, inclusive), lo)):
                    lo = (version, inclusive)
                elif bound == "hi" and (hi is None or _tighter_hi((version, inclusive), hi)):
                    hi = (version, inclusive)
    if lo is None or hi is None or lo[0] < hi[0]:
        return True
    return lo[0] == hi[0] and lo[1] and hi[1] and lo[0] not in excluded


def _tighter_lo(new: tuple[Version, bool], old: tuple[Version, bool]) -> bool:
    # at the same version an exclusive bound (`>`) is the tighter one
    return (new[0], not new[1]) > (old[0], not old[1])


def _tighter_hi(new: tuple[Version, bool], old: tuple[Version, bool]) -> bool:
    return (new[0], new[1]) < (old[0], old[1])


def _bounds(op: str, text: str) -> list[tuple[str, Version, bool]]:
    if text.endswith(".*"):
        prefix = parse_version(text[:-2])
        if prefix is None or op != "==":
            return []  # `!=1.4.*` removes a slice; it rarely decides satisfiability
        return [
            ("lo", _dev0(prefix.epoch, prefix.release), True),
            ("hi", _dev0(prefix.epoch, _bump(prefix.release)), False),
        ]
    version = parse_version(text)
    if version is None:
        return []
    if op == "<" and not (version.is_prerelease or version.is_postrelease or version.local):
        # `<1.4` excludes 1.4's pre-releases too (PEP 440), so it ends below 1.4.dev0
        return [("hi", _dev0(version.epoch, version.release), False)]
    if op == "~=":
        return [
            ("lo", version, True),
            ("hi", _dev0(version.epoch, _bump(version.release[:-1])), False),
        ]
    table: dict[str, list[tuple[str, Version, bool]]] = {
        "==": [("lo", version, True), ("hi", version, True)],
        "===": [("lo", version, True), ("hi", version, True)],
        "!=": [("ne", version, True)],
        ">=": [("lo", version, True)],
        ">": [("lo", version, False)],
        "<=": [("hi", version, True)],
        "<": [("hi", version, False)],
    }
    return table.get(op, [])


def _bump(release: tuple[int, ...]) -> tuple[int, ...]:
    return (*release[:-1], release[-1] + 1) if release else (1,)


def _dev0(epoch: int, release: tuple[int, ...]) -> Version:
    from packaging.version import Version

    return Version(f"{epoch}!{'.'.join(map(str, release))}.dev0")
