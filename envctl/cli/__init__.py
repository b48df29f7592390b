"""Command-line entry point: one Typer app, one error boundary.

Each verb lives in a module under `envctl/cli/` (thin: parse, call
`envctl.commands.<verb>`, render). This module only assembles them, and only
the one a command needs: Typer builds every registered command's parameters
before it runs one, so `envctl list` registers `specs` alone and starts faster.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from typing import TYPE_CHECKING

from envctl.cli.app import app as app  # re-exported: `envctl.cli.app`

if TYPE_CHECKING:
    from typer.models import CommandInfo

# The modules in the order `envctl --help` lists their commands.
MODULES = ("specs", "import_", "diff", "build", "promote", "check_live", "supply")
# Which module registers each command (tests/cli/test_registration.py keeps it true).
COMMANDS = {
    **dict.fromkeys(("init", "validate", "show", "list", "schema", "check"), "specs"),
    "import": "import_",
    "diff": "diff",
    **dict.fromkeys(("lock", "render", "build", "verify"), "build"),
    **dict.fromkeys(
        (
            "register",
            "approve",
            "promote",
            "advance",
            "sync",
            "status",
            "history",
            "rollback",
            "image",
            "audit",
        ),
        "promote",
    ),
    "check-live": "check_live",
    **dict.fromkeys(("sbom", "scan", "vulndb"), "supply"),
}


def _register(argv: list[str] | None = None) -> None:
    """Import the module that registers `argv`'s command; for `--help`, no
    command, or one envctl does not know, list them all from a table. Without
    `argv`, import every module (what tests and in-process callers use)."""
    command = _command(argv)
    module = COMMANDS.get(command or "") if argv is not None else None
    if argv is not None and module is None:
        _listed()
        return
    for name in (module,) if module else MODULES:
        importlib.import_module(f"envctl.cli.{name}")
    _full_summaries()


def _listed() -> None:
    """`envctl --help` (or no command, or one envctl does not know): every command
    by its summary, from a table, importing none of the modules that define them."""
    from envctl.cli.listing import SUMMARIES

    for name, summary in SUMMARIES:
        app.command(name, help=summary, short_help=summary)(_listed_only)


def _listed_only() -> None:  # pragma: no cover - never run: only listed
    raise AssertionError("a listed command runs only once its module registers it")


def _command(argv: list[str] | None) -> str | None:
    """The command `argv` runs; None for the root's own help (`envctl -h status`
    is the list of commands, as click reads it)."""
    for arg in argv or ():
        if arg in ("-h", "--help"):
            return None
        if not arg.startswith("-"):
            return arg
    return None


def _keep_only(argv: list[str]) -> None:
    """Unregister the other commands of the module that registered `argv`'s (a
    process runs one command, and typer builds the parameters of every
    registered command before it runs one)."""
    command = _command(argv)
    if command in COMMANDS:
        app.registered_commands[:] = [
            info for info in app.registered_commands if _name(info) == command
        ]
        app.registered_groups[:] = [g for g in app.registered_groups if g.name == command]


def _name(info: CommandInfo) -> str | None:
    """The name a registered command is invoked by (typer's rule when unnamed)."""
    if info.name:
        return info.name
    callback = info.callback
    return callback.__name__.lower().replace("_", "-") if callback else None


def _full_summaries() -> None:
    """`envctl --help` lists each command with its docstring's first paragraph,
    whole: Click would cut it to fit 80 columns ("Scaffold envctl.yaml and...")
    unless the command states its short help."""
    for info in app.registered_commands:
        if info.short_help is None and info.callback is not None and info.callback.__doc__:
            paragraph = inspect.cleandoc(info.callback.__doc__).split("\n\n", 1)[0]
            info.short_help = " ".join(paragraph.split())


def main() -> None:
    from envctl.cli.app import run

    # envctl uses no pydantic plugins; looking for them scans every installed
    # distribution's entry points on the first model built.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
    argv = sys.argv[1:]
    _register(argv)
    _keep_only(argv)
    sys.exit(run(argv))
