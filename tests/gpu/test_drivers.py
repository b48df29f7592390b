"""The vendored driver table and the version arithmetic around it."""

from __future__ import annotations

import pytest

from envctl.gpu import at_least, driver_for, floor, version_key
from envctl.gpu.drivers import table


def test_table_carries_its_source_and_date() -> None:
    data = table()
    assert data["source"].startswith("https://docs.nvidia.com/cuda/cuda-toolkit-release-notes")
    assert data["retrieved"] == "2026-12-05"


@pytest.mark.parametrize(
    ("cuda", "version", "how"),
    [
        ("12.8", "570.26", "toolkit"),
        ("12.2", "535.54.03", "toolkit"),
        ("11.8", "520.61.05", "toolkit"),
        ("12.7", "525.60.13", "minor-compatibility"),  # no 12.7 release: the 12.x floor
        ("12", "525.60.13", "minor-compatibility"),
        ("13.2", "595.45.04", "toolkit"),
        ("13.3", "580.65.06", "minor-compatibility"),  # not in the table: the 13.x floor
    ],
)
def test_driver_for(cuda: str, version: str, how: str) -> None:
    found = driver_for(cuda)
    assert found is not None and (found.version, found.how) == (version, how)


def test_driver_for_an_unknown_major_is_none() -> None:
    assert driver_for("10.2") is None and driver_for("14.0") is None


def test_floors_rise_with_cuda() -> None:
    drivers = table()["toolkit_driver"]
    ordered = sorted(drivers, key=version_key)
    keys = [version_key(drivers[c]) for c in ordered]
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    ("have", "need", "ok"),
    [("535.104.05", "535.104", True), ("535.54.03", "535.104", False), ("570.26", "570.26", True)],
)
def test_at_least_compares_numerically(have: str, need: str, ok: bool) -> None:
    assert at_least(have, need) is ok


@pytest.mark.parametrize(("text", "value"), [(">=535.104", "535.104"), ("8.0", "8.0")])
def test_floor(text: str, value: str) -> None:
    assert floor(text, "driver") == value


@pytest.mark.parametrize("text", ["<535", "latest", ">=5x"])
def test_floor_refuses_what_is_not_a_floor(text: str) -> None:
    with pytest.raises(ValueError, match="is not a floor"):
        floor(text, "driver")
