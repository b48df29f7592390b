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
    assert imported.package_map() == {
        "numpy": "==1.26.4",
        "requests": "==2.32.3",
        "six": "==1.16.0",
    }
    assert (imported.python, imported.python_from, imported.format) == ("3.11", "source", "conda")
    assert [n.render() for n in imported.not_carried] == [
        "environment.yml: pip: the installer; every environment envctl builds has its own",
        "environment.yml: channels: conda channels; a spec installs from a Python package index",
    ]
    assert [n.render() for n in imported.adjusted] == [
        "environment.yml: python=3.11.5: recorded as python 3.11: the spec names a minor version",
        "environment.yml:5: conda-forge::numpy=1.26.4: carried as numpy==1.26.4 (same name on "
        "PyPI, envctl's conda table)",
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


SCIENCE = """\
name: science
channels: [conda-forge, nvidia]
dependencies:
  - python >=3.8
  - numpy=1.26.4
  - pandas
  - scikit-learn=1.4.2
  - pytorch::pytorch=2.1
  - matplotlib-base 3.8.2 py311h_0
  - python-duckdb==1.1.3
  - libgomp
  - _openmp_mutex
  - cudatoolkit=11.8
  - not-a-known-name=1.0
  - numpy >=1.26|<1.20
"""


def test_conda_names_are_mapped_and_each_mapping_reported() -> None:
    imported = parse_conda(SCIENCE, source="environment.yml", options=Options(python="3.11"))
    assert imported.package_map() == {
        "duckdb": "==1.1.3",
        "matplotlib": "==3.8.2",
        "numpy": "==1.26.4",
        "pandas": "*",
        "scikit-learn": "==1.4.2",
        "torch": "==2.1.*",
    }
    assert [n.render() for n in imported.adjusted] == [
        "environment.yml: python >=3.8: allows several Pythons; 3.11 chosen (--python)",
        "environment.yml:5: numpy=1.26.4: carried as numpy==1.26.4 (same name on PyPI, "
        "envctl's conda table)",
        "environment.yml:6: pandas: carried as pandas (same name on PyPI, envctl's conda table)",
        "environment.yml:7: scikit-learn=1.4.2: carried as scikit-learn==1.4.2 (same name on "
        "PyPI, envctl's conda table)",
        "environment.yml:8: pytorch::pytorch=2.1: carried as torch==2.1.* (PyPI name of "
        "pytorch, envctl's conda table)",
        "environment.yml:9: matplotlib-base 3.8.2 py311h_0: carried as matplotlib==3.8.2 (PyPI "
        "name of matplotlib-base, envctl's conda table); build 'py311h_0' dropped (a conda "
        "build, not a wheel)",
        "environment.yml:10: python-duckdb==1.1.3: carried as duckdb==1.1.3 (PyPI name of "
        "python-duckdb, envctl's conda table)",
    ]
    assert [n.render() for n in imported.not_carried] == [
        "environment.yml:11: libgomp: a native library, not a Python package; wheels bundle "
        "what they link, else add system_packages: [libgomp1] (its Debian bookworm name)",
        "environment.yml:12: _openmp_mutex: conda's own runtime plumbing; a Debian image needs "
        "nothing for it",
        "environment.yml:13: cudatoolkit=11.8: CUDA is not a package here: it comes with the "
        "NVIDIA driver and the wheels (torch's nvidia-* dependencies); give the stage its GPU "
        "under compute.gpu and route torch to a CUDA index under indexes:/sources:",
        "environment.yml:14: not-a-known-name=1.0: not in the conda-PyPI mapping (grayskull's, "
        "envctl's); add its PyPI name by hand if it is a Python package, or its Debian name "
        "under system_packages if it is a library",
        "environment.yml:15: numpy >=1.26|<1.20: conda version spec '>=1.26|<1.20' has no PEP "
        "440 equivalent; add it by hand",
        "environment.yml: channels: conda channels; a spec installs from a Python package index",
    ]


@pytest.mark.parametrize(
    ("conda", "pypi", "origin"),
    [
        ("python-annoy", "annoy", "grayskull"),
        ("dask-core", "dask", "envctl"),
        ("ipykernel", "ipykernel", "envctl"),
        ("jupyter-server", "jupyter-server", "grayskull"),
        ("Scikit_Learn", "scikit-learn", "envctl"),
    ],
)
def test_the_mapping_tables(conda: str, pypi: str, origin: str) -> None:
    from envctl.spec.imports.conda_names import Mapped, map_conda_name

    assert map_conda_name(conda) == Mapped("pypi", pypi, origin)


@pytest.mark.parametrize(
    ("rest", "specifier", "dropped"),
    [
        ("", "*", ""),
        ("=1.26.4", "==1.26.4", ""),
        ("=1.26", "==1.26.*", ""),
        ("=1.26.*", "==1.26.*", ""),
        ("==1.26.4", "==1.26.4", ""),
        (">=1.2,<2", "<2,>=1.2", ""),
        (" 1.26.4 py311h_0", "==1.26.4", "build 'py311h_0' dropped (a conda build, not a wheel)"),
        ("=1.26.4=py311_0", "==1.26.4", "build 'py311_0' dropped (a conda build, not a wheel)"),
        ("==1.26.4=py311_0", "==1.26.4", "build 'py311_0' dropped (a conda build, not a wheel)"),
    ],
)  # fmt: skip
def test_conda_specifier(rest: str, specifier: str, dropped: str) -> None:
    from envctl.spec.imports.conda import conda_specifier

    assert conda_specifier(rest) == (specifier, dropped)


@pytest.mark.parametrize(
    ("options", "outcome"),
    [
        (Options(python="3.7"), "Python 3.7 is outside e.yml's python >=3.8"),
        (Options(python="3.10"), "3.10"),
        (Options(fallback_python="3.11"), "3.11"),
    ],
)
def test_a_conda_python_range_is_enforced(options: Options, outcome: str) -> None:
    text = "dependencies:\n  - python >=3.8\n  - numpy=1.26.4\n"
    if outcome.startswith("Python"):
        with pytest.raises(InputError, match=outcome):
            parse_conda(text, source="e.yml", options=options)
        return
    imported = parse_conda(text, source="e.yml", options=options)
    assert imported.python == outcome
