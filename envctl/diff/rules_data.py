"""Rules for the data area: data classifications and sources each side may read."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fnmatch import fnmatchcase

from envctl.diff.model import Finding, Side, make_finding


def source_covered(source: str, patterns: Iterable[str]) -> bool:
    """Is `source` (a glob) allowed by any of `patterns`?"""
    return any(source == p or fnmatchcase(source, p) for p in patterns)


def compare_data(left: Side, right: Side) -> Iterator[Finding]:
    a, b = left.data, right.data
    if a is None or b is None:
        return
    ln, rn = left.label, right.label
    for c in a.allowed:
        if c not in b.allowed:
            yield make_finding(
                left,
                right,
                "data.classification",
                "error",
                f"data.allowed.{c}",
                c,
                None,
                f"{ln} may read {c} data but {rn} may not: features the model "
                f"was built on may be missing at inference in {rn}.",
            )
    for c in b.allowed:
        if c not in a.allowed:
            yield make_finding(
                left,
                right,
                "data.classification",
                "warning",
                f"data.allowed.{c}",
                None,
                c,
                f"{rn} may read {c} data but {ln} may not: {rn} has data "
                "access that was never part of development.",
            )
    for s in a.sources:
        if not source_covered(s, b.sources):
            yield make_finding(
                left,
                right,
                "data.source",
                "warning",
                f"data.sources.{s}",
                s,
                None,
                f"{ln} reads {s} but {rn} may not: features built from it may be "
                f"missing at inference in {rn}.",
            )
    for s in b.sources:
        if not source_covered(s, a.sources):
            yield make_finding(
                left,
                right,
                "data.source",
                "warning",
                f"data.sources.{s}",
                None,
                s,
                f"{rn} may read {s} but {ln} does not: check that {rn} is meant to "
                "have this access.",
            )
