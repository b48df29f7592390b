"""`envctl diff` on stages with GPUs: the CUDA their locks need against the drivers
they declare, and `local` read through nvidia-smi (a fake one on PATH here)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Invoke
from tests.gpu.projects import write_stage

DEV_GPU = '{count: 1, driver: ">=570.86", capability: ">=8.0"}'


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_stage(tmp_path, "dev", torch="2.8.0", gpu=DEV_GPU, lock="torch-2.8.0-pypi.lock")
    return tmp_path


def findings(invoke: Invoke, *args: str) -> tuple[int, list[dict[str, Any]], list[str]]:
    result = invoke("diff", *args, "--format", "json")
    comparison = json.loads(result.out)["comparisons"][0]
    return result.code, comparison["findings"], comparison["notes"]


def test_cuda_12_8_torch_against_a_stage_with_driver_535(root: Path, invoke: Invoke) -> None:
    write_stage(root, "prod", torch="2.8.0", gpu='{count: 1, driver: ">=535.104"}', lock=None)
    code, found, notes = findings(invoke, "dev", "prod")
    assert code == 1
    (driver,) = [f for f in found if f["kind"] == "gpu.driver"]
    assert driver["severity"] == "error"
    assert driver["message"] == (
        "dev's torch needs CUDA 12.8 (driver >= 570.26); prod declares driver >= 535.104."
    )
    assert driver["right_location"] == {"file": "environments/prod.yaml", "line": 9}
    assert (
        "dev: torch 2.8.0: CUDA 12.8, driver >= 570.26, cuDNN 9.10, compute capability "
        "unknown (requires nvidia-cuda-runtime-cu12 12.8.90)" in notes
    )
    assert any(n.startswith("prod has no lock") for n in notes)


def test_gpu_build_for_a_stage_without_gpus(root: Path, invoke: Invoke) -> None:
    write_stage(root, "prod", torch="2.8.0", gpu="0", lock="torch-2.8.0-pypi.lock")
    code, found, _ = findings(invoke, "dev", "prod")
    assert code == 1
    kinds = {(f["kind"], f["severity"]) for f in found}
    assert ("gpu.build", "error") in kinds and ("gpu.libraries", "warning") in kinds


def test_cpu_wheel_pinned_for_prod_only_informs(root: Path, invoke: Invoke) -> None:
    write_stage(
        root,
        "prod",
        torch="2.6.0+cpu",
        gpu="0",
        lock="torch-2.6.0-cpu.lock",
        extra="waivers:\n  - {kind: compute.gpu, reason: 'trains on a GPU, serves on CPU'}\n",
    )
    code, found, _ = findings(invoke, "dev", "prod")
    assert code == 0  # the one error is waived; the CPU build only informs
    gpu = [(f["kind"], f["severity"], f["waived"]) for f in found if f["area"] == "compute"]
    assert ("gpu.build", "info", False) in gpu and ("compute.gpu", "error", True) in gpu
    assert not any(f["kind"] == "gpu.libraries" for f in found)


def test_a_stale_lock_is_not_read(root: Path, invoke: Invoke) -> None:
    write_stage(root, "prod", torch="2.8.0", gpu="0", lock="torch-2.8.0-pypi.lock")
    spec = root / "environments" / "prod.yaml"
    spec.write_text(spec.read_text().replace("version: 1", "version: 2"))  # same inputs
    spec.write_text(spec.read_text().replace('"==2.8.0"', '"==2.6.0"'))
    _, found, notes = findings(invoke, "dev", "prod")
    assert any("is stale" in n and "the CUDA it needs was not read" in n for n in notes)
    # unknown is not a CPU build: the GPU build bound for prod is still refused
    assert [f["severity"] for f in found if f["kind"] == "gpu.build"] == ["error"]


def fake_nvidia_smi(folder: Path, output: str, code: int = 0) -> None:
    folder.mkdir(exist_ok=True)
    script = folder / "nvidia-smi"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2" != "--query-gpu=driver_version,compute_cap --format=csv,noheader" ]; then\n'
        "  echo unexpected arguments >&2; exit 9\nfi\n"
        f"printf '{output}'\nexit {code}\n"
    )
    script.chmod(0o755)


def test_local_reads_the_host_through_nvidia_smi(
    root: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # prod demands more than this host has: `diff prod local` asks whether local can run prod
    write_stage(
        root,
        "prod",
        torch="2.8.0",
        gpu='{count: 1, driver: ">=570.26", capability: ">=8.0"}',
        lock="torch-2.8.0-pypi.lock",
    )
    fake_nvidia_smi(tmp_path / "bin", "535.104.05, 7.5\\n535.104.05, 8.6\\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    _, found, notes = findings(invoke, "prod", "local")
    gpu = {f["kind"]: f for f in found if f["kind"].startswith("gpu.")}
    assert gpu["gpu.driver"]["message"] == (
        "prod's torch needs CUDA 12.8 (driver >= 570.26); local has driver 535.104.05."
    )
    assert gpu["gpu.capability"]["severity"] == "error"  # measured 7.5 < declared 8.0
    assert "local GPUs: 2, driver 535.104.05, capability 7.5" in notes


def test_local_without_nvidia_smi_has_no_gpu(
    root: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write_stage(root, "prod", torch="2.8.0", gpu="1", lock="torch-2.8.0-pypi.lock")
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    _, found, notes = findings(invoke, "prod", "local")
    assert [f["severity"] for f in found if f["kind"] == "gpu.build"] == ["error"]
    assert "no nvidia-smi on PATH: local has no NVIDIA GPU" in notes


def test_a_failing_nvidia_smi_leaves_local_s_gpus_unknown(
    root: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write_stage(root, "prod", torch="2.8.0", gpu="1", lock="torch-2.8.0-pypi.lock")
    fake_nvidia_smi(tmp_path / "bin", "NVIDIA-SMI has failed\\n", code=9)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    _, found, notes = findings(invoke, "prod", "local")
    assert not [f for f in found if f["kind"].startswith("gpu.")]
    assert any(n.startswith("nvidia-smi gave no GPU (NVIDIA-SMI has failed)") for n in notes)


def test_local_s_installed_cuda_build_against_prod_s_driver(
    root: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import subprocess
    import sys

    venv = tmp_path / "model-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    for name, version in (("torch", "2.6.0+cu124"), ("nvidia_cudnn_cu12", "9.1.0.70")):
        info = site / f"{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    write_stage(root, "prod", torch="2.6.0", gpu='{count: 1, driver: ">=535.104"}', lock=None)
    fake_nvidia_smi(tmp_path / "bin", "550.54.15, 8.9\\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    _, found, notes = findings(invoke, "local", "prod", "--python", str(venv))
    (driver,) = [f for f in found if f["kind"] == "gpu.driver"]
    assert driver["message"] == (
        "local's torch needs CUDA 12.4 (driver >= 550.54.14); prod declares driver >= 535.104."
    )
    assert "local GPUs: 1, driver 550.54.15, capability 8.9" in notes
