"""What a gate container gets of its stage: CPU quota, memory limit, env (pure).

A gate is evidence only if it ran the way the stage runs. The engine cannot give
more CPUs than its host has, so the quota is cut to what exists and the cut is
said in the evidence; the evidence names the limits actually applied, never the
ones asked for alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from envctl.spec.types import Spec
from envctl.spec.values import format_bytes

NANO = 1_000_000_000  # Docker's NanoCpus: billionths of a CPU


@dataclass(frozen=True)
class StageResources:
    """What the stage declares for its containers (from its spec)."""

    stage: str
    cpu: float | None = None  # cores; None: no quota
    memory: int | None = None  # bytes; None: no limit
    env: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, spec: Spec) -> StageResources:
        memory = spec.compute.memory or None  # 0 would read as "no limit" to the engine
        return cls(spec.name, spec.compute.cpu, memory, tuple(sorted(spec.env.items())))


@dataclass(frozen=True)
class Limits:
    """What a gate container is started with: the stage's asks, cut to the host."""

    stage: str
    cpu: float | None  # applied
    cpu_asked: float | None
    host_cpus: int | None
    memory: int | None  # bytes, applied, with no swap beyond it
    env: tuple[tuple[str, str], ...] = ()

    @property
    def reduced(self) -> bool:
        return self.cpu is not None and self.cpu_asked is not None and self.cpu < self.cpu_asked

    @property
    def nano_cpus(self) -> int | None:
        return round(self.cpu * NANO) if self.cpu is not None else None

    @property
    def memory_text(self) -> str | None:
        return memory_text(self.memory) if self.memory is not None else None

    def note(self) -> str:
        """`ran with 2 of 4 CPUs` when the host had fewer than the stage asks; else ''."""
        if not self.reduced:
            return ""
        return f"ran with {_cores(self.cpu)} of {_cores(self.cpu_asked)} CPUs"

    def evidence(self) -> dict[str, Any]:
        """The limits the container ran under, for the gate's evidence and the record."""
        shown: dict[str, Any] = {
            "cpu": self.cpu,
            "memory": self.memory_text,
            "swap": "none" if self.memory is not None else None,
        }
        if self.reduced:
            shown.update(cpu_asked=self.cpu_asked, host_cpus=self.host_cpus, note=self.note())
        return shown

    def oom_message(self) -> str:
        """`killed: out of memory at 8Gi, prod's limit`."""
        at = self.memory_text or "no limit"
        return f"killed: out of memory at {at}, {self.stage}'s limit"


def applied(stage: StageResources, host_cpus: int | None) -> Limits:
    """The limits a gate container gets on an engine whose host has `host_cpus`
    CPUs (None: not asked, because the stage sets no CPU quota)."""
    cpu = stage.cpu
    if cpu is not None and host_cpus is not None and host_cpus > 0:
        cpu = min(cpu, float(host_cpus))
    return Limits(stage.stage, cpu, stage.cpu, host_cpus, stage.memory, stage.env)


_DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}


def memory_text(value: int) -> str:
    """Bytes as a spec would write them: the shorter of the binary (`8Gi`) and the
    decimal (`8G`) spelling, so a message quotes the limit as the stage declared it."""
    binary = format_bytes(value)
    exact = [f"{value // size}{unit}" for unit, size in _DECIMAL.items() if value % size == 0]
    decimal = exact[-1] if exact else str(value)
    return decimal if value and len(decimal) < len(binary) else binary


def _cores(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"
