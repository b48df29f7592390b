"""Shared timing helpers for the benchmark scripts: interleaved runs, honest ratios.

A ratio of two medians taken minutes apart measures the machine's load as much
as the commands: on a shared 2-core machine the baseline may run in a quiet
minute and the command in a busy one. So every comparison runs in rounds (A, B,
A, B, ...: each measure once per round, in the same order), takes the ratio
within each round, and reports the median of those ratios with their min and
max, beside each side's own median.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

Measure = Callable[[], float]  # one run -> its wall time in seconds


def envctl_argv() -> list[str]:
    """Run envctl the way a user does: the console script beside this interpreter."""
    script = Path(sys.executable).with_name("envctl")
    return [str(script)] if script.exists() else [sys.executable, "-m", "envctl"]


def process(
    argv: Sequence[str], *, cwd: Path | None = None, ok_codes: Sequence[int] = (0,)
) -> Measure:
    """A measure that runs `argv` as a whole process and times it."""

    def run() -> float:
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, check=False)
        elapsed = time.perf_counter() - start
        if proc.returncode not in ok_codes:
            raise SystemExit(
                f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode()[-500:]}"
            )
        return elapsed

    return run


def call(fn: Callable[[], object]) -> Measure:
    """A measure that times an in-process call."""

    def run() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    return run


def rounds(
    measures: Mapping[str, Measure], *, runs: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Each measure once per round, in order, for `runs` rounds after `warmup`
    untimed ones: a change of load hits every measure of a round alike."""
    samples: dict[str, list[float]] = {name: [] for name in measures}
    for i in range(warmup + runs):
        for name, measure in measures.items():
            seconds = measure()
            if i >= warmup:
                samples[name].append(seconds)
    return samples


@dataclass(frozen=True)
class Ratio:
    """`other` against `base` over paired runs: the median of the per-round
    ratios, their min and max, and each side's median."""

    median: float
    low: float
    high: float
    base_seconds: float
    other_seconds: float
    pairs: int

    @classmethod
    def of(cls, base: Sequence[float], other: Sequence[float]) -> Ratio:
        pairs = min(len(base), len(other))
        if pairs == 0:
            raise ValueError("no paired runs to compare")
        ratios = [o / b for b, o in zip(base[:pairs], other[:pairs], strict=True)]
        return cls(
            median=statistics.median(ratios),
            low=min(ratios),
            high=max(ratios),
            base_seconds=statistics.median(base),
            other_seconds=statistics.median(other),
            pairs=pairs,
        )

    def spread(self) -> str:
        return f"{self.low:.1f}-{self.high:.1f}"

    def __str__(self) -> str:
        return f"{self.median:.1f}x [{self.spread()}]"

    def to_json(self) -> dict[str, float | int]:
        return {
            "seconds": round(self.other_seconds, 3),
            "baseline_seconds": round(self.base_seconds, 3),
            "ratio": round(self.median, 2),
            "ratio_min": round(self.low, 2),
            "ratio_max": round(self.high, 2),
            "pairs": self.pairs,
        }


def table(baseline: str, rows: Sequence[tuple[str, Ratio]]) -> str:
    """One row per command: its median, the baseline's median over the same
    rounds, and the median per-round ratio with its min and max."""
    width = max(len(baseline), *(len(name) for name, _ in rows))
    lines = [f"{'command'.ljust(width)}  median s    base s    ratio  min-max"]
    for name, r in rows:
        lines.append(
            f"{name.ljust(width)}  {r.other_seconds:8.3f}  {r.base_seconds:8.3f}  "
            f"{r.median:6.1f}x  {r.spread()}"
        )
    pairs = rows[0][1].pairs if rows else 0
    lines.append(
        f"base: {baseline}, run in the same {pairs} rounds; ratio: median of the "
        "per-round ratios, with their min-max"
    )
    return "\n".join(lines)
