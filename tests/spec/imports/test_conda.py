"""environment.yml: the Python, the pip section, conda packages listed."""

from __future__ import annotations

import pytest

from envctl.errors import InputError
from envctl.spec.imports import Options, parse_conda

OPTS = Options(fallback_python="3.10")

ENV = """\
name: churn
channels: [conda-forge]
dependencies:
  - python=3.11.5
  - conda-forge::numpy=1.26.4
  - pip
  - pip:
    - six==1.16.0
    - "Requests==2.32.3"
    - --extra-index-url https://example.com/simple
"""


def test_pip_section_becomes_pins_and_conda_packages_are_listed() -> None:
    imported = parse_conda(ENV, source="environment.yml", options=OPTS)
    assert imported.package_map() == {"requests": "==2.32.3", "six": "==1.16.0"}
    assert (imported.python, imported.python_from, imported.format) == ("3.11", "source", "conda")
    assert [n.render() for n in imported.not_carried] == [
        "environment.yml: conda-forge::numpy=1.26.4: a conda package; conda names are not "
        "PyPI names: add its PyPI name by hand",
        "environment.yml: pip: the installer; every environment envctl builds has its own",
        "environment.yml: channels: conda channels; a spec installs from a Python package index",
    ]
    assert [n.render() for n in imported.adjusted] == [
        "environment.yml: python=3.11.5: recorded as python 3.11: the spec names a minor version",
        "environment.yml:10: --extra-index-url https://example.com/simple: carried as index "
        "example: searched before PyPI; uv and envctl take a package from the first index "
        "that has it, where pip compared versions across indexes",
    ]
    assert [(i.name, i.url, i.explicit) for i in imported.indexes] == [
        ("example", "https://example.com/simple", False)
    ]


@pytest.mark.parametrize(
    ("python_dep", "expected"),
    [
        ("python=3.11", ("3.11", "source")),
        ("python==3.12.1", ("3.12", "source")),
        ("python=3.11.*", ("3.11", "source")),
        ("python 3.11.5 h955ad1f_0", ("3.11", "source")),
        ("python=3.11.5=h955ad1f_0", ("3.11", "source")),
        ("python>=3.9", ("3.10", "interpreter")),
        ("python", ("3.10", "interpreter")),
    ],
)
def test_python_from_the_python_dependency(python_dep: str, expected: tuple[str, str]) -> None:
    imported = parse_conda(f"dependencies:\n  - {python_dep}\n", source="e.yml", options=OPTS)
    assert (imported.python, imported.python_from) == expected
    assert imported.not_carried == ()


def test_marker_in_the_pip_section_uses_the_files_python() -> None:
    text = 'dependencies:\n  - python=3.12\n  - pip:\n    - tomli==2 ; python_version < "3.11"\n'
    imported = parse_conda(text, source="e.yml", options=OPTS)
    assert imported.package_map() == {}
    assert imported.not_carried[0].reason == "marker does not hold for Python 3.12 on linux/amd64"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "e.yml: not a conda environment file (no mapping of keys)"),
        ("dependencies: python\n", "e.yml: dependencies must be a list"),
        ("dependencies: [\n", "e.yml: not valid YAML: "),
    ],
)
def test_not_an_environment_file(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_conda(text, source="e.yml", options=OPTS)
    assert str(caught.value).startswith(message)
