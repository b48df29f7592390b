"""Rules for the promotion policy area: `policy:` (soak, auto, windows, freeze,
timezone, live). A policy says when a version may enter a stage, not what runs
there, so its differences are shown (info) and never block a diff."""

from __future__ import annotations

from collections.abc import Iterator

from envctl.diff.model import Finding, Side, make_finding


def compare_policy(left: Side, right: Side) -> Iterator[Finding]:
    a, b = left.policy, right.policy
    if a is None or b is None:  # reality has no policy: nothing to say
        return
    for key in sorted(a.keys() | b.keys()):
        lv, rv = a.get(key), b.get(key)
        if lv == rv:
            continue
        yield make_finding(
            left,
            right,
            "policy.changed",
            "info",
            f"policy.{key}",
            lv,
            rv,
            f"policy {key} differs: it changes when a version may enter {right.label}, "
            "not what runs there.",
        )
