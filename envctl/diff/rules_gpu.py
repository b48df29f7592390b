"""Rules for GPUs: the CUDA a lock needs (envctl.gpu) against the GPUs a side has.

`left` is where the model comes from, `right` where it goes. What runs in `right`
is `right`'s own lock when it has one, else (the same packages, carried over)
`left`'s; when `right` is a machine (`diff prod local`), the question is whether it
can run `left`, so `left`'s. Unknowns (no lock, no declared driver) are said, never
guessed.
"""

from __future__ import annotations

from collections.abc import Iterator

from envctl.diff.model import Finding, GpuFacts, Side, make_finding
from envctl.gpu import Need, Stack, at_least, driver_for, is_cuda_library, version_key
from envctl.vocabulary import Severity

_LIBRARIES_SHOWN = 3


def compare_gpu(left: Side, right: Side) -> Iterator[Finding]:
    if right.gpu is None:
        return
    if right.gpu.count == 0:
        yield from _gpu_builds_without_gpu(left, right)
        yield from _idle_libraries(left, right)
        return
    yield from _needs_against_gpus(left, right, right.gpu)
    yield from _capability(left, right, right.gpu)
    yield from _weaker_gpus(left, right, right.gpu)


def _gpu_builds_without_gpu(left: Side, right: Side) -> Iterator[Finding]:
    """dev has a GPU build of torch; prod has no GPU (unless prod pins a CPU build)."""
    if left.gpu_stack is None:
        return
    target = None if right.is_reality else right.gpu_stack
    for need in left.gpu_stack.gpu_needs:
        theirs = target.need(need.package) if target is not None else None
        severity, why = _without_gpu(right, target, theirs)
        yield make_finding(
            left,
            right,
            "gpu.build",
            severity,
            f"packages.{need.package}",
            _label(need),
            _label(theirs),
            f"{left.label} has {_what(need)}; {right.label} has no GPU {why}",
        )


def _without_gpu(right: Side, target: Stack | None, theirs: Need | None) -> tuple[Severity, str]:
    """How grave a GPU build bound for `right` (no GPU) is, and the end of the sentence."""
    if right.is_reality:
        return "error", "to run it."
    if target is not None and theirs is None:
        return "info", "and does not install it."
    if theirs is not None and theirs.build == "cpu":
        return "info", f"and pins {theirs.package} {theirs.version}, a CPU build."
    fix = (
        f": pin a CPU build for {right.label} (e.g. torch==X+cpu from the PyTorch CPU "
        "index) or give it a GPU."
    )
    if theirs is not None:
        return (
            "error",
            f"and pins a GPU build too ({theirs.package} {theirs.version}, {_cuda(theirs)}){fix}",
        )
    return "error", f"and has no lock to show a CPU build pinned for it{fix}"


def _idle_libraries(left: Side, right: Side) -> Iterator[Finding]:
    stack = right.gpu_stack
    if stack is None or not stack.libraries:
        return
    names = [p.name for p in stack.libraries]
    shown = ", ".join(names[:_LIBRARIES_SHOWN]) + (", ..." if len(names) > _LIBRARIES_SHOWN else "")
    yield make_finding(
        left,
        right,
        "gpu.libraries",
        "warning",
        "compute.gpu",
        None,
        f"{len(names)} CUDA libraries",
        f"{right.label} installs {len(names)} CUDA libraries ({shown}) but has no GPU: "
        "gigabytes of image for nothing (the lock records no file sizes); pin CPU builds.",
    )


def _needs_against_gpus(left: Side, right: Side, gpus: GpuFacts) -> Iterator[Finding]:
    source = right if right.gpu_stack is not None and not right.is_reality else left
    if source.gpu_stack is None:
        return
    have, how = _driver_floor(gpus)
    for need in source.gpu_stack.gpu_needs:
        whose = f"{source.label}'s {need.package}"
        if need.build == "rocm" or gpus.vendor != "nvidia":
            if need.build == "cuda" and gpus.vendor != "nvidia":
                yield make_finding(
                    left,
                    right,
                    "gpu.build",
                    "error",
                    "compute.gpu.vendor",
                    _label(need),
                    gpus.vendor,
                    f"{whose} is a CUDA build; {right.label}'s GPUs are {gpus.vendor}.",
                )
            continue
        yield from _cuda_and_driver(left, right, gpus, need, whose, have, how)


