"""Components against the fixture database: aliases counted once, withdrawn records
skipped, Debian matched by source package, no cross-ecosystem collisions, waivers."""

from __future__ import annotations

from datetime import date

import pytest

from envctl.supply import matching
from envctl.supply.components import Component
from envctl.supply.vulndb import Database

TODAY = date(2026, 12, 5)


def pypi(name: str, version: str) -> Component:
    return Component("PyPI", name, version, f"pkg:pypi/{name}@{version}")


def deb(name: str, version: str, source: str | None = None, sv: str | None = None) -> Component:
    return Component("Debian:12", name, version, f"pkg:deb/debian/{name}@{version}", source, sv)


def test_match_counts_a_cve_and_its_aliases_once_with_the_highest_rating(db: Database) -> None:
    found = matching.match([pypi("requests", "2.30.0")], db).findings
    assert len(found) == 1
    (f,) = found
    assert f.id == "CVE-2023-32681"
    assert set(f.aliases) == {"GHSA-j8r2-6x86-q33q", "PYSEC-2023-74"}
    assert (f.rating, f.fixed) == (
        "medium",
        ("2.31.0",),
    )  # its CVSS 3.1 vector scores 6.1 (NVD too)
    assert f.score == pytest.approx(6.1)


def test_match_fixed_version_is_clean(db: Database) -> None:
    assert matching.match([pypi("requests", "2.31.0")], db).findings == ()


def test_match_skips_withdrawn_records_and_uses_the_versions_list(db: Database) -> None:
    found = matching.match([pypi("six", "1.16.0"), pypi("six", "1.17.0")], db).findings
    assert [(f.id, f.installed, f.rating) for f in found] == [
        ("CVE-2099-0001", "1.16.0", "critical")
    ]


def test_match_debian_binary_packages_by_their_source(db: Database) -> None:
    comps = [
        deb("libc6", "2.36-9+deb12u3", source="glibc"),
        deb("libc-bin", "2.36-9+deb12u99", "glibc"),
    ]
    found = matching.match(comps, db).findings
    assert [(f.package, f.installed, f.id) for f in found] == [
        ("libc6", "2.36-9+deb12u3", "CVE-2099-0002")
    ]


def test_match_never_crosses_ecosystems_on_a_shared_name(db: Database) -> None:
    """PyPI's docker client is not the Debian docker.io engine (grype#576)."""
    assert matching.match([pypi("docker", "7.1.0"), pypi("docker-io", "1.0")], db).findings == ()
    assert [f.id for f in matching.match([deb("docker.io", "20.10")], db).findings] == [
        "DEBIAN-CVE-2099-0003"
    ]


def test_match_lists_versions_it_cannot_order(db: Database) -> None:
    result = matching.match([pypi("requests", "not-a-version")], db)
    assert result.findings == ()
    assert result.uncomparable and "requests not-a-version" in result.uncomparable[0]


def test_waive_matches_any_alias_and_expired_waivers_waive_nothing(db: Database) -> None:
    found = matching.match([pypi("requests", "2.30.0"), pypi("six", "1.16.0")], db).findings
    waivers = [
        matching.Waiver("GHSA-j8r2-6x86-q33q", "no proxies here", package="requests"),
        matching.Waiver("CVE-2099-0001", "was fine", expires=date(2026, 12, 4)),
    ]
    waived = {f.package: f for f in matching.waive(found, waivers, TODAY)}
    assert waived["requests"].waived_by == "no proxies here"
    assert waived["six"].waived_by is None
    assert waived["six"].waiver_expired == date(2026, 12, 4)


def test_waive_for_another_package_does_not_apply(db: Database) -> None:
    found = matching.match([pypi("requests", "2.30.0")], db).findings
    waived = matching.waive(found, [matching.Waiver("CVE-2023-32681", "x", package="six")], TODAY)
    assert waived[0].waived_by is None


@pytest.mark.parametrize(
    ("fail_on", "unknown_as", "blocking"),
    [
        ("critical", "high", {"CVE-2099-0001"}),
        ("high", "high", {"CVE-2099-0001", "PYSEC-2099-10"}),
        ("high", "low", {"CVE-2099-0001"}),
        ("medium", "low", {"CVE-2099-0001", "CVE-2023-32681"}),
    ],
)
def test_blocking_by_threshold_and_how_unknown_ranks(
    db: Database, fail_on: str, unknown_as: str, blocking: set[str]
) -> None:
    comps = [pypi("requests", "2.30.0"), pypi("six", "1.16.0"), pypi("jinja2", "3.1.4")]
    found = matching.match(comps, db).findings
    got = matching.blocking(found, fail_on, unknown_as=unknown_as)  # type: ignore[arg-type]
    assert {f.id for f in got} == blocking
