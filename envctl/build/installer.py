"""pip's command lines: locked wheels fetched on the host, installed in an image.

One function builds both, as an argument list and never as a string, so the
flags that make an install exactly the lock (hashes required, no dependency
resolution, no cache) are written once. Dockerfiles receive the list and quote
each element as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from envctl.oci.platforms import Platform

# What keeps pip to the lock: every file hash-checked, nothing resolved beyond it.
_LOCKED = ("--no-deps", "--require-hashes", "--no-cache-dir", "--disable-pip-version-check")


@dataclass(frozen=True)
class WheelTarget:
    """The interpreter wheels are downloaded for, when it is not the one running pip."""

    python: str  # "3.11"
    platform: Platform


def pip_argv(
    python: str, *, requirements: str, wheels: str, download_for: WheelTarget | None = None
) -> list[str]:
    """`python -m pip install` of hashed `requirements` offline from the `wheels`
    folder; with `download_for`, `pip download` of them into `wheels` instead."""
    if download_for is None:
        return [
            *(python, "-m", "pip", "install", "--no-index", *_LOCKED),
            *("--find-links", wheels, "-r", requirements),
        ]
    argv = [
        *(python, "-m", "pip", "download", "--only-binary=:all:", *_LOCKED),
        *("--progress-bar", "off", "--implementation", "cp"),
        *("--python-version", download_for.python, "--dest", wheels, "-r", requirements),
    ]
    for tag in download_for.platform.pip_platforms:
        argv += ["--platform", tag]
    return argv