def _cuda_and_driver(
    left: Side,
    right: Side,
    gpus: GpuFacts,
    need: Need,
    whose: str,
    have: str | None,
    how: str,
) -> Iterator[Finding]:
    floor = need.driver
    if (
        need.cuda
        and gpus.cuda
        and "." in need.cuda
        and (version_key(need.cuda) > version_key(gpus.cuda))
    ):
        yield make_finding(
            left,
            right,
            "gpu.cuda",
            "error",
            "compute.gpu.cuda",
            need.cuda,
            gpus.cuda,
            f"{whose} needs CUDA {need.cuda}; {right.label} {_says(gpus)} CUDA {gpus.cuda}.",
        )
        return
    if floor is None:
        return
    needs = f"{whose} needs CUDA {need.cuda} ({floor.text})"
    if have is None:
        yield make_finding(
            left,
            right,
            "gpu.driver",
            "warning",
            "compute.gpu.driver",
            floor.version,
            None,
            f"{needs}; {right.label} has GPUs but declares no driver or CUDA "
            "(compute.gpu.driver): whether it can run it is unknown.",
        )
    elif not at_least(have, floor.version):
        yield make_finding(
            left,
            right,
            "gpu.driver",
            "error",
            "compute.gpu.driver",
            floor.version,
            have,
            f"{needs}; {right.label} {how} {have}.",
        )


def _driver_floor(gpus: GpuFacts) -> tuple[str | None, str]:
    """The least driver `gpus` guarantee, and how to say it: the driver itself, or the
    toolkit driver of the CUDA it declares, whichever is higher."""
    implied = driver_for(gpus.cuda) if gpus.cuda else None
    candidates = [v for v in (gpus.driver, implied.version if implied else None) if v]
    if not candidates:
        return None, ""
    best = max(candidates, key=version_key)
    if best == gpus.driver:
        return best, "has driver" if gpus.measured else "declares driver >="
    return best, f"declares CUDA {gpus.cuda}, i.e. driver >="


def _capability(left: Side, right: Side, gpus: GpuFacts) -> Iterator[Finding]:
    ours = left.gpu.capability if left.gpu is not None and left.gpu.count else None
    if ours is None or gpus.capability is None:
        return
    if version_key(gpus.capability) >= version_key(ours):
        return
    severity: Severity = "error" if gpus.measured else "warning"
    yield make_finding(
        left,
        right,
        "gpu.capability",
        severity,
        "compute.gpu.capability",
        ours,
        gpus.capability,
        f"{left.label}'s GPUs have compute capability >= {ours}; {right.label} "
        f"{_says(gpus)} {gpus.capability}: kernels and dtypes (bf16 needs 8.0) that work in "
        f"{left.label} may not in {right.label}.",
    )


def _weaker_gpus(left: Side, right: Side, gpus: GpuFacts) -> Iterator[Finding]:
    """The source's GPUs are of a lower compute capability than the target's: its
    gates ran on older GPUs than the target's (staging does not mirror prod)."""
    ours = left.gpu.capability if left.gpu is not None and left.gpu.count else None
    if ours is None or gpus.capability is None or gpus.measured or left.is_reality:
        return  # a machine's GPUs are what they are: `_capability` compares them
    if version_key(ours) >= version_key(gpus.capability):
        return
    ln, rn = left.label, right.label
    yield make_finding(
        left,
        right,
        "compute.smaller",
        "warning",
        "compute.gpu.capability",
        ours,
        gpus.capability,
        f"{ln}'s GPUs have compute capability >= {ours} and {rn}'s >= {gpus.capability}, "
        f"so {ln} does not mirror {rn}: what passes {ln}'s gates ran on older GPUs than "
        f"{rn} runs on.",
    )


def _what(need: Need) -> str:
    # An installed set has no dependency graph: its CUDA libraries stand for
    # whichever package brought them.
    if is_cuda_library(need.package):
        return f"CUDA libraries ({need.package}, ...; {_cuda(need)})"
    return f"a GPU build of {need.package} ({_cuda(need)})"


def _says(gpus: GpuFacts) -> str:
    return "has" if gpus.measured else "declares"


def _cuda(need: Need) -> str:
    return f"CUDA {need.cuda}" if need.cuda else "CUDA version unknown"


def _label(need: Need | None) -> str | None:
    if need is None:
        return None
    if need.build == "cpu":
        return f"{need.package} {need.version} (CPU)"
    return f"{need.package} {need.version} ({_cuda(need)})"
