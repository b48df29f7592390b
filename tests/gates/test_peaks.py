"""Peak usage from the engine's stats samples (pure), as cgroup v1 and v2 engines report them."""

from __future__ import annotations

from typing import Any

import pytest

from envctl.gates import peaks
from envctl.gates.peaks import Peaks


def _sample(
    usage: int | None,
    *,
    cache_key: str = "inactive_file",
    cache: int = 0,
    cpu: tuple[int, int] = (0, 0),
    system: tuple[int, int] = (0, 0),
    online: int = 2,
) -> dict[str, Any]:
    memory: dict[str, Any] = {} if usage is None else {"usage": usage, "stats": {cache_key: cache}}
    return {
        "memory_stats": memory,
        "precpu_stats": {"cpu_usage": {"total_usage": cpu[0]}, "system_cpu_usage": system[0]},
        "cpu_stats": {
            "cpu_usage": {"total_usage": cpu[1]},
            "system_cpu_usage": system[1],
            "online_cpus": online,
        },
    }


@pytest.mark.parametrize("cache_key", ["inactive_file", "total_inactive_file"])  # v2, v1
def test_memory_in_use_leaves_out_the_reclaimable_file_cache(cache_key: str) -> None:
    assert peaks.memory_used(_sample(500, cache_key=cache_key, cache=120)) == 380


def test_a_sample_without_memory_says_nothing_of_it() -> None:
    assert peaks.memory_used(_sample(None)) is None


def test_cpu_is_the_cores_used_over_the_sample_s_interval() -> None:
    # 1.5 s of CPU time while the host's 2 CPUs spent 2 s: 1.5 cores.
    sample = _sample(0, cpu=(1_000, 1_000 + 1_500), system=(10_000, 12_000), online=2)

    assert peaks.cpu_cores(sample) == pytest.approx(1.5)


def test_the_first_sample_has_no_interval_to_read_cpu_from() -> None:
    assert peaks.cpu_cores(_sample(0, cpu=(0, 500), system=(0, 1_000))) is None


def test_the_peaks_are_the_largest_samples_seen() -> None:
    samples = [
        _sample(100, cpu=(0, 500), system=(0, 1_000)),  # first: no cpu
        _sample(300, cpu=(0, 500), system=(1_000, 2_000)),  # 1.0 core
        _sample(200, cpu=(0, 250), system=(1_000, 2_000)),  # 0.5 core
    ]

    seen = Peaks()
    for sample in samples:
        seen = peaks.fold(seen, sample)

    assert seen == Peaks(memory=300, cpu=1.0, samples=3)
    assert seen.evidence() == {
        "peak_memory": "300",
        "peak_memory_bytes": 300,
        "peak_cpu": 1.0,
        "samples": 3,
    }
