"""Rules for the compute area: engines, GPUs, CPUs and memory."""

from __future__ import annotations

from collections.abc import Iterator

from envctl.diff.model import ComputeFacts, Finding, Side, make_finding
from envctl.spec import values

_EXCEEDS = "development must not exceed what production permits"
_OWN_ENGINE = "envctl's own engine"


def compare_compute(left: Side, right: Side) -> Iterator[Finding]:
    a, b = left.compute, right.compute
    if a is None or b is None:
        return
    ln, rn = left.label, right.label
    for e in a.engines:
        if e not in b.engines:
            yield make_finding(
                left,
                right,
                "compute.engine",
                "error",
                f"compute.engines.{e}",
                e,
                None,
                f"{ln} has {e} but {rn} does not: pipelines that use {e} cannot run in {rn}.",
            )
    for e in b.engines:
        if e not in a.engines:
            yield make_finding(
                left,
                right,
                "compute.engine",
                "info",
                f"compute.engines.{e}",
                None,
                e,
                f"{rn} has {e} but {ln} does not.",
            )
    yield from _gpu(left, right, a.gpu, b.gpu)
    yield from _smaller(left, right, a, b)
    yield from _runner(left, right, a.runner, b.runner)
    if a.cpu is not None and b.cpu is not None and a.cpu > b.cpu:
        yield make_finding(
            left,
            right,
            "compute.cpu",
            "warning",
            "compute.cpu",
            f"{a.cpu:g}",
            f"{b.cpu:g}",
            f"{ln} has {a.cpu:g} CPUs but {rn} permits {b.cpu:g}: {_EXCEEDS}.",
        )
    if a.memory is not None and b.memory is not None and a.memory > b.memory:
        lm, rm = values.format_bytes(a.memory), values.format_bytes(b.memory)
        yield make_finding(
            left,
            right,
            "compute.memory",
            "warning",
            "compute.memory",
            lm,
            rm,
            f"{ln} has {lm} of memory but {rn} permits {rm}: {_EXCEEDS}, or the model "
            f"may not fit in {rn}.",
        )


def _gpu(left: Side, right: Side, a: int, b: int) -> Iterator[Finding]:
    if a > 0 and b == 0:
        yield make_finding(
            left,
            right,
            "compute.gpu",
            "error",
            "compute.gpu",
            str(a),
            str(b),
            f"{left.label} has {a} GPU{'s' if a > 1 else ''} but {right.label} has "
            f"none: code or models that expect a GPU will fail or crawl in "
            f"{right.label}.",
        )
    elif a > b:
        yield make_finding(
            left,
            right,
            "compute.gpu",
            "warning",
            "compute.gpu",
            str(a),
            str(b),
            f"{left.label} has {a} GPUs but {right.label} permits {b}: {_EXCEEDS}.",
        )


def _smaller(left: Side, right: Side, a: ComputeFacts, b: ComputeFacts) -> Iterator[Finding]:
    """The source stage runs on less than the target: its gates passed on smaller
    machines than the target's, so they say less about the target's load (the
    "staging does not mirror prod" finding)."""
    ln, rn = left.label, right.label
    why = f"so {ln} does not mirror {rn}: what passes {ln}'s gates ran on less than {rn} runs on."
    if a.cpu is not None and b.cpu is not None and a.cpu < b.cpu:
        lc, rc = f"{a.cpu:g}", f"{b.cpu:g}"
        yield _below(left, right, "compute.cpu", lc, rc, f"{ln} has {lc} CPUs and {rn} {rc}, {why}")
    if a.memory is not None and b.memory is not None and a.memory < b.memory:
        lm, rm = values.format_bytes(a.memory), values.format_bytes(b.memory)
        text = f"{ln} has {lm} of memory and {rn} {rm}, {why}"
        yield _below(left, right, "compute.memory", lm, rm, text)
    if a.gpu < b.gpu:
        has = "no GPU" if a.gpu == 0 else f"{a.gpu} GPU{'s' if a.gpu > 1 else ''}"
        text = f"{ln} has {has} and {rn} {b.gpu}, {why}"
        yield _below(left, right, "compute.gpu", str(a.gpu), str(b.gpu), text)


def _below(left: Side, right: Side, path: str, lval: str, rval: str, message: str) -> Finding:
    return make_finding(left, right, "compute.smaller", "warning", path, lval, rval, message)


def _runner(left: Side, right: Side, a: str | None, b: str | None) -> Iterator[Finding]:
    """Gates that run on another engine than the target's ran on other hardware."""
    if a == b:
        return
    ln, rn = left.label, right.label
    yield make_finding(
        left,
        right,
        "compute.runner",
        "warning",
        "runner",
        a,
        b,
        f"{ln}'s gates run on {a or _OWN_ENGINE}, {rn}'s on {b or _OWN_ENGINE}: "
        f"what passes in {ln} ran on other hardware than {rn}'s gates run on.",
    )
