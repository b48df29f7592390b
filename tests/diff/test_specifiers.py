"""Specifier reasoning checked against brute force over a grid of versions."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envctl.diff.specifiers import allows, is_satisfiable

# Specifiers name versions with components 1..2 (few, so bounds often meet);
# candidates reach below and above them, and X.Y.Z.1 sits between each grid
# version and the next one up.
GRID = [".".join(map(str, v)) for v in itertools.product(range(1, 3), repeat=3)]
CANDIDATES = sorted(
    {
        text
        for v in itertools.product(range(4), repeat=3)
        for text in (".".join(map(str, v)), ".".join(map(str, v)) + ".1")
    },
    key=Version,
)
SPECIFIER = st.builds(
    lambda op, version: f"{op}{version}",
    st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~="]),
    st.sampled_from(GRID),
)
SPECIFIER_SET = st.lists(SPECIFIER, min_size=1, max_size=3).map(",".join)


VERSIONS = [Version(text) for text in CANDIDATES]


def brute_force(specs: list[str]) -> bool:
    sets = [SpecifierSet(spec) for spec in specs]
    return any(all(s.contains(v, prereleases=True) for s in sets) for v in VERSIONS)


@settings(max_examples=200, deadline=None)
@given(st.lists(SPECIFIER_SET, min_size=1, max_size=3))
def test_is_satisfiable_agrees_with_brute_force(specs: list[str]) -> None:
    assert is_satisfiable(*specs) == brute_force(specs)


@settings(max_examples=100, deadline=None)
@given(SPECIFIER_SET, st.sampled_from(CANDIDATES))
def test_a_pin_is_satisfiable_with_a_set_exactly_when_the_set_allows_it(
    spec: str, version: str
) -> None:
    assert is_satisfiable(f"=={version}", spec) == allows(spec, version)


def test_any_version_is_always_satisfiable() -> None:
    assert is_satisfiable("*", ">=1.0") and allows("*", "0.0.1")


def test_grade_names_a_build_when_only_the_local_version_differs() -> None:
    from envctl.diff.specifiers import grade

    assert grade(Version("2.6.0"), Version("2.6.0+cpu")) == "build"
    assert grade(Version("2.6.0+cu124"), Version("2.6.0+cpu")) == "build"
    assert grade(Version("2.6.0"), Version("2.6.1+cpu")) == "patch"
