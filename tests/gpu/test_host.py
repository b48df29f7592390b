"""nvidia-smi's answer read into the host's GPUs."""

from __future__ import annotations

from envctl.gpu.host import HostGpus, parse_query


def test_parse_query_takes_the_lowest_driver_and_capability() -> None:
    text = "550.54.15, 8.6\n550.54.15, 7.5\n"
    assert parse_query(text) == HostGpus(2, "550.54.15", "7.5")


def test_parse_query_skips_what_is_not_a_gpu_line() -> None:
    assert parse_query("550.54.15, [N/A]\n\n") is None
    assert parse_query("No devices were found\n") is None
    assert parse_query("535.104.05, 9.0\nwarning: something\n") == HostGpus(1, "535.104.05", "9.0")
