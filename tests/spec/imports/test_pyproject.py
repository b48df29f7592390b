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


def test_a_range_takes_the_interpreter_when_it_is_inside_and_says_so() -> None:
    text = PROJECT.replace("==3.11.*", ">=3.10")
    imported = parse_pyproject(
        text, source="pyproject.toml", options=Options(fallback_python="3.11")
    )
    assert (imported.python, imported.python_from) == ("3.11", "interpreter")
    assert imported.adjusted[0].render() == (
        "pyproject.toml: requires-python '>=3.10': allows several Pythons; 3.11 chosen "
        "(interpreter)"
    )
    with pytest.raises(UsageError) as caught:
        parse_pyproject(text, source="pyproject.toml", options=Options(fallback_python="3.9"))
    assert str(caught.value) == (
        "pyproject.toml requires Python >=3.10 and this interpreter is 3.9; pass --python X.Y"
    )
    with pytest.raises(UsageError, match="does not pin a Python minor version"):
        parse_pyproject(text, source="pyproject.toml", options=Options())
    imported = parse_pyproject(text, source="pyproject.toml", options=Options(python="3.12"))
    assert (imported.python, imported.python_from) == ("3.12", "--python")


@pytest.mark.parametrize(
    "parse",
    ["pyproject", "uv-lock", "conda"],
)
def test_every_format_enforces_its_python_range_the_same_way(parse: str) -> None:
    from envctl.spec.imports import parse_conda, parse_uv_lock

    texts = {
        "pyproject": '[project]\nname = "x"\nrequires-python = ">=3.8"\ndependencies = []\n',
        "uv-lock": 'version = 1\nrequires-python = ">=3.8"\n[[package]]\nname = "six"\n'
        'version = "1.16.0"\nsource = { registry = "https://pypi.org/simple" }\n',
        "conda": "dependencies:\n  - python >=3.8\n",
    }
    parser = {"pyproject": parse_pyproject, "uv-lock": parse_uv_lock, "conda": parse_conda}[parse]
    with pytest.raises(InputError, match=r"Python 3.7 is outside f's"):
        parser(texts[parse], source="f", options=Options(python="3.7"))
    with pytest.raises(UsageError, match=r"f requires Python >=3.8 and this interpreter is 3.7"):
        parser(texts[parse], source="f", options=Options(fallback_python="3.7"))
    inside = parser(texts[parse], source="f", options=Options(fallback_python="3.11"))
    assert (inside.python, inside.python_from) == ("3.11", "interpreter")
    assert "allows several Pythons; 3.11 chosen (interpreter)" in inside.adjusted[0].reason


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


# As lerobot routes torch: the cu128 index on Linux, the CPU index elsewhere.
LEROBOT = """\
[project]
name = "lerobot"
requires-python = ">=3.10"
dependencies = [
  "torch>=2.2.1,<2.8.0", "torchvision>=0.21.0,<0.23.0", "numpy>=2", "jax[cuda]; extra == 'jax'"
]

[project.optional-dependencies]
jax = ["jax"]

[tool.uv.sources]
torch = [
  { index = "pytorch-cpu", marker = "sys_platform != 'linux'" },
  { index = "pytorch-cu128", marker = "sys_platform == 'linux'" },
]
torchvision = { index = "pytorch-cu128" }
lerobot-extras = { git = "https://github.com/huggingface/lerobot-extras" }
jax = { index = "pytorch-cu128", extra = "jax" }

[[tool.uv.index]]
name = "pytorch-cu128"
url = "https://download.pytorch.org/whl/cu128"
explicit = true

[[tool.uv.index]]
name = "pytorch-cpu"
url = "https://download.pytorch.org/whl/cpu"
explicit = true
"""


def test_uv_sources_and_indexes_keep_their_routing() -> None:
    imported = parse_pyproject(LEROBOT, source="pyproject.toml", options=Options(python="3.12"))
    assert [(i.name, i.url, i.explicit, i.default) for i in imported.indexes] == [
        ("pytorch-cu128", "https://download.pytorch.org/whl/cu128", True, False)
    ]
    assert imported.sources == (("torch", "pytorch-cu128"), ("torchvision", "pytorch-cu128"))
    notes = [n.render() for n in imported.not_carried]
    assert (
        "pyproject.toml: tool.uv.sources.lerobot-extras: a git source; a spec pins versions "
        "from an index" in notes
    )
    assert (
        "pyproject.toml: index pytorch-cpu (https://download.pytorch.org/whl/cpu): explicit, "
        "and no carried package is routed to it" in notes
    )
    assert (
        "pyproject.toml: tool.uv.sources.jax: no entry applies to Python 3.12 on linux/amd64"
        in notes
    )


def test_a_source_naming_an_undeclared_index_is_reported() -> None:
    text = LEROBOT.replace('name = "pytorch-cu128"', 'name = "cu128"')
    imported = parse_pyproject(text, source="pyproject.toml", options=Options(python="3.12"))
    assert imported.sources == ()
    assert (
        "pyproject.toml: tool.uv.sources.torch: names index 'pytorch-cu128', which no "
        "[[tool.uv.index]] declares" in [n.render() for n in imported.not_carried]
    )
