"""This machine's GPUs as `nvidia-smi` reports them: count, driver, compute capability."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from envctl.errors import EnvctlError
from envctl.gpu.drivers import version_key
from envctl.tools import run_tool

QUERY = ("--query-gpu=driver_version,compute_cap", "--format=csv,noheader")


@dataclass(frozen=True)
class HostGpus:
    count: int
    driver: str  # the lowest driver among the GPUs (all share one in practice)
    capability: str  # the lowest compute capability among them


@dataclass(frozen=True)
class HostReading:
    gpus: HostGpus | None  # None: no GPU, or (known=False) nvidia-smi could not tell
    note: str
    known: bool = True


def parse_query(text: str) -> HostGpus | None:
    """`nvidia-smi --query-gpu=driver_version,compute_cap --format=csv,noheader`
    output ("550.54.15, 8.6" per GPU) -> HostGpus; None when no line reads."""
    rows = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 2:
            continue
        try:
            version_key(parts[0])
            version_key(parts[1])
        except ValueError:
            continue
        rows.append((parts[0], parts[1]))
    if not rows:
        return None
    driver = min((r[0] for r in rows), key=version_key)
    capability = min((r[1] for r in rows), key=version_key)
    return HostGpus(len(rows), driver, capability)


def read_host() -> HostReading:
    """Ask `nvidia-smi` on PATH; its absence means no NVIDIA GPU is usable here."""
    program = shutil.which("nvidia-smi")
    if program is None:
        return HostReading(None, "no nvidia-smi on PATH: local has no NVIDIA GPU")
    try:
        proc = run_tool([program, *QUERY], timeout=30)
    except EnvctlError as exc:
        return HostReading(None, f"nvidia-smi could not run ({exc}): local GPUs unknown", False)
    gpus = parse_query(proc.stdout_text) if proc.ok else None
    if gpus is None:
        last = (proc.stderr_text or proc.stdout_text).strip().splitlines()[-1:] or ["no output"]
        return HostReading(
            None, f"nvidia-smi gave no GPU ({last[0][:120]}): local GPUs unknown", False
        )
    return HostReading(
        gpus, f"local GPUs: {gpus.count}, driver {gpus.driver}, capability {gpus.capability}"
    )
