"""Rules for where packages come from: a package both sides declare, fetched
from another index on one side, is another build (PyPI's torch is not the cu128
index's torch) even at the same version."""

from __future__ import annotations

from collections.abc import Iterator

from envctl.diff.model import Finding, Side, make_finding
from envctl.diff.specifiers import by_distribution


def compare_indexes(left: Side, right: Side) -> Iterator[Finding]:
    if left.indexes is None or right.indexes is None:
        return  # a probe cannot tell where an installed package came from
    lnames, _ = by_distribution(left.packages)
    rnames, _ = by_distribution(right.packages)
    for name in sorted(lnames.keys() & rnames.keys()):
        a, b = left.index_for(name), right.index_for(name)
        if a == b:
            continue
        yield make_finding(
            left,
            right,
            "package.index",
            "error",
            f"sources.{name}",
            a,
            b,
            f"{name} comes from {a} in {left.label} and from {b} in {right.label}: "
            "another index serves another build of it (CUDA, CPU, patched).",
        )
