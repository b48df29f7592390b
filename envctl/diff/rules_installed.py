"""Rules for the packages area when one side is reality: a spec's packages and lock
against what a probe found installed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from envctl.diff.model import Finding, Side, make_finding
from envctl.diff.specifiers import WHY, allows, by_distribution, grade, parse_version, show
from envctl.spec import values

# Installer tooling lives in every venv and is never part of a lock.
_TOOLING = frozenset({"pip", "setuptools", "wheel"})


def compare_installed(spec: Side, real: Side, *, spec_is_left: bool) -> Iterator[Finding]:
    """A spec's packages (and lock) against what a probe found installed."""
    installed = real.installed or {}
    wanted, _ = by_distribution(spec.packages)
    left, right = (spec, real) if spec_is_left else (real, spec)
    reported: set[str] = set()
    for name, want in wanted.items():
        finding = _check_installed(left, right, spec, real, name, want, installed.get(name))
        if finding is not None:
            reported.add(name)
            yield finding
    locked = spec.locked or {}
    for name, version in locked.items():
        if name in reported or values.pinned_version(wanted.get(name, "")) is not None:
            continue
        finding = _check_installed(
            left,
            right,
            spec,
            real,
            name,
            f"=={version}",
            installed.get(name),
            what=f"{spec.label}'s lock",
        )
        if finding is not None:
            yield finding
    if locked:
        yield from _unlocked(left, right, spec, real, installed, locked, wanted)


def _check_installed(
    left: Side,
    right: Side,
    spec: Side,
    real: Side,
    name: str,
    want: str,
    have: str | None,
    what: str | None = None,
) -> Finding | None:
    what = what or spec.label
    path = f"packages.{name}"
    lv, rv = (want, have) if left is spec else (have, want)
    if have is None:
        return make_finding(
            left,
            right,
            "package.missing",
            "error",
            path,
            lv,
            rv,
            f"{what} requires {name} {show(want)} but it is not installed in {real.label}.",
        )
    pin = values.pinned_version(want)
    if pin is not None:
        vpin, vhave = parse_version(pin), parse_version(have)
        if (vpin == vhave) if vpin is not None and vhave is not None else pin == have:
            return None
        how = grade(vpin, vhave) if vpin is not None and vhave is not None else "patch"
        return make_finding(
            left,
            right,
            "package.version",
            "error" if how == "major" else "warning",
            path,
            lv,
            rv,
            f"{what} pins {name} {pin} but {real.label} has {have} installed: {WHY[how]}.",
        )
    if allows(want, have):
        return None
    return make_finding(
        left,
        right,
        "package.conflict",
        "error",
        path,
        lv,
        rv,
        f"{real.label} has {name} {have} installed, which {what}'s {want} does not allow.",
    )


def _unlocked(
    left: Side,
    right: Side,
    spec: Side,
    real: Side,
    installed: Mapping[str, str],
    locked: Mapping[str, str],
    wanted: Mapping[str, str],
) -> Iterator[Finding]:
    for name, have in installed.items():
        if name in locked or name in wanted or name in _TOOLING:
            continue
        lv, rv = (None, have) if left is spec else (have, None)
        yield make_finding(
            left,
            right,
            "package.extra",
            "info",
            f"packages.{name}",
            lv,
            rv,
            f"{name} {have} is installed in {real.label} but is not in {spec.label}'s lock.",
        )
