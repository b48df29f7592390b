"""Two images' SBOMs compared: packages and findings on one side only."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from envctl.supply.changes import PackageChange, finding_changes, package_changes
from envctl.supply.components import Component
from envctl.supply.matching import Finding


def comp(ecosystem: str, name: str, version: str) -> Component:
    return Component(ecosystem, name, version, f"pkg:x/{name}@{version}")


def finding(id_: str, package: str, installed: str, ecosystem: str = "PyPI") -> Finding:
    return Finding(id_, (), ecosystem, package, installed, (), "high", 7.5, "")


def test_package_changes_lists_added_removed_and_changed_python_and_debian() -> None:
    left = [
        comp("PyPI", "numpy", "1.26.4"),
        comp("PyPI", "six", "1.16.0"),
        comp("Debian:12", "libc6", "2.36-9"),
        comp("Debian:12", "zlib1g", "1:1.2.13"),
    ]
    right = [
        comp("PyPI", "numpy", "2.0.0"),
        comp("PyPI", "requests", "2.32.3"),
        comp("Debian:13", "libc6", "2.41-6"),
        comp("Debian:13", "zlib1g", "1:1.2.13"),
    ]
    assert package_changes(left, right) == [
        PackageChange("Debian", "libc6", "2.36-9", "2.41-6"),
        PackageChange("PyPI", "numpy", "1.26.4", "2.0.0"),
        PackageChange("PyPI", "requests", None, "2.32.3"),
        PackageChange("PyPI", "six", "1.16.0", None),
    ]
    assert [c.change for c in package_changes(left, right)] == [
        "changed",
        "changed",
        "added",
        "removed",
    ]


def test_a_finding_still_there_at_another_version_is_on_both_sides() -> None:
    left = [finding("CVE-1", "requests", "2.30.0"), finding("CVE-2", "six", "1.16.0"),
            finding("CVE-3", "glibc", "2.36-9", "Debian:12")]  # fmt: skip
    right = [finding("CVE-1", "requests", "2.31.0"), finding("CVE-4", "numpy", "2.0.0"),
             finding("CVE-3", "glibc", "2.41-6", "Debian:13")]  # fmt: skip
    only_left, only_right = finding_changes(left, right)
    assert [f.id for f in only_left] == ["CVE-2"]
    assert [f.id for f in only_right] == ["CVE-4"]


versions = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d", "e"]), st.sampled_from(["1", "2", "3"]), max_size=5
)


@given(versions, versions)
def test_package_changes_replayed_on_the_left_give_the_right(
    left: dict[str, str], right: dict[str, str]
) -> None:
    changes = package_changes(
        [comp("PyPI", n, v) for n, v in left.items()],
        [comp("PyPI", n, v) for n, v in right.items()],
    )
    replayed = dict(left)
    for c in changes:
        if c.right is None:
            del replayed[c.name]
        else:
            replayed[c.name] = c.right
    assert replayed == right
    assert (changes == []) == (left == right)
