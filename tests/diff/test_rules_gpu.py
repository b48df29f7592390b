"""GPU rules: the CUDA each side's lock needs against the GPUs the other side has.
Stacks come from the real locks in tests/gpu/locks."""

from __future__ import annotations

from pathlib import Path

import pytest

from envctl.build.lockfile import read_lock
from envctl.diff import KINDS, Finding, GpuFacts, Side, compare
from envctl.gpu import Stack

LOCKS = Path(__file__).parents[1] / "gpu" / "locks"


def stack(name: str) -> Stack:
    return read_lock(LOCKS / name).gpu_stack()


def side(label: str, gpu: GpuFacts | None, lock: str | None = None) -> Side:
    return Side(label=label, gpu=gpu, gpu_stack=stack(lock) if lock else None)


def found(findings: list[Finding]) -> list[tuple[str, str, str]]:
    return [(f.kind, f.severity, f.path) for f in findings]


DEV = GpuFacts(1, driver="570.86", capability="8.0")


def test_cuda_12_8_torch_against_a_stage_declaring_driver_535() -> None:
    dev = side("dev", DEV, "torch-2.8.0-pypi.lock")
    prod = side("prod", GpuFacts(1, driver="535.104"))
    findings = compare(dev, prod)
    assert found(findings) == [("gpu.driver", "error", "compute.gpu.driver")]
    assert findings[0].message == (
        "dev's torch needs CUDA 12.8 (driver >= 570.26); prod declares driver >= 535.104."
    )
    assert (findings[0].left, findings[0].right) == ("570.26", "535.104")


def test_a_new_enough_driver_passes() -> None:
    dev = side("dev", DEV, "torch-2.8.0-pypi.lock")
    assert compare(dev, side("prod", GpuFacts(1, driver="570.124.06"))) == []


def test_the_target_s_own_lock_is_what_runs_there() -> None:
    # dev trains with CUDA 12.8; prod pins the CUDA 12.4 build, which its driver runs
    dev = side("dev", DEV, "torch-2.8.0-pypi.lock")
    prod = side("prod", GpuFacts(1, driver="550.54.15"), "torch-2.6.0-pypi.lock")
    assert compare(dev, prod) == []
    old = side("prod", GpuFacts(1, driver="535.104"), "torch-2.6.0-pypi.lock")
    assert compare(dev, old)[0].message.startswith("prod's torch needs CUDA 12.4")


def test_declared_cuda_implies_its_driver_and_is_compared_itself() -> None:
    dev = side("dev", DEV, "torch-2.8.0-pypi.lock")
    findings = compare(dev, side("prod", GpuFacts(1, cuda="12.2")))
    assert found(findings) == [("gpu.cuda", "error", "compute.gpu.cuda")]
    assert findings[0].message == "dev's torch needs CUDA 12.8; prod declares CUDA 12.2."
    jax = side("dev", DEV, "jax-0.4.38-cuda12.lock")
    # CUDA 12.9 declared: its driver, 575.51.03, is the floor though no driver is given
    assert compare(jax, side("prod", GpuFacts(1, cuda="12.9"))) == []


def test_gpus_without_a_declared_driver_are_unknown_not_passed() -> None:
    dev = side("dev", DEV, "tensorflow-2.18.0-and-cuda.lock")
    findings = compare(dev, side("prod", GpuFacts(1)))
    assert found(findings) == [("gpu.driver", "warning", "compute.gpu.driver")]
    assert "whether it can run it is unknown" in findings[0].message


def test_gpu_build_bound_for_a_stage_without_gpus_is_an_error() -> None:
    dev = side("dev", DEV, "torch-2.6.0-pypi.lock")
    findings = compare(dev, side("prod", GpuFacts(0)))
    assert found(findings) == [("gpu.build", "error", "packages.torch")]
    assert findings[0].message.startswith(
        "dev has a GPU build of torch (CUDA 12.4); prod has no GPU and has no lock"
    )


def test_a_cpu_wheel_pinned_for_the_stage_is_intended() -> None:
    dev = side("dev", DEV, "torch-2.6.0-pypi.lock")
    findings = compare(dev, side("prod", GpuFacts(0), "torch-2.6.0-cpu.lock"))
    assert found(findings) == [("gpu.build", "info", "packages.torch")]
    assert findings[0].message == (
        "dev has a GPU build of torch (CUDA 12.4); prod has no GPU and pins torch "
        "2.6.0+cpu, a CPU build."
    )


