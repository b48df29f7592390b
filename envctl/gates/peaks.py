"""Peak memory and CPU of a running container, from the engine's stats stream.

cgroup v2 keeps no maximum the engine reports (`max_usage` is cgroup v1 only),
so the stream is sampled (about once a second) while the container works and
the largest sample kept: a spike shorter than a sample can be missed, which the
evidence says by the number of samples. Memory is counted as `docker stats`
counts it: usage less the inactive file cache, which the kernel reclaims before
it would kill for memory. CPU is the cores used over each sample's interval.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from envctl.spec.values import format_bytes

if TYPE_CHECKING:
    from envctl.engine import Service

JOIN_SECONDS = 3.0  # the stream yields about once a second; a stop waits for one more


@dataclass(frozen=True)
class Peaks:
    memory: int | None = None  # bytes
    cpu: float | None = None  # cores
    samples: int = 0

    def evidence(self) -> dict[str, Any]:
        return {
            "peak_memory": format_bytes(self.memory) if self.memory is not None else None,
            "peak_memory_bytes": self.memory,
            "peak_cpu": round(self.cpu, 3) if self.cpu is not None else None,
            "samples": self.samples,
        }


def memory_used(sample: Mapping[str, Any]) -> int | None:
    """Bytes in use, without the inactive file cache (v1 and v2 name it differently)."""
    stats = sample.get("memory_stats") or {}
    usage = stats.get("usage")
    if not isinstance(usage, int):
        return None
    detail = stats.get("stats") or {}
    cache = detail.get("inactive_file", detail.get("total_inactive_file", 0))
    return max(0, usage - int(cache or 0))


def cpu_cores(sample: Mapping[str, Any]) -> float | None:
    """Cores the container used since the previous sample (None on the first one)."""
    now, before = sample.get("cpu_stats") or {}, sample.get("precpu_stats") or {}
    used = _total(now) - _total(before)
    system = (now.get("system_cpu_usage") or 0) - (before.get("system_cpu_usage") or 0)
    if not before.get("system_cpu_usage") or system <= 0 or used < 0:
        return None
    online = now.get("online_cpus") or len(now.get("cpu_usage", {}).get("percpu_usage") or [1])
    return used / system * online


def _total(stats: Mapping[str, Any]) -> int:
    return int((stats.get("cpu_usage") or {}).get("total_usage") or 0)


def fold(peaks: Peaks, sample: Mapping[str, Any]) -> Peaks:
    """`peaks` with one more sample taken into account (pure)."""
    memory, cpu = memory_used(sample), cpu_cores(sample)
    return Peaks(
        memory=_larger(peaks.memory, memory),
        cpu=_larger(peaks.cpu, cpu),
        samples=peaks.samples + 1,
    )


def _larger(a: Any, b: Any) -> Any:
    if a is None:
        return b
    return a if b is None else max(a, b)


class Sampler:
    """Reads a container's stats in a background thread; `peaks` is what it saw so far."""

    def __init__(self) -> None:
        self._peaks = Peaks()
        self._lock = threading.Lock()
        self.stopped = threading.Event()

    @property
    def peaks(self) -> Peaks:
        with self._lock:
            return self._peaks

    def take(self, sample: Mapping[str, Any]) -> None:
        with self._lock:
            self._peaks = fold(self._peaks, sample)


@contextmanager
def sampling(container: Service | str) -> Iterator[Sampler]:
    """Sample `container`'s usage for the duration of the block."""
    from envctl import engine
    from envctl.errors import EngineError

    sampler = Sampler()

    def read() -> None:
        try:
            for sample in engine.stats_stream(container):
                sampler.take(sample)
                if sampler.stopped.is_set():
                    return
        except EngineError:
            return  # the container went away: what was seen is what there is

    worker = threading.Thread(target=read, name="envctl-peaks", daemon=True)
    worker.start()
    try:
        yield sampler
    finally:
        sampler.stopped.set()
        worker.join(JOIN_SECONDS)
