"""Rules for the compute area: engines, GPUs, CPUs and memory."""

from __future__ import annotations

from collections.abc import Iterator

from envctl.diff.model import Finding, Side, make_finding
from envctl.spec import values

_EXCEEDS = "development must not exceed what production permits"


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
