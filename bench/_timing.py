"""Shared timing helpers for the benchmark scripts: medians of whole-process runs."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def envctl_argv() -> list[str]:
    """Run envctl the way a user does: the console script beside this interpreter."""
    script = Path(sys.executable).with_name("envctl")
    return [str(script)] if script.exists() else [sys.executable, "-m", "envctl"]


def median_seconds(
    argv: Sequence[str], *, runs: int, cwd: Path | None = None, ok_codes: Sequence[int] = (0,)
) -> float:
    """Median wall time of `argv` over `runs` runs (after one warm-up run)."""
    samples = []
    for i in range(runs + 1):
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, check=False)
        elapsed = time.perf_counter() - start
        if proc.returncode not in ok_codes:
            raise SystemExit(
                f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode()[-500:]}"
            )
        if i:
            samples.append(elapsed)
    return statistics.median(samples)


def table(rows: list[tuple[str, float, float]]) -> str:
    width = max(len(r[0]) for r in rows)
    lines = [f"{'command'.ljust(width)}  median s   ratio"]
    lines += [f"{name.ljust(width)}  {sec:8.3f}  {ratio:6.1f}x" for name, sec, ratio in rows]
    return "\n".join(lines)
