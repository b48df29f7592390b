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


@pytest.mark.parametrize("argv", [["--help"], [], ["nope"], ["-h", "status"]])
def test_the_listing_imports_no_command_module(argv: list[str]) -> None:
    code = (
        "import sys\nfrom envctl.cli import _register\n"
        f"_register({argv!r})\n"
        "print(sorted(m for m in sys.modules if m.startswith('envctl.cli.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert not {f"envctl.cli.{module}" for module in MODULES} & set(eval(out.stdout))


def test_the_listing_is_what_the_modules_register() -> None:
    """`envctl --help` from the table, as a user runs it, is the help that every
    module's real registration prints: same commands, order and summaries."""
    listed = subprocess.run(
        [sys.executable, "-m", "envctl", "--help"], capture_output=True, text=True, check=True
    )
    code = (
        "from envctl.cli import _register\nfrom envctl.cli.app import run\n"
        "_register()\nrun(['--help'])"
    )
    real = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "status" in real.stdout
    assert listed.stdout == real.stdout


def test_a_process_keeps_only_the_command_it_runs() -> None:
    """The other commands of the same module are not built (typer would build
    every registered command's parameters first)."""
    code = (
        "from envctl.cli import _keep_only, _register, app\n"
        "_register(['status', '--help'])\n_keep_only(['status', '--help'])\n"
        "print(sorted(str(i.name or i.callback.__name__) for i in app.registered_commands))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == repr(["status"])


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_is_found_by_its_name(command: str) -> None:
    from envctl.cli import _name

    _register()
    groups = {group.name for group in app.registered_groups}
    assert command in {_name(info) for info in app.registered_commands} | groups
