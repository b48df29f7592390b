"""Rules for the data area: data classifications and sources each side may read,
and the evaluation sets each side's evaluate gates measure versions on."""

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


def compare_evaluation(left: Side, right: Side) -> Iterator[Finding]:
    """Where both sides measure versions (evaluate gates), they should measure on the
    same data: staging's numbers are evidence for prod only if prod's exam is the same.
    A side with no evaluate gate is not compared (dev may well decide on its tests)."""
    a, b = left.data, right.data
    if a is None or b is None or not a.evaluated or not b.evaluated:
        return
    ln, rn = left.label, right.label
    for name in sorted({*a.evaluated, *b.evaluated}):
        mine, theirs = a.evaluated.get(name), b.evaluated.get(name)
        if mine == theirs:
            continue
        if theirs is None:
            why = f"{ln} measures versions on {name} but {rn} does not"
        elif mine is None:
            why = f"{rn} measures versions on {name} but {ln} does not"
        else:
            why = f"{ln} and {rn} measure versions on different {name} data"
        yield make_finding(
            left,
            right,
            "data.evaluation",
            "warning",
            f"data.evaluation.{name}",
            mine.shown() if mine else None,
            theirs.shown() if theirs else None,
            f"{why}: what {ln} measured is no evidence of what {rn} will measure.",
        )
