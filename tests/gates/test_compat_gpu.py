"""The compatibility gate refuses what `envctl diff` calls a GPU error: the CUDA the
previous stage's lock needs against what the target stage declares."""

from __future__ import annotations

from pathlib import Path

from envctl.gates.compat import compatibility
from envctl.registry.target import Target
from envctl.spec.loading import load_environment, require_project
from tests.gpu.projects import write_stage

DEV_GPU = '{count: 1, driver: ">=570.86"}'


def gate(root: Path) -> list[tuple[str, str, bool]]:
    project = require_project(root)
    target = Target("clf", "v1.0.0", "0" * 40, "prod", "dev", None)
    _, findings = compatibility(project, target, load_environment("prod", project))
    return [(f["kind"], f["severity"], f["blocks"]) for f in findings if f["area"] == "compute"]


def test_gate_refuses_a_driver_too_old_for_the_cuda_dev_needs(tmp_path: Path) -> None:
    write_stage(tmp_path, "dev", torch="2.8.0", gpu=DEV_GPU, lock="torch-2.8.0-pypi.lock")
    write_stage(tmp_path, "prod", torch="2.8.0", gpu='{count: 1, driver: ">=535.104"}', lock=None)
    assert gate(tmp_path) == [("gpu.driver", "error", True)]


def test_gate_refuses_a_gpu_build_bound_for_a_stage_without_gpus(tmp_path: Path) -> None:
    write_stage(tmp_path, "dev", torch="2.8.0", gpu=DEV_GPU, lock="torch-2.8.0-pypi.lock")
    write_stage(tmp_path, "prod", torch="2.8.0", gpu="0", lock="torch-2.8.0-pypi.lock")
    assert ("gpu.build", "error", True) in gate(tmp_path)
    assert ("gpu.libraries", "warning", False) in gate(tmp_path)


def test_gate_passes_a_cpu_wheel_pinned_for_a_cpu_stage_once_waived(tmp_path: Path) -> None:
    write_stage(tmp_path, "dev", torch="2.6.0", gpu=DEV_GPU, lock="torch-2.6.0-pypi.lock")
    write_stage(
        tmp_path,
        "prod",
        torch="2.6.0+cpu",
        gpu="0",
        lock="torch-2.6.0-cpu.lock",
        extra="waivers:\n  - {kind: compute.gpu, reason: 'serves on CPU by design'}\n",
    )
    assert gate(tmp_path) == [("compute.gpu", "error", False), ("gpu.build", "info", False)]
