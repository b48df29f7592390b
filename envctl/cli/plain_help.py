"""Help that names values the way most CLIs do: `ENV`, `[NAME]`, `--stage STAGE`,
`--format [table|json]`, never a Python type (Typer prints `ENV <str>`, `{ENV}`,
`--to <str>`, `<list[str]>`).

Only public extension points: a command class (`cls=`, click's documented way to
change help) that overrides `collect_usage_pieces` and `format_options`, and a
`metavar=` on every option that takes a value. tests/cli/test_help.py renders
every command's help and fails on a leaked type, so a Typer release that changes
this is caught; `.ci/lower-bounds` runs it on the oldest Typer allowed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup
from typer.models import CommandFunctionType

from envctl.cli.lean_params import lean

# click's Context, HelpFormatter and Parameter: envctl never imports click (Typer
# vendors its own in newer releases), so these stay untyped here.
_Click = Any


class PlainHelpCommand(TyperCommand):
    """A command whose usage line and Arguments section show each argument's
    metavar alone; options show their own `metavar=`. Its parameters convert
    without pydantic where they can (see lean_params)."""

    def parse_args(self, ctx: _Click, args: list[str]) -> list[str]:
        lean(self.get_params(ctx))
        return list(super().parse_args(ctx, args))

    def collect_usage_pieces(self, ctx: _Click) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        return pieces + [_usage_name(p) for p in self.get_params(ctx) if _is_argument(p)]

    def format_options(self, ctx: _Click, formatter: _Click) -> None:
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if _is_argument(param):
                arguments.append((_display_name(param), record[1]))
            else:
                options.append(record)
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def _is_argument(param: _Click) -> bool:
    return bool(param.param_type_name == "argument")


def _display_name(param: _Click) -> str:
    return str(param.metavar or (param.name or "value").upper())


def _usage_name(param: _Click) -> str:
    name = _display_name(param)
    shown = name if param.required else f"[{name}]"
    return shown + ("..." if param.nargs == -1 else "")  # any number of them; `A B` is two


def choices(kind: type[enum.Enum]) -> str:
    """The metavar of an option that takes one of an enum's values: `[table|json]`."""
    return "[" + "|".join(str(member.value) for member in kind) + "]"


class LeanGroup(TyperGroup):
    """The root command: its own options (`--version`, `--help`) convert without
    pydantic too (see lean_params)."""

    def parse_args(self, ctx: _Click, args: list[str]) -> list[str]:
        lean(self.get_params(ctx))
        return list(super().parse_args(ctx, args))


class PlainHelpTyper(typer.Typer):
    """A Typer whose commands are PlainHelpCommands unless they name another class."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cls=kwargs.pop("cls", LeanGroup), **kwargs)

    def command(
        self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        return super().command(name, cls=cls or PlainHelpCommand, **kwargs)