def test_the_same_gpu_build_in_a_stage_without_gpus_errors_and_wastes_space() -> None:
    dev = side("dev", DEV, "torch-2.6.0-pypi.lock")
    findings = compare(dev, side("prod", GpuFacts(0), "torch-2.6.0-pypi.lock"))
    assert found(findings) == [
        ("gpu.libraries", "warning", "compute.gpu"),
        ("gpu.build", "error", "packages.torch"),
    ]
    assert "and pins a GPU build too (torch 2.6.0, CUDA 12.4)" in findings[1].message
    assert findings[0].message.startswith(
        "prod installs 13 CUDA libraries (nvidia-cublas-cu12, nvidia-cuda-cupti-cu12, "
        "nvidia-cuda-nvrtc-cu12, ...) but has no GPU"
    )


def test_amd_gpus_cannot_run_a_cuda_build() -> None:
    dev = side("dev", DEV, "torch-2.6.0-pypi.lock")
    findings = compare(dev, side("prod", GpuFacts(1, vendor="amd")))
    assert found(findings) == [("gpu.build", "error", "compute.gpu.vendor")]


@pytest.mark.parametrize(
    ("prod", "expected"),
    [
        (GpuFacts(1, driver="570.26", capability="7.0"), "warning"),
        (GpuFacts(1, driver="570.26", capability="7.5", measured=True), "error"),
    ],
)
def test_capability_lower_than_dev_s(prod: GpuFacts, expected: str) -> None:
    findings = compare(side("dev", DEV), side("prod", prod))
    assert found(findings) == [("gpu.capability", expected, "compute.gpu.capability")]


def test_staging_on_older_gpus_than_prod_does_not_mirror_it() -> None:
    staging = side("staging", GpuFacts(1, capability="7.5"))
    [finding] = compare(staging, side("prod", GpuFacts(1, capability="9.0")))
    assert (finding.kind, finding.severity, finding.path) == (
        "compute.smaller",
        "warning",
        "compute.gpu.capability",
    )
    assert finding.message == (
        "staging's GPUs have compute capability >= 7.5 and prod's >= 9.0, so staging does "
        "not mirror prod: what passes staging's gates ran on older GPUs than prod runs on."
    )
    assert compare(staging, side("prod", GpuFacts(1, capability="7.5"))) == []
    measured = GpuFacts(1, driver="570.26", capability="9.0", measured=True)
    assert compare(staging, side("local", measured)) == []  # a machine, not a stage


def test_unknown_sides_say_nothing() -> None:
    dev = side("dev", DEV, "torch-2.8.0-pypi.lock")
    assert compare(dev, side("image", None)) == []  # an image cannot show its GPUs
    assert compare(side("dev", DEV), side("prod", GpuFacts(1, driver="535.104"))) == []


def test_waivers_cover_gpu_kinds_like_any_other() -> None:
    from envctl.diff import WaiverRule

    dev = side("dev", DEV, "torch-2.6.0-pypi.lock")
    prod = Side(
        label="prod",
        gpu=GpuFacts(0),
        waivers=(WaiverRule("gpu.build", "packages.torch", "serves on CPU on purpose"),),
    )
    (finding,) = compare(dev, prod)
    assert finding.waived == "serves on CPU on purpose" and not finding.blocks("error")


def test_every_gpu_kind_is_covered_here() -> None:
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    assert all(f'"{k}"' in source for k in KINDS if k.startswith("gpu."))


def test_an_installed_set_speaks_of_its_cuda_libraries() -> None:
    from envctl.gpu import read_installed

    image = Side(
        label="image",
        installed={"torch": "2.6.0", "nvidia-cuda-runtime-cu12": "12.4.127"},
        gpu_stack=read_installed({"torch": "2.6.0", "nvidia-cuda-runtime-cu12": "12.4.127"}),
    )
    (finding,) = compare(image, side("prod", GpuFacts(0)))
    assert finding.message.startswith(
        "image has CUDA libraries (nvidia-cuda-runtime-cu12, ...; CUDA 12.4); prod has no GPU"
    )
