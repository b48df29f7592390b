"""The CUDA stack read from locks that uv made for real torch / jax / tensorflow pins
(tests/gpu/locks: metadata only, committed so the tests run offline)."""

from __future__ import annotations

from pathlib import Path
from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envctl.build.lockfile import read_lock
from envctl.gpu import Pin, Stack, is_cuda_library, read_installed, read_stack

LOCKS = Path(__file__).parent / "locks"


def stack_of(name: str) -> Stack:
    return read_lock(LOCKS / name).gpu_stack()


@pytest.mark.parametrize(
    ("lock", "package", "cuda", "cudnn", "driver"),
    [
        ("torch-2.6.0-pypi.lock", "torch", "12.4", "9.1", "550.54.14"),
        ("torch-2.8.0-pypi.lock", "torch", "12.8", "9.10", "570.26"),
        # cuda-toolkit 13.2.2 (unsuffixed nvidia-* packages): CUDA 13.2 GA's driver
        ("torch-2.15.0-pypi.lock", "torch", "13.2", "9.26", "595.45.04"),
        ("jax-0.4.38-cuda12.lock", "jax-cuda12-plugin", "12.9", "9.28", "575.51.03"),
        ("tensorflow-2.18.0-and-cuda.lock", "tensorflow", "12.5", "9.3", "555.42.02"),
        ("torch-2.5.1-cu121.lock", "torch", "12.1", "9.1", "530.30.02"),
    ],
)
def test_real_locks_say_the_cuda_each_framework_needs(
    lock: str, package: str, cuda: str, cudnn: str, driver: str
) -> None:
    stack = stack_of(lock)
    need = stack.need(package)
    assert need is not None
    assert (need.build, need.cuda, need.cudnn) == ("cuda", cuda, cudnn)
    assert need.driver is not None and need.driver.version == driver
    assert need.capability is None  # no lock says it: unknown, never guessed
    assert [n.package for n in stack.gpu_needs] == [package]  # filelock, sympy...: no GPU build


def test_pytorch_index_build_is_read_from_the_local_version() -> None:
    need = stack_of("torch-2.5.1-cu121.lock").need("torch")
    assert need is not None and need.evidence == "local version +cu121"


def test_cpu_wheel_is_a_cpu_build_with_no_cuda_libraries() -> None:
    stack = stack_of("torch-2.6.0-cpu.lock")
    need = stack.need("torch")
    assert need is not None and (need.build, need.cuda, need.driver) == ("cpu", None, None)
    assert stack.libraries == () and stack.gpu_needs == ()


def test_arm64_pypi_torch_shows_no_gpu_build() -> None:
    # PyPI's linux/arm64 torch 2.6.0 declares no nvidia dependencies
    assert stack_of("torch-2.6.0-pypi-arm64.lock").needs == ()


def test_cuda_libraries_are_listed() -> None:
    names = {p.name for p in stack_of("torch-2.6.0-pypi.lock").libraries}
    assert {"nvidia-cuda-runtime-cu12", "nvidia-cudnn-cu12", "nvidia-nccl-cu12"} <= names
    assert "triton" not in names and "sympy" not in names


@pytest.mark.parametrize(
    ("name", "is_library"),
    [
        ("nvidia-cuda-runtime-cu12", True),
        ("nvidia-cuda-runtime", True),
        ("cuda-toolkit", True),
        ("nvidia-nvjitlink-cu12", True),
        ("nvidia-ml-py", False),  # NVML bindings: no CUDA runtime in it
        ("torch", False),
    ],
)
def test_is_cuda_library(name: str, is_library: bool) -> None:
    assert is_cuda_library(name) is is_library


def test_index_names_the_cuda_version_when_the_libraries_give_only_the_major() -> None:
    index = "https://download.pytorch.org/whl/cu118"
    stack = read_stack(
        [
            Pin("torchvision", "0.20.1", ("-r requirements.in",), index),
            Pin("nvidia-cudnn-cu11", "9.1.0.70", ("torchvision",), index),
            Pin("filelock", "3.13.1", ("torchvision",), index),
        ]
    )
    need = stack.need("torchvision")
    assert need is not None and (need.cuda, need.evidence) == ("11.8", f"index {index}")
    assert stack.need("filelock") is None  # the index serves it too; it has no GPU build


def test_only_the_major_is_known_without_runtime_or_index() -> None:
    stack = read_stack([Pin("mylib", "1.0"), Pin("nvidia-cublas-cu12", "12.4.5.8", ("mylib",))])
    need = stack.need("mylib")
    assert need is not None and need.cuda == "12"
    assert need.driver is not None and need.driver.how == "minor-compatibility"
    assert need.driver.version == "525.60.13"


def test_nothing_known_stays_unknown() -> None:
    stack = read_stack([Pin("mylib", "1.0"), Pin("nvidia-cublas", "13.0.0", ("mylib",))])
    need = stack.need("mylib")
    assert need is not None and (need.cuda, need.cudnn, need.driver) == (None, None, None)
    assert "CUDA (version unknown)" in need.summary and "driver unknown" in need.summary


def test_installed_distributions_without_a_graph() -> None:
    stack = read_installed(
        {
            "torch": "2.6.0",
            "nvidia-cuda-runtime-cu12": "12.4.127",
            "nvidia-cudnn-cu12": "9.1.0.70",
            "numpy": "2.1.0",
        }
    )
    # no graph: the libraries are nobody's, and stand for themselves
    assert [(n.package, n.cuda, n.cudnn) for n in stack.needs] == [
        ("nvidia-cuda-runtime-cu12", "12.4", "9.1")
    ]
    local = read_installed({"torch": "2.6.0+cu124"}).need("torch")
    assert local is not None and local.cuda == "12.4"


def test_libraries_required_through_other_libraries_are_claimed() -> None:
    stack = stack_of("torch-2.6.0-pypi.lock")
    # nvjitlink is required by torch and by cusolver/cusparse: no orphan need for it
    assert [n.package for n in stack.needs] == ["torch"]


@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from(sorted(p.name for p in LOCKS.glob("*.lock"))),
    st.randoms(use_true_random=False),
)
def test_the_order_of_a_lock_s_pins_changes_nothing(lock: str, rng: Random) -> None:
    entries = list(read_lock(LOCKS / lock).entries)
    pins = [Pin(e.name, e.version, e.required_by, e.index) for e in entries]
    shuffled = pins[:]
    rng.shuffle(shuffled)
    one, other = read_stack(pins), read_stack(shuffled)
    assert sorted(one.needs, key=str) == sorted(other.needs, key=str)
    assert one.libraries == other.libraries
    # a need is a package with GPU evidence, never a library another package requires
    required = {e.name for e in entries if any(not r.startswith("-") for r in e.required_by)}
    assert not [n for n in one.needs if is_cuda_library(n.package) and n.package in required]
