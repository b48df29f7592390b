"""The platform table: every platform a spec accepts can be locked, fetched and checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from envctl.build import lockfile, wheels
from envctl.build.lockfile import Lock
from envctl.oci import platforms
from envctl.spec.model import Spec
from envctl.spec.types import from_model

# Docker's platform names, including ones envctl has no lock target for.
CANDIDATES = [
    "linux/amd64",
    "linux/arm64",
    "linux/arm/v7",
    "linux/arm/v6",
    "linux/ppc64le",
    "linux/s390x",
    "linux/386",
    "linux/riscv64",
    "windows/amd64",
    "darwin/arm64",
    "linux/amd64 ",
    "LINUX/AMD64",
]


def spec_for(platform: str) -> Spec:
    return Spec.model_validate(
        {
            "name": "dev",
            "version": 1,
            "image": {"base": "python:3.11-slim", "platform": platform},
            "python": "3.11",
            "packages": {"six": "==1.16.0"},
        }
    )


def accepted(platform: str) -> bool:
    try:
        spec_for(platform)
    except ValidationError:
        return False
    return True


def test_spec_accepts_exactly_the_table() -> None:
    assert [p for p in CANDIDATES if accepted(p)] == list(platforms.PLATFORMS)


@pytest.mark.parametrize("platform", [p for p in CANDIDATES if accepted(p)])
def test_every_accepted_platform_can_be_locked_fetched_and_checked(
    platform: str, tmp_path: Path
) -> None:
    spec = spec_for(platform)
    target = platforms.PLATFORMS[platform]

    uv = lockfile.uv_command(from_model(spec), tmp_path / "in", tmp_path / "out", False)
    assert uv[uv.index("--python-platform") + 1] == target.uv_platform
    lock = Lock(tmp_path / "dev.lock", None, spec.python, platform, (), "")
    pip = wheels.pip_command(tmp_path / "req", tmp_path / "dest", lock)
    tags = [pip[i + 1] for i, word in enumerate(pip) if word == "--platform"]
    assert tags and tags == list(target.pip_platforms)
    assert all(tag.endswith(f"_{target.wheel_arch}") for tag in tags)
    assert target.arch and platforms.of_machine(target.machines[0]) == platform


def test_refused_platform_names_the_supported_ones() -> None:
    with pytest.raises(ValidationError) as info:
        spec_for("linux/arm/v7")
    assert "'linux/arm/v7' is not a platform envctl can lock for; use one of linux/amd64, " in str(
        info.value
    )


def test_pip_platforms_cover_older_manylinux_tags() -> None:
    tags = platforms.PLATFORMS["linux/amd64"].pip_platforms
    assert tags[0] == "manylinux_2_28_x86_64"
    assert {"manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64"} <= set(tags)
    arm = platforms.PLATFORMS["linux/arm64"].pip_platforms
    assert "manylinux2014_aarch64" in arm and "manylinux1_aarch64" not in arm


@pytest.mark.parametrize(
    ("machine", "platform"),
    [
        ("x86_64", "linux/amd64"),
        ("AMD64", "linux/amd64"),
        ("aarch64", "linux/arm64"),
        ("armv7l", None),
    ],
)
def test_of_machine_names_a_host(machine: str, platform: str | None) -> None:
    assert platforms.of_machine(machine) == platform
