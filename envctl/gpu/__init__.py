"""GPUs: the CUDA stack a lock needs (`stack`, pure), NVIDIA's driver floor per CUDA
version (`drivers`, a vendored table with its source and date) and this machine's
GPUs (`host`, through nvidia-smi)."""

from __future__ import annotations

from envctl.gpu.drivers import DriverFloor, at_least, driver_for, floor, version_key
from envctl.gpu.stack import Need, Pin, Stack, is_cuda_library, read_installed, read_stack

__all__ = [
    "DriverFloor",
    "Need",
    "Pin",
    "Stack",
    "at_least",
    "driver_for",
    "floor",
    "is_cuda_library",
    "read_installed",
    "read_stack",
    "version_key",
]
