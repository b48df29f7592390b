"""Command-line entry point: one Typer app, one error boundary.

Each verb lives in its own module under `envctl/cli/` (thin: parse, call
`envctl.commands.<verb>`, render). This module only assembles them.
"""

from __future__ import annotations

import sys

from envctl.cli.app import app as app  # re-exported: `envctl.cli.app`


def _register() -> None:
    # Importing a module registers its commands on `app`.
    from envctl.cli import import_, specs  # noqa: F401  (registers commands)

    for optional in ("diff", "build", "promote"):
        try:
            __import__(f"envctl.cli.{optional}")
        except ModuleNotFoundError as exc:
            if exc.name != f"envctl.cli.{optional}":
                raise


def main() -> None:
    from envctl.cli.app import run

    _register()
    sys.exit(run())
