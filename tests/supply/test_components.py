"""dpkg's status file read as SBOM components."""

from __future__ import annotations

from envctl.supply.components import debian_components, debian_ecosystem, dpkg_packages

STATUS = """Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u7

Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl (3.0.15-1~deb12u1)
Version: 3.0.15-1~deb12u1+b1

Package: removed-one
Status: deinstall ok config-files
Version: 1.0

Package: python3
Status: install ok installed
Architecture: amd64
Version: 3.11.2-1+b1
"""


def test_dpkg_packages_keeps_installed_ones_with_their_source() -> None:
    found = {p.name: p for p in dpkg_packages(STATUS)}
    assert set(found) == {"libc6", "libssl3", "python3"}
    assert (found["libc6"].source, found["libc6"].source_version) == ("glibc", None)
    assert (found["libssl3"].source, found["libssl3"].source_version) == (
        "openssl",
        "3.0.15-1~deb12u1",
    )
    assert found["python3"].source is None


def test_debian_components_purls_and_match_names() -> None:
    comps = {c.name: c for c in debian_components(dpkg_packages(STATUS), "Debian:12")}
    ssl = comps["libssl3"]
    assert ssl.purl == "pkg:deb/debian/libssl3@3.0.15-1~deb12u1%2Bb1?arch=amd64&distro=debian-12"
    assert (ssl.match_name, ssl.match_version) == ("openssl", "3.0.15-1~deb12u1")
    assert (comps["libc6"].match_name, comps["libc6"].match_version) == ("glibc", "2.36-9+deb12u7")


def test_debian_ecosystem_from_os_release() -> None:
    assert debian_ecosystem({"ID": "debian", "VERSION_ID": "12"}) == "Debian:12"
    assert debian_ecosystem({"ID": "ubuntu", "VERSION_ID": "24.04"}) is None
