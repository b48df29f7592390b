"""Markers for the target, the Python choice, duplicates reconciled."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet

from envctl.errors import InputError, UsageError
from envctl.spec.imports.model import (
    Collector,
    Options,
    Pin,
    Target,
    allowed_minors,
    choose_python,
    marker_holds,
    merge_specifiers,
    pinned_minor,
)

PY311 = Target("3.11")


@pytest.mark.parametrize(
    ("marker", "target", "expected"),
    [
        ('python_version < "3.12"', PY311, True),
        ('python_version >= "3.12"', PY311, False),
        ('sys_platform == "win32"', PY311, False),
        ('platform_machine == "aarch64"', Target("3.11", "linux/arm64"), True),
        ('platform_machine == "aarch64"', PY311, False),
        ("python_full_version < '3.11'", PY311, False),
        ("python_full_version < '3.12'", PY311, True),
        ("implementation_name == 'pypy'", PY311, False),
        ('extra == "test"', PY311, False),
    ],
)
def test_marker_holds_for_the_target(marker: str, target: Target, expected: bool) -> None:
    assert marker_holds(marker, target) is expected


def test_marker_on_the_patch_level_cannot_be_decided() -> None:
    assert marker_holds("python_full_version >= '3.11.4'", PY311) == (
        "marker `python_full_version >= '3.11.4'` depends on the patch level of Python 3.11"
    )


@pytest.mark.parametrize(
    ("requires", "expected"),
    [
        ("==3.11.*", "3.11"),
        (">=3.11,<3.12", "3.11"),
        ("~=3.11.2", "3.11"),
        ("==3.11.4", "3.11"),
        (">=3.10", None),
        (">=3.10,<3.12", None),
    ],
)
def test_pinned_minor_of_requires_python(requires: str, expected: str | None) -> None:
    assert pinned_minor(requires) == expected


@pytest.mark.parametrize(
    ("options", "found", "allowed", "expected"),
    [
        (Options(python="3.12", fallback_python="3.10"), "3.11", None, ("3.12", "--python")),
        (Options(fallback_python="3.10"), "3.11", None, ("3.11", "source")),
        (Options(fallback_python="3.10"), None, None, ("3.10", "interpreter")),
        (Options(fallback_python="3.12"), None, ">=3.11", ("3.12", "interpreter")),
    ],
)
def test_choose_python_prefers_flag_then_source_then_interpreter(
    options: Options, found: str | None, allowed: str | None, expected: tuple[str, str]
) -> None:
    python, origin, _ = choose_python(options, found, source="f", allowed=allowed)
    assert (python, origin) == expected


def test_choose_python_notes_a_replaced_source_version() -> None:
    _, _, notes = choose_python(Options(python="3.12"), "3.11", source="env.yml")
    assert [n.render() for n in notes] == ["env.yml: python 3.11: replaced by --python 3.12"]


@pytest.mark.parametrize(
    ("options", "allowed", "error", "message"),
    [
        (Options(), None, UsageError, "f does not pin a Python minor version; pass --python X.Y"),
        (Options(python="3"), None, UsageError, "--python takes a minor version such as 3.11"),
        (Options(python="3.9"), ">=3.11", InputError, "Python 3.9 is outside f's requires"),
        (Options(fallback_python="3.9"), ">=3.11", UsageError, "f requires Python >=3.11"),
    ],
)
def test_choose_python_refuses(
    options: Options, allowed: str | None, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        choose_python(options, None, source="f", allowed=allowed)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("==1.0", "==1.0", "==1.0"),
        ("==1.0", "==1.0.0", "==1.0"),
        ("==1.0", "==2.0", None),
        ("==1.5", ">=1.0", "==1.5"),
        (">=1.0", "==1.5", "==1.5"),
        ("==0.5", ">=1.0", None),
        (">=1.0", "<2", "<2,>=1.0"),
        ("*", "==1.0", "==1.0"),
        ("==1.0", "*", "==1.0"),
    ],
)
def test_merge_specifiers(a: str, b: str, expected: str | None) -> None:
    assert merge_specifiers(a, b) == expected


def test_collector_merges_extras_and_reports_conflicts() -> None:
    collector = Collector(PY311)
    collector.add(Pin("requests", "==2.32.3", "a.txt", 1, text="requests==2.32.3"))
    collector.add(Pin("requests[socks]", "==2.32.3", "b.txt", 4, text="requests[socks]==2.32.3"))
    collector.add(Pin("requests", "==2.31.0", "b.txt", 5, text="requests==2.31.0"))
    assert collector.packages() == (("requests[socks]", "==2.32.3"),)
    assert [n.render() for n in collector.adjusted] == [
        "b.txt:4: requests[socks]==2.32.3: merged with requests==2.32.3 (a.txt:1) "
        "into requests==2.32.3"
    ]
    assert [n.render() for n in collector.not_carried] == [
        "b.txt:5: requests==2.31.0: conflicts with requests==2.32.3 (a.txt:1); kept that"
    ]


@given(
    st.lists(
        st.tuples(
            st.sampled_from([">=", "<=", ">", "<", "==", "!=", "~="]),
            st.integers(8, 14),
            st.integers(0, 12),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_allowed_minors_agree_with_trying_every_patch(
    clauses: list[tuple[str, int, int]],
) -> None:
    requires = ",".join(f"{op}3.{m}.{p}" for op, m, p in clauses)
    spec = SpecifierSet(requires)
    brute = [
        f"3.{m}"
        for m in range(40)
        if any(spec.contains(f"3.{m}.{p}", prereleases=True) for p in range(100))
    ]
    assert allowed_minors(requires) == brute
