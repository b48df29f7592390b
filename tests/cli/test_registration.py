"""The command -> module map that lets `envctl CMD` register only what CMD needs."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from envctl.cli import COMMANDS, MODULES, _register
from envctl.cli.app import app


def test_the_map_names_every_command_and_only_those() -> None:
    _register()
    registered = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]  # a group
    assert set(COMMANDS) == registered
    assert set(COMMANDS.values()) == set(MODULES)


@pytest.mark.parametrize(
    ("argv", "loaded"), [(["list"], "specs"), (["status", "--format", "json"], "promote")]
)
def test_a_command_registers_its_module_alone(argv: list[str], loaded: str) -> None:
    code = (
        "import sys\nfrom envctl.cli import _register\n"
        f"_register({argv!r})\n"
        "print(sorted(m for m in sys.modules if m.startswith('envctl.cli.') "
        "and m.split('.')[-1] not in ('app', 'console', 'lean_params', 'live', 'plain_help')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == repr([f"envctl.cli.{loaded}"])


def test_help_and_unknown_commands_register_everything(capsys: pytest.CaptureFixture[str]) -> None:
    code = (
        "import sys\nfrom envctl.cli import _register\n"
        "_register(['--help'])\n_register(['nope'])\n"
        "print(len([m for m in sys.modules if m.startswith('envctl.cli.')]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) >= len(MODULES)
