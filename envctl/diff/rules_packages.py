"""Rules for the packages area between two declarations (spec vs spec, or two
probes); a spec against what a probe found installed is in `rules_installed`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from envctl.diff.model import Finding, Side, make_finding
from envctl.diff.rules_installed import compare_installed
from envctl.diff.specifiers import (
    WHY,
    allows,
    by_distribution,
    grade,
    is_satisfiable,
    parse_version,
    show,
)
from envctl.spec import values


def compare_packages(left: Side, right: Side) -> Iterator[Finding]:
    if left.installed is not None and right.installed is not None:
        yield from _declared(left, right, _as_pins(left.installed), _as_pins(right.installed))
    elif right.installed is not None:
        yield from compare_installed(left, right, spec_is_left=True)
    elif left.installed is not None:
        yield from compare_installed(right, left, spec_is_left=False)
    else:
        yield from _declared(left, right, left.packages, right.packages)


def _as_pins(installed: Mapping[str, str]) -> dict[str, str]:
    return {name: f"=={version}" for name, version in installed.items()}


def _declared(
    left: Side, right: Side, lpackages: Mapping[str, str], rpackages: Mapping[str, str]
) -> Iterator[Finding]:
    lspecs, lextras = by_distribution(lpackages)
    rspecs, rextras = by_distribution(rpackages)
    lname, rname = left.label, right.label
    for name, a in lspecs.items():
        b = rspecs.get(name)
        if b is None:
            yield make_finding(
                left,
                right,
                "package.missing",
                "error",
                f"packages.{name}",
                a,
                None,
                f"{name} ({show(a)}) is in {lname} but not in {rname}: code that "
                f"imports it will fail in {rname}.",
            )
        elif a != b:  # the fast path: most packages are written identically on both sides
            yield from _pair(left, right, name, a, b)
    for name, b in rspecs.items():
        if name not in lspecs:
            yield make_finding(
                left,
                right,
                "package.extra",
                "info",
                f"packages.{name}",
                None,
                b,
                f"{name} ({show(b)}) is in {rname} but not in {lname}: {rname} runs "
                f"with a package {lname} never tested with.",
            )
    if lextras or rextras:
        yield from _extras(left, right, lextras, rextras, rspecs.keys() & lspecs.keys())


def _extras(
    left: Side,
    right: Side,
    lextras: Mapping[str, str],
    rextras: Mapping[str, str],
    common: Iterable[str],
) -> Iterator[Finding]:
    for name in common:
        a, b = lextras.get(name, ""), rextras.get(name, "")
        if a != b:
            yield make_finding(
                left,
                right,
                "package.extras",
                "info",
                f"packages.{name}",
                f"[{a}]",
                f"[{b}]",
                f"{name} is installed with extras [{a}] in "
                f"{left.label} but [{b}] in {right.label}: optional features differ.",
            )


def _pair(left: Side, right: Side, name: str, a: str, b: str) -> Iterator[Finding]:
    pa, pb = values.pinned_version(a), values.pinned_version(b)
    if pa is not None and pb is not None:
        yield from _pins(left, right, name, a, b, pa, pb)
    elif pa is not None:
        yield from _pin_vs_range(left, right, name, a, b, pinned_left=True)
    elif pb is not None:
        yield from _pin_vs_range(left, right, name, a, b, pinned_left=False)
    elif is_satisfiable(a, b):
        yield make_finding(
            left,
            right,
            "package.specifier",
            "info",
            f"packages.{name}",
            a,
            b,
            f"{name} may be any version matching {show(a)} in {left.label} but "
            f"{show(b)} in {right.label}: they may install different versions.",
        )
    else:
        yield make_finding(
            left,
            right,
            "package.conflict",
            "error",
            f"packages.{name}",
            a,
            b,
            f"no version of {name} satisfies both {left.label} ({a}) and "
            f"{right.label} ({b}): they cannot run the same version.",
        )


def _pins(
    left: Side, right: Side, name: str, a: str, b: str, pa: str, pb: str
) -> Iterator[Finding]:
    va, vb = parse_version(pa), parse_version(pb)
    if va is not None and vb is not None and va == vb:
        return  # `==1.26` and `==1.26.0` are the same version
    how = grade(va, vb) if va is not None and vb is not None else "patch"
    yield make_finding(
        left,
        right,
        "package.version",
        "error" if how == "major" else "warning",
        f"packages.{name}",
        a,
        b,
        f"{name} is {pa} in {left.label} but {pb} in {right.label}: {WHY[how]}.",
    )


def _pin_vs_range(
    left: Side, right: Side, name: str, a: str, b: str, *, pinned_left: bool
) -> Iterator[Finding]:
    pin_side, range_side = (left, right) if pinned_left else (right, left)
    pin_spec, range_spec = (a, b) if pinned_left else (b, a)
    pin = pin_spec.lstrip("=")
    if allows(range_spec, pin):
        yield make_finding(
            left,
            right,
            "package.specifier",
            "info",
            f"packages.{name}",
            a,
            b,
            f"{range_side.label} accepts {name} {show(range_spec)} while "
            f"{pin_side.label} pins {pin}: {range_side.label} may run a different "
            "version.",
        )
    else:
        yield make_finding(
            left,
            right,
            "package.conflict",
            "error",
            f"packages.{name}",
            a,
            b,
            f"{pin_side.label} pins {name} {pin}, which {range_side.label}'s "
            f"{range_spec} does not allow: the two cannot run the same version.",
        )
