"""pyproject.toml: one version, every imported distribution declared, pre-1.0 bounds."""

from __future__ import annotations

import ast
import importlib.metadata
import sys
from typing import Any

import pytest
from packaging.requirements import Requirement

import envctl
from tests.conftest import REPO_ROOT
from tests.harness import Invoke

tomllib = pytest.importorskip("tomllib")

PYPROJECT: dict[str, Any] = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
DEPENDENCIES = {
    Requirement(text).name: Requirement(text) for text in PYPROJECT["project"]["dependencies"]
}


def test_version_has_one_source() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "envctl/__init__.py"


def test_version_option_prints_the_package_version(invoke: Invoke) -> None:
    result = invoke("--version")
    assert (result.code, result.out) == (0, f"envctl {envctl.__version__}\n")


class _Imports(ast.NodeVisitor):
    """Top-level names imported at run time (annotations under TYPE_CHECKING do not count)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.names |= {alias.name.split(".")[0] for alias in node.names}

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and not node.level:
            self.names.add(node.module.split(".")[0])


def _imported_top_levels() -> set[str]:
    imports = _Imports()
    for path in (REPO_ROOT / "envctl").rglob("*.py"):
        imports.visit(ast.parse(path.read_text()))
    return imports.names - set(sys.stdlib_module_names) - {"envctl", "__future__"}


# Extras a user installs for one capability (envctl[evaluate], envctl[ssh]); their
# imports are lazy and say what to install when missing. test and bench are ours.
USER_EXTRAS = {
    Requirement(text).name
    for extra, texts in PYPROJECT["project"]["optional-dependencies"].items()
    if extra not in ("test", "bench")
    for text in texts
}


def test_every_imported_distribution_is_declared() -> None:
    providers = importlib.metadata.packages_distributions()
    imported = {
        dist.lower() for name in _imported_top_levels() for dist in providers.get(name, [name])
    }
    assert imported - set(DEPENDENCIES) - USER_EXTRAS == set()


@pytest.mark.parametrize("name", ["uv", "typer"])
def test_pre_1_0_dependencies_have_an_upper_bound_that_admits_the_installed_one(
    name: str,
) -> None:
    spec = DEPENDENCIES[name].specifier
    assert any(item.operator == "<" for item in spec)
    assert spec.contains(importlib.metadata.version(name))
