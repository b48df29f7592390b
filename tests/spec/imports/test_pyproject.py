"""pyproject.toml: [project] dependencies, requires-python, groups listed."""

from __future__ import annotations

import pytest

from envctl.errors import InputError, UsageError
from envctl.spec.imports import Options, parse_pyproject

PROJECT = """\
[project]
name = "churn"
requires-python = "==3.11.*"
dependencies = ["numpy==1.26.4", "Scikit_Learn>=1.4,<2", "tomli; python_version < '3.11'"]

[project.optional-dependencies]
serve = ["fastapi", "uvicorn"]

[dependency-groups]
dev = ["pytest"]
"""


def test_dependencies_and_python_from_requires_python() -> None:
    imported = parse_pyproject(PROJECT, source="pyproject.toml", options=Options())
    assert imported.package_map() == {"numpy": "==1.26.4", "scikit-learn": "<2,>=1.4"}
    assert (imported.python, imported.python_from) == ("3.11", "source")
    assert [n.render() for n in imported.not_carried] == [
        "pyproject.toml: tomli; python_version < '3.11': marker does not hold for Python 3.11 "
        "on linux/amd64",
        "pyproject.toml: optional-dependencies.serve (2): an extra of the project, "
        "not installed by default",
        "pyproject.toml: dependency-groups.dev (1): a dependency group (dev, test, ...), "
        "not installed by default",
    ]


def test_a_range_of_pythons_needs_the_flag_and_never_guesses_the_interpreter() -> None:
    text = PROJECT.replace("==3.11.*", ">=3.10")
    with pytest.raises(UsageError) as caught:
        parse_pyproject(text, source="pyproject.toml", options=Options(fallback_python="3.11"))
    assert str(caught.value) == (
        "pyproject.toml does not pin a Python minor version (requires-python '>=3.10' "
        "allows several); pass --python X.Y"
    )
    imported = parse_pyproject(text, source="pyproject.toml", options=Options(python="3.12"))
    assert (imported.python, imported.python_from) == ("3.12", "--python")


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ('[tool.poetry]\nname = "x"\n', Options(), "p has no [project] table; export Poetry's"),
        ("[project\n", Options(), "p: not valid TOML: "),
        ('[project]\ndependencies = "six"\n', Options(python="3.11"), "p: [project] dependencies"),
        (PROJECT, Options(python="3.12"), "Python 3.12 is outside p's requires-python '==3.11.*'"),
    ],
)
def test_refused(text: str, options: Options, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_pyproject(text, source="p", options=options)
    assert str(caught.value).startswith(message)


def test_dynamic_dependencies_are_reported() -> None:
    text = '[project]\nname = "x"\ndynamic = ["dependencies"]\n'
    imported = parse_pyproject(text, source="p", options=Options(python="3.11"))
    assert imported.packages == ()
    assert [n.item for n in imported.not_carried] == ["dynamic dependencies"]
