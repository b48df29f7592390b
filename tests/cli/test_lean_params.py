"""The lean converter yields what typer's own pydantic converter yields: the same
values for a valid command line, the same usage error for an invalid one."""

from __future__ import annotations

import enum
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st

from envctl.cli.plain_help import PlainHelpTyper


class Color(str, enum.Enum):
    red = "red"
    blue = "blue"


def _app(lean: bool) -> tuple[typer.Typer, dict[str, Any]]:
    app = PlainHelpTyper() if lean else typer.Typer()
    seen: dict[str, Any] = {}

    @app.command()
    def run(
        name: str,
        count: Annotated[int, typer.Option()] = 1,
        bounded: Annotated[int, typer.Option(min=0, max=9)] = 0,
        color: Annotated[Color, typer.Option()] = Color.red,
        path: Annotated[Path | None, typer.Option()] = None,
        tag: Annotated[list[str] | None, typer.Option()] = None,
        flag: bool = False,
        existing: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    ) -> None:
        seen.update(
            name=name, count=count, bounded=bounded, color=color, path=path, tag=tag, flag=flag
        )
        seen.update(existing=existing)

    @app.command()
    def other() -> None:
        """A second command, so that the app is a group as envctl's is."""

    return app, seen


def outcome(lean: bool, args: list[str]) -> tuple[str, Any]:
    app, seen = _app(lean)
    try:
        typer.main.get_command(app).main(["run", *args], standalone_mode=False)
    except Exception as exc:  # click's usage errors, without importing click
        return type(exc).__name__, str(exc.format_message())  # type: ignore[attr-defined]
    return "ok", seen


def test_both_converters_see_the_same_values_on_a_valid_line() -> None:
    args = ["a b", "--count", "-3", "--color", "blue", "--path", "x/y", "--tag", "t1"]
    args += ["--tag", "t2", "--flag", "--bounded", "4"]
    lean = outcome(True, args)
    assert lean == outcome(False, args)
    assert lean[1]["color"] is Color.blue
    assert lean[1]["path"] == Path("x/y")
    assert lean[1]["tag"] == ["t1", "t2"]


@pytest.mark.parametrize(
    "args",
    [
        ["n", "--count", "x"],
        ["n", "--count", " 7"],
        ["n", "--count", "1_0"],
        ["n", "--count", "+1"],
        ["n", "--bounded", "12"],
        ["n", "--color", "green"],
        ["n", "--color", "RED"],
        ["n", "--path", ""],
        ["n", "--existing", "no/such/file"],
        ["n", "--existing", "."],
        ["n", "--existing", __file__],
        [],
    ],
)
def test_both_converters_reject_alike(args: list[str]) -> None:
    assert outcome(True, args) == outcome(False, args)


@settings(max_examples=60, deadline=None)
@given(
    name=st.text(min_size=1).filter(lambda s: not s.startswith("-") and "\x00" not in s),
    count=st.one_of(st.integers().map(str), st.text(max_size=4)),
    color=st.sampled_from(["red", "blue", "Red", "green", ""]),
)
def test_any_value_converts_as_typer_converts_it(name: str, count: str, color: str) -> None:
    args = [name, "--count", count, "--color", color]
    assert outcome(True, args) == outcome(False, args)


def test_help_and_a_plain_command_line_leave_pydantic_unimported() -> None:
    code = (
        "import sys\nfrom tests.cli.test_lean_params import outcome\n"
        "outcome(True, ['n', '--count', '3', '--color', 'blue', '--path', 'p', '--tag', 't'])\n"
        "print('pydantic' in sys.modules, 'typer._adapters' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "False"]
