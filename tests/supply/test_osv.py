"""The OSV matcher against records in the real schema: every event kind, explicit
versions, withdrawn records, aliases, pre-releases, Debian and SemVer order."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from envctl.supply import osv


def record(
    *ranges: dict[str, Any],
    ecosystem: str = "PyPI",
    name: str = "requests",
    versions: list[str] | None = None,
    **extra: Any,
) -> osv.Advisory:
    data: dict[str, Any] = {
        "schema_version": "1.6.0",
        "id": extra.pop("id", "PYSEC-2023-74"),
        "modified": "2024-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": list(ranges),
                **({"versions": versions} if versions is not None else {}),
            }
        ],
        **extra,
    }
    return osv.parse_advisory(data)


def eco(*events: dict[str, str], kind: str = "ECOSYSTEM") -> dict[str, Any]:
    return {"type": kind, "events": list(events)}


TWO_STRETCHES = [{"introduced": "1.0"}, {"fixed": "1.5"}, {"introduced": "2.0"}, {"fixed": "2.2"}]


@pytest.mark.parametrize(
    ("events", "version", "affected"),
    [
        ([{"introduced": "0"}, {"fixed": "2.31.0"}], "2.30.0", True),
        ([{"introduced": "0"}, {"fixed": "2.31.0"}], "2.31.0", False),
        ([{"introduced": "2.3.0"}, {"fixed": "2.31.0"}], "2.2.9", False),
        ([{"introduced": "2.3.0"}, {"fixed": "2.31.0"}], "2.3.0", True),
        # a pre-release of the fixed version is before it (PEP 440)
        ([{"introduced": "0"}, {"fixed": "2.31.0"}], "2.31.0rc1", True),
        ([{"introduced": "0"}, {"last_affected": "2.30.0"}], "2.30.0", True),
        ([{"introduced": "0"}, {"last_affected": "2.30.0"}], "2.30.1", False),
        # no upper bound: everything from introduced on
        ([{"introduced": "1.0"}], "99.0", True),
        # two stretches in one range
        (
            [{"introduced": "1.0"}, {"fixed": "1.5"}, {"introduced": "2.0"}, {"fixed": "2.2"}],
            "1.7",
            False,
        ),
        (
            [{"introduced": "1.0"}, {"fixed": "1.5"}, {"introduced": "2.0"}, {"fixed": "2.2"}],
            "2.1",
            True,
        ),
        # events given out of order are sorted first, as the schema says
        ([{"fixed": "2.2"}, {"introduced": "2.0"}], "2.1", True),
        # limit: nothing at or above it is affected
        ([{"introduced": "0"}, {"limit": "3.0"}], "2.9", True),
        ([{"introduced": "0"}, {"limit": "3.0"}], "3.0", False),
        # PEP 440 normal forms: 1.0 == 1.0.0
        ([{"introduced": "0"}, {"fixed": "1.0"}], "1.0.0", False),
    ],
)
def test_is_affected_follows_the_schema_for_pypi_ranges(
    events: list[dict[str, str]], version: str, affected: bool
) -> None:
    adv = record(eco(*events))
    assert osv.is_affected(version, adv.affected[0]) is affected


def test_is_affected_explicit_versions_list_matches_exactly() -> None:
    adv = record(versions=["1.0.1", "1.0.3"])
    assert osv.is_affected("1.0.1", adv.affected[0])
    assert not osv.is_affected("1.0.2", adv.affected[0])


@pytest.mark.parametrize(
    ("events", "version", "affected"),
    [
        ([{"introduced": "0"}, {"fixed": "2.36-9+deb12u4"}], "2.36-9+deb12u3", True),
        ([{"introduced": "0"}, {"fixed": "2.36-9+deb12u4"}], "2.36-9+deb12u4", False),
        # an epoch outranks everything after it
        ([{"introduced": "0"}, {"fixed": "1:1.0-1"}], "9.9-1", True),
        # ~ sorts before the empty string in dpkg
        ([{"introduced": "0"}, {"fixed": "1.0-1"}], "1.0~rc1-1", True),
    ],
)
def test_is_affected_debian_versions_in_dpkg_order(
    events: list[dict[str, str]], version: str, affected: bool
) -> None:
    adv = record(eco(*events), ecosystem="Debian:12", name="glibc")
    assert osv.is_affected(version, adv.affected[0]) is affected


def test_is_affected_semver_ranges_rank_prereleases_first() -> None:
    adv = record(eco({"introduced": "1.0.0-alpha.2"}, {"fixed": "1.0.0"}, kind="SEMVER"))
    aff = adv.affected[0]
    assert not osv.is_affected("1.0.0-alpha.1", aff)
    assert osv.is_affected("1.0.0-beta", aff)
    assert not osv.is_affected("1.0.0", aff)


def test_is_affected_git_ranges_never_decide_a_version() -> None:
    adv = record({"type": "GIT", "repo": "https://example.org/x", "events": [{"introduced": "0"}]})
    assert not osv.is_affected("1.0", adv.affected[0])


def test_comparable_says_when_a_version_cannot_be_ordered() -> None:
    adv = record(eco({"introduced": "0"}, {"fixed": "2.0"}))
    assert osv.comparable("1.0", adv.affected[0])
    assert not osv.comparable("not a version", adv.affected[0])
    assert not osv.is_affected("not a version", adv.affected[0])


def test_parse_advisory_normalises_pypi_names_and_keeps_withdrawn() -> None:
    adv = record(eco({"introduced": "0"}), name="Py_YAML", withdrawn="2024-02-01T00:00:00Z")
    assert adv.affected[0].name == "py-yaml"
    assert adv.withdrawn


def test_parse_advisory_refuses_a_record_without_an_id() -> None:
    with pytest.raises(osv.RecordError, match="needs a string `id`"):
        osv.parse_advisory({"affected": []})


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": "X"}, "X: `modified` must be an RFC 3339 time"),
        ({"id": "Z", "modified": "not a date"}, "Z: `modified` must be an RFC 3339 time"),
        (
            {"id": "Y", "modified": "2024-01-01T00:00:00Z", "affected": ["not an object"]},
            "Y: `affected` or `severity` does not follow the schema",
        ),
    ],
)
def test_parse_advisory_refuses_what_the_schema_requires(
    record: dict[str, Any], message: str
) -> None:
    with pytest.raises(osv.RecordError) as caught:
        osv.parse_advisory(record)
    assert str(caught.value) == message


def test_merge_aliases_groups_connected_ids_even_when_one_side_names_the_other() -> None:
    t = "2024-01-01T00:00:00Z"
    a = osv.parse_advisory({"id": "GHSA-aaaa", "modified": t, "aliases": ["CVE-2024-1"]})
    b = osv.parse_advisory({"id": "PYSEC-2024-9", "modified": t, "aliases": ["CVE-2024-1"]})
    c = osv.parse_advisory({"id": "CVE-2024-1", "modified": t})
    d = osv.parse_advisory({"id": "GHSA-other", "modified": t})
    groups = sorted(sorted(x.id for x in g) for g in osv.merge_aliases([a, b, c, d]))
    assert groups == [["CVE-2024-1", "GHSA-aaaa", "PYSEC-2024-9"], ["GHSA-other"]]


VERSIONS = st.tuples(
    st.integers(0, 5),
    st.integers(0, 5),
    st.integers(0, 5),
    st.sampled_from(["", "rc1", "a2", ".post1"]),
).map(lambda t: f"{t[0]}.{t[1]}.{t[2]}{t[3]}")


@given(VERSIONS, VERSIONS, VERSIONS)
def test_is_affected_one_stretch_is_the_half_open_interval(lo: str, hi: str, v: str) -> None:
    """For introduced=lo, fixed=hi: affected exactly when lo <= v < hi (PEP 440); a
    fix older than the introduction ends nothing after it (events are sorted)."""
    adv = record(eco({"introduced": lo}, {"fixed": hi}))
    if Version(lo) <= Version(hi):
        expected = Version(lo) <= Version(v) < Version(hi)
    else:
        expected = Version(v) >= Version(lo)
    assert osv.is_affected(v, adv.affected[0]) is expected


@given(VERSIONS, VERSIONS)
def test_is_affected_last_affected_is_inclusive(last: str, v: str) -> None:
    adv = record(eco({"introduced": "0"}, {"last_affected": last}))
    assert osv.is_affected(v, adv.affected[0]) is (Version(v) <= Version(last))
