"""examples/gpu-cpu: trained on a GPU in dev, served on CPUs in prod. Its diff and
its compatibility gate run on the committed specs and locks (no torch needed):
the CPU build pinned for prod plus a waiver make the difference intended, and
each half taken away is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from envctl.build import lockfile
from envctl.spec.loading import load_environment, require_project
from tests.cli.conftest import Invoke
from tests.conftest import REPO_ROOT, git

EXAMPLE = REPO_ROOT / "examples" / "gpu-cpu"


@pytest.fixture
def example(git_repo: Path) -> Path:
    """The example in a fresh repository, its model tagged moons@v1.0.0."""
    shutil.copytree(EXAMPLE, git_repo, dirs_exist_ok=True)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "gpu-cpu example")
    git(git_repo, "tag", "-a", "moons@v1.0.0", "-m", "moons v1.0.0")
    return git_repo


def diff(invoke: Invoke) -> tuple[int, list[dict[str, Any]]]:
    result = invoke("diff", "dev", "prod", "--format", "json")
    return result.code, json.loads(result.out)["comparisons"][0]["findings"]


def plan(invoke: Invoke) -> dict[str, Any]:
    # --force: v1.0.0 never entered dev (its gates need a GPU engine); the
    # compatibility gate is checked all the same.
    result = invoke(
        "promote", "moons@v1.0.0", "--to", "prod", "--plan", "--force", "--reason", "demo",
        "--format", "json",
    )  # fmt: skip
    document: dict[str, Any] = json.loads(result.out)
    return document


def gpu_findings(findings: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    return [
        (f["kind"], f["severity"], f["waived"])
        for f in findings
        if f["kind"] in ("compute.gpu", "gpu.build", "gpu.libraries", "gpu.driver")
    ]


def test_the_committed_locks_are_fresh() -> None:
    project = require_project(EXAMPLE)
    for name in ("dev", "prod"):
        assert lockfile.staleness(project, load_environment(name, project)) is None


def test_the_example_s_diff_is_intended(example: Path, invoke: Invoke) -> None:
    code, findings = diff(invoke)
    assert code == 0
    assert gpu_findings(findings) == [("compute.gpu", "error", True), ("gpu.build", "info", False)]
    info = next(f for f in findings if f["kind"] == "gpu.build")
    assert info["message"] == (
        "dev has a GPU build of torch (CUDA 12.4); prod has no GPU and pins torch "
        "2.6.0+cpu, a CPU build."
    )


def test_the_compatibility_gate_lets_the_cpu_build_through(example: Path, invoke: Invoke) -> None:
    findings = plan(invoke)["findings"]
    assert not [f for f in findings if f["blocks"]]
    assert ("gpu.build", "info", False) in gpu_findings(findings)


def test_without_the_waiver_the_missing_gpu_blocks(example: Path, invoke: Invoke) -> None:
    spec = example / "environments" / "prod.yaml"
    text = spec.read_text()
    start = text.index("  - kind: compute.gpu")
    spec.write_text(text[:start] + text[text.index("  - kind: compute.cpu") :])
    code, findings = diff(invoke)
    assert code == 1
    assert ("compute.gpu", "error", False) in gpu_findings(findings)


def test_prod_pinning_the_gpu_build_is_refused_by_diff_and_gate(
    example: Path, invoke: Invoke
) -> None:
    # prod pins what dev pins: PyPI's torch, the CUDA build, with its CUDA libraries
    spec = example / "environments" / "prod.yaml"
    spec.write_text(spec.read_text().replace('"==2.6.0+cpu"', '"==2.6.0"'))
    env = load_environment("prod", require_project(example))
    dev_lock = lockfile.read_lock(example / "environments" / "dev.lock")
    (example / "environments" / "prod.lock").write_text(lockfile.header(env.spec) + dev_lock.body)
    code, findings = diff(invoke)
    assert code == 1
    assert gpu_findings(findings) == [
        ("compute.gpu", "error", True),
        ("gpu.libraries", "warning", False),
        ("gpu.build", "error", False),
    ]
    blocking = [f["kind"] for f in plan(invoke)["findings"] if f["blocks"]]
    assert blocking == ["gpu.build"]
    refused = invoke("promote", "moons@v1.0.0", "--to", "prod", "--force", "--reason", "demo")
    assert refused.code == 1
    assert refused.err.startswith(
        "error: moons@v1.0.0 is not compatible with prod: dev has a GPU build of torch "
        "(CUDA 12.4); prod has no GPU and pins a GPU build too (torch 2.6.0, CUDA 12.4)"
    )
