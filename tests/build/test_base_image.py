"""What the base image holds: dpkg-query output read by the probe's parser."""

from __future__ import annotations

import pytest

from envctl.build.base_image import DPKG_QUERY, is_installed, missing_system_packages
from envctl.probe import dpkg_installed

# What DPKG_QUERY prints: dpkg's status format, one paragraph per package.
QUERY_OUTPUT = (
    "Package: curl\nVersion: 7.88.1-10\nStatus: install ok installed\n\n"
    "Package: vim\nVersion: 2:9.0\nStatus: deinstall ok config-files\n\n"
    "Package: libgomp1\nVersion: 12.2.0-14\nStatus: hold ok installed\n\n"
)


def test_query_output_is_read_by_the_probe_parser() -> None:
    assert dict(dpkg_installed(QUERY_OUTPUT)) == {"curl": "7.88.1-10", "libgomp1": "12.2.0-14"}
    assert DPKG_QUERY[-1].startswith("-f=Package: ${Package}\nVersion: ${Version}\n")


@pytest.mark.parametrize(
    ("requested", "expected"),
    [("curl", True), ("curl=7.88.1-10", True), ("curl=7.0", False), ("vim", False), ("jq", False)],
)
def test_is_installed_matches_name_and_optional_version(requested: str, expected: bool) -> None:
    assert is_installed(requested, dict(dpkg_installed(QUERY_OUTPUT))) is expected


@pytest.mark.docker
def test_missing_system_packages_asks_the_image(base_image: str) -> None:
    assert missing_system_packages(base_image, ["libc6", "envctl-no-such-package", "libc6"]) == [
        "envctl-no-such-package"
    ]
