"""Rules for the service-level area: the stages' `load` gates (rate, duration,
SLO thresholds). A source stage (staging) that loads its candidate less, for
less long, or holds it to a looser SLO than the target (prod) does not prove
what the target will ask: the "staging doesn't mirror prod" the diff exists to
show, a warning by default. A stage with no gates at all (dev) gates nothing, so
its lack of a load gate is no finding."""

from __future__ import annotations

from collections.abc import Iterator

from envctl.diff.model import Finding, LoadFacts, Side
from envctl.diff.positions import Pos

UPPER = ("<", "<=")  # a latency or error-rate bound
LOWER = (">", ">=")  # an achieved-rate floor


def compare_load(left: Side, right: Side) -> Iterator[Finding]:
    if left.load is None or right.load is None:  # reality runs no gates
        return
    theirs = {facts.path: facts for facts in left.load}
    for target in right.load:
        source = theirs.get(target.path)
        if source is None:
            if left.gated:
                yield _missing(left, right, target)
            continue
        yield from _lower(left, right, source, target)
        yield from _looser(left, right, source, target)


def _missing(left: Side, right: Side, target: LoadFacts) -> Finding:
    return _finding(
        left, right, "load.missing", "gates.load", None, target, None,
        f"{right.label} holds {target.path} at {target.rate:g}/s under a load gate but "
        f"{left.label} has none: what passes {left.label} says nothing of {right.label}'s "
        "service level.",
    )  # fmt: skip


def _lower(left: Side, right: Side, source: LoadFacts, target: LoadFacts) -> Iterator[Finding]:
    if source.rate < target.rate:
        yield _finding(
            left, right, "load.rate", "gates.load.rate", source, target, "rate",
            f"{left.label} loads {target.path} at {source.rate:g}/s but {right.label} at "
            f"{target.rate:g}/s: a version that holds {left.label}'s rate may not hold "
            f"{right.label}'s.",
            values=(f"{source.rate:g}/s", f"{target.rate:g}/s"),
        )  # fmt: skip
    if source.duration < target.duration:
        yield _finding(
            left, right, "load.duration", "gates.load.duration", source, target, "duration",
            f"{left.label} holds the load on {target.path} for {source.duration:g}s but "
            f"{right.label} for {target.duration:g}s: what only shows after longer "
            f"(a leak, a full queue) passes {left.label}.",
            values=(f"{source.duration:g}s", f"{target.duration:g}s"),
        )  # fmt: skip


def _looser(left: Side, right: Side, source: LoadFacts, target: LoadFacts) -> Iterator[Finding]:
    for metric in sorted(target.bounds):
        for upper in (True, False):
            theirs = _strictest(target.bounds[metric], upper=upper)
            if theirs is None:
                continue
            ours = _strictest(source.bounds.get(metric, ()), upper=upper)
            if ours is not None and (ours <= theirs if upper else ours >= theirs):
                continue
            said = f"{ours:g}" if ours is not None else None
            yield _finding(
                left, right, "load.slo", f"gates.load.slo.{metric}", source, target,
                f"slo.{metric}",
                f"{left.label} holds {target.path}'s {metric} to "
                f"{'no bound' if said is None else said} but {right.label} to {theirs:g}: "
                f"a version within {left.label}'s SLO may break {right.label}'s.",
                values=(said, f"{theirs:g}"),
            )  # fmt: skip


def _strictest(bounds: tuple[tuple[str, float], ...], *, upper: bool) -> float | None:
    """The tightest bound of one direction: the lowest ceiling, or the highest floor."""
    found = [value for op, value in bounds if op in (UPPER if upper else LOWER)]
    if not found:
        return None
    return min(found) if upper else max(found)


def _finding(
    left: Side,
    right: Side,
    kind: str,
    path: str,
    source: LoadFacts | None,
    target: LoadFacts,
    key: str | None,
    message: str,
    *,
    values: tuple[str | None, str | None] = (None, None),
) -> Finding:
    lpos = _locate(left, source, key)
    rpos = _locate(right, target, key)
    return Finding(kind, "warning", path, values[0], values[1], message, lpos, rpos)


def _locate(side: Side, facts: LoadFacts | None, key: str | None) -> Pos | None:
    if facts is None:
        return None
    base = f"gates.{facts.index}.load"
    return side.locate(f"{base}.{key}" if key else base, exact=False)
