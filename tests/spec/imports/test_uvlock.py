"""uv.lock: walked from the project along the edges that hold on the target."""

from __future__ import annotations

import pytest

from envctl.errors import InputError, UsageError
from envctl.spec.imports import Options, parse_uv_lock

# As `uv lock` wrote it for a project depending on click==8.1.7 and, before
# Python 3.11, tomli (sdist and wheel tables cut).
LOCK = """\
version = 1
revision = 2
requires-python = ">=3.10"

[[package]]
name = "click"
version = "8.1.7"
source = { registry = "https://pypi.org/simple" }
dependencies = [
    { name = "colorama", marker = "sys_platform == 'win32'" },
]

[[package]]
name = "colorama"
version = "0.4.6"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "demo"
version = "0.1.0"
source = { virtual = "." }
dependencies = [
    { name = "click" },
    { name = "requests", extra = ["socks"] },
    { name = "tomli", marker = "python_full_version < '3.11'" },
    { name = "vendored" },
]

[package.optional-dependencies]
serve = [{ name = "six" }]

[package.dev-dependencies]
dev = [{ name = "six" }]

[[package]]
name = "requests"
version = "2.32.3"
source = { registry = "https://pypi.org/simple" }

[package.optional-dependencies]
socks = [{ name = "pysocks" }]

[[package]]
name = "PySocks"
version = "1.7.1"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "six"
version = "1.17.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "tomli"
version = "2.5.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "vendored"
version = "0.1.0"
source = { git = "https://example.com/vendored.git?rev=abc#abc" }
"""


@pytest.mark.parametrize(
    ("python", "expected"),
    [
        (
            "3.11",
            {"click": "==8.1.7", "pysocks": "==1.7.1", "requests": "==2.32.3"},
        ),
        (
            "3.10",
            {
                "click": "==8.1.7",
                "pysocks": "==1.7.1",
                "requests": "==2.32.3",
                "tomli": "==2.5.0",
            },
        ),
    ],
)
def test_pins_what_the_target_needs(python: str, expected: dict[str, str]) -> None:
    imported = parse_uv_lock(LOCK, source="uv.lock", options=Options(python=python))
    assert imported.package_map() == expected


def test_the_project_other_sources_and_unneeded_packages_are_listed() -> None:
    imported = parse_uv_lock(LOCK, source="uv.lock", options=Options(python="3.11"))
    assert [n.render() for n in imported.not_carried] == [
        "uv.lock: demo 0.1.0: the project itself (editable or virtual), not a package",
        "uv.lock: vendored 0.1.0: from git https://example.com/vendored.git?rev=abc#abc; "
        "a spec pins versions from an index",
        "uv.lock: colorama 0.4.6, six 1.17.0, tomli 2.5.0: not needed on Python 3.11 on "
        "linux/amd64 by the lock's dependency markers (other platforms, Pythons, extras or "
        "groups)",
        "uv.lock: demo optional-dependencies.serve: not installed by default; their packages "
        "are not carried",
        "uv.lock: demo dev-dependencies.dev: not installed by default; their packages are "
        "not carried",
    ]


def test_python_defaults_to_the_interpreter_within_requires_python() -> None:
    imported = parse_uv_lock(LOCK, source="uv.lock", options=Options(fallback_python="3.12"))
    assert (imported.python, imported.python_from) == ("3.12", "interpreter")
    with pytest.raises(UsageError):
        parse_uv_lock(LOCK, source="uv.lock", options=Options(fallback_python="3.9"))


def test_a_package_locked_twice_is_chosen_by_its_resolution_markers() -> None:
    text = """\
requires-python = ">=3.10"
[[package]]
name = "app"
version = "1"
source = { editable = "." }
dependencies = [{ name = "numpy", version = "1.26.4", marker = "python_version < '3.12'" },
                { name = "numpy", version = "2.1.0", marker = "python_version >= '3.12'" }]
[[package]]
name = "numpy"
version = "1.26.4"
source = { registry = "https://pypi.org/simple" }
resolution-markers = ["python_full_version < '3.12'"]
[[package]]
name = "numpy"
version = "2.1.0"
source = { registry = "https://pypi.org/simple" }
resolution-markers = ["python_full_version >= '3.12'"]
"""
    for python, version in (("3.11", "==1.26.4"), ("3.12", "==2.1.0")):
        imported = parse_uv_lock(text, source="uv.lock", options=Options(python=python))
        assert imported.package_map() == {"numpy": version}


def test_not_a_uv_lock() -> None:
    with pytest.raises(InputError) as caught:
        parse_uv_lock("version = 1\n", source="uv.lock", options=Options(python="3.11"))
    assert str(caught.value) == "uv.lock: no [[package]] entries; is it a uv.lock?"


TORCH_LOCK = """\
version = 1
requires-python = ">=3.10"

[[package]]
name = "lerobot"
version = "0.3.0"
source = { editable = "." }
dependencies = [{ name = "torch" }, { name = "numpy" }]

[[package]]
name = "torch"
version = "2.7.1+cu128"
source = { registry = "https://download.pytorch.org/whl/cu128" }

[[package]]
name = "numpy"
version = "2.2.6"
source = { registry = "https://pypi.org/simple" }
"""


def test_a_registry_other_than_pypi_is_kept_as_an_explicit_index_with_its_packages() -> None:
    imported = parse_uv_lock(TORCH_LOCK, source="uv.lock", options=Options(python="3.12"))
    assert imported.package_map() == {"numpy": "==2.2.6", "torch": "==2.7.1+cu128"}
    assert [(i.name, i.url, i.explicit) for i in imported.indexes] == [
        ("pytorch-cu128", "https://download.pytorch.org/whl/cu128", True)
    ]
    assert imported.sources == (("torch", "pytorch-cu128"),)
