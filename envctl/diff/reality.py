"""Reality (a probed interpreter or image) as one side of a comparison."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envctl.diff.model import Side
from envctl.gpu import read_installed

if TYPE_CHECKING:
    from envctl.probe import Reality


def reality_side(reality: Reality) -> Side:
    """A probe's `Reality` as a diff Side (data access and compute are unknowable; the
    CUDA stack is read from the installed distributions)."""
    return Side(
        label=reality.label,
        version=reality.spec_version,
        fingerprint=reality.fingerprint,
        python=reality.python,
        image=reality.base_image,
        platform=reality.platform,
        os=reality.os,
        installed=reality.distributions,
        indexes=None,
        system_packages=reality.system_packages,
        data=None,
        compute=None,
        gpu_stack=read_installed(reality.distributions),
    )
