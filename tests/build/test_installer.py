"""pip's command lines: one builder for the host download and the image install."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from envctl.build import render, testlayer, wheels
from envctl.build.installer import WheelTarget, pip_argv
from envctl.build.lockfile import Lock
from envctl.oci.platforms import PLATFORMS

LOCKED = ["--no-deps", "--require-hashes", "--no-cache-dir", "--disable-pip-version-check"]


def test_install_is_offline_from_the_wheels_folder() -> None:
    assert pip_argv("/v/bin/python", requirements="/w/req lock", wheels="/w/wheels") == [
        *("/v/bin/python", "-m", "pip", "install", "--no-index", *LOCKED),
        *("--find-links", "/w/wheels", "-r", "/w/req lock"),
    ]


def test_download_targets_the_image_not_the_host() -> None:
    arm = PLATFORMS["linux/arm64"]
    argv = pip_argv("py", requirements="r", wheels="d", download_for=WheelTarget("3.12", arm))

    assert argv[:9] == ["py", "-m", "pip", "download", "--only-binary=:all:", *LOCKED]
    assert argv[argv.index("--python-version") + 1] == "3.12"
    assert (argv[argv.index("--dest") + 1], argv[argv.index("-r") + 1]) == ("d", "r")
    assert argv[argv.index("--implementation") + 1] == "cp"
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--platform"] == list(arm.pip_platforms)


def test_wheels_download_uses_the_lock_header(tmp_path: Path) -> None:
    lock = Lock(tmp_path / "dev.lock", None, "3.11", "linux/amd64", (), "")
    target = WheelTarget("3.11", PLATFORMS["linux/amd64"])

    assert wheels.pip_command(tmp_path / "r.txt", tmp_path / "d", lock) == pip_argv(
        sys.executable,
        requirements=str(tmp_path / "r.txt"),
        wheels=str(tmp_path / "d"),
        download_for=target,
    )


def test_every_dockerfile_quotes_the_install_list_as_json() -> None:
    image = pip_argv(
        "/opt/venv/bin/python",
        requirements="/tmp/envctl/requirements.lock",
        wheels="/tmp/envctl/wheels",
    )
    tests = pip_argv(
        "/opt/venv/bin/python",
        requirements="/tmp/envctl-tests/requirements.lock",
        wheels="/tmp/envctl-tests/wheels",
    )

    assert render.pip_install_argv() == image
    assert f"RUN {json.dumps(tests)}\n" in testlayer.dockerfile("sha256:" + "a" * 64)
