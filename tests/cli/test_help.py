"""Every command's help reads well: no Python types, one spelling for the stage,
exit codes where a command uses 1, 4 or 5."""

from __future__ import annotations

import re

import pytest
import typer

from envctl.cli import _register
from envctl.cli.app import app
from tests.harness import Invoke

_register()
COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]  # a group
LEAKED = re.compile(r"<(str|int|float|bool|path|list\[[^\]]*\]|[a-z_]+)>|\{[A-Z_]+\}")
EXITS = {
    "diff": "Exit 0",
    "check": "Exit 0",
    "lock": "Exit 0",
    "build": "Exit 3",
    "verify": "Exit 0",
    "register": "Exit 0",
    "approve": "Exit 4",
    "promote": "5",
    "rollback": "Exit 0",
    "import": "Exit 0",
}


def test_every_command_is_covered() -> None:
    assert {"promote", "approve", "rollback", "diff", "build", "import"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_no_python_types(command: str, invoke: Invoke) -> None:
    result = invoke(command, "--help")
    assert result.code == 0
    assert not LEAKED.search(result.out), LEAKED.search(result.out)


@pytest.mark.parametrize("command", ["promote", "approve", "rollback"])
def test_the_stage_is_spelled_one_way(command: str, invoke: Invoke) -> None:
    text = invoke(command, "--help").out
    assert "-s, --stage STAGE" in text
    assert "(required)" in text
    for old in ("--to", "--for", "--env"):
        assert not re.search(rf"{old}\b(?!-)(?!ce)", text), old


@pytest.mark.parametrize(("command", "needle"), sorted(EXITS.items()))
def test_help_names_the_exit_codes(command: str, needle: str, invoke: Invoke) -> None:
    text = " ".join(invoke(command, "--help").out.split())
    assert needle in text


def test_fixed_texts(invoke: Invoke) -> None:
    verify = " ".join(invoke("verify", "--help").out.split())
    assert "Model version to put in the image" not in verify
    assert "-m, --model NAME@VERSION Verify the image built for this model version" in verify
    render = invoke("render", "--help").out
    assert "[text|json]" in render and "table" not in render
    rollback = invoke("rollback", "--help").out
    assert "Usage: envctl rollback [OPTIONS] NAME\n" in rollback
    assert "STAGE before" not in rollback


def test_bare_envctl_prints_its_help_and_succeeds(invoke: Invoke) -> None:
    result = invoke()
    assert (result.code, result.err) == (0, "")
    assert result.out.startswith("Usage: envctl [OPTIONS] COMMAND [ARGS]...")
    assert "promote" in result.out


@pytest.mark.parametrize("command", COMMANDS)
def test_dash_h_is_help(command: str, invoke: Invoke) -> None:
    result = invoke(command, "-h")
    assert (result.code, result.err) == (0, "")
    assert result.out == invoke(command, "--help").out


def test_root_help_lists_whole_summaries(invoke: Invoke) -> None:
    import inspect

    text = " ".join(invoke("--help").out.split())
    for info in app.registered_commands:
        assert info.callback is not None and info.callback.__doc__
        summary = inspect.cleandoc(info.callback.__doc__).split("\n\n", 1)[0]
        assert " ".join(summary.split()) in text, info.name
