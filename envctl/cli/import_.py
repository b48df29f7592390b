"""import: adopt envctl from requirements files, environment.yml, pyproject.toml,
uv.lock or a built image."""

from __future__ import annotations

from typing import Annotated

import typer

from envctl.cli import console
from envctl.cli.app import Format, FormatOpt, app


@app.command("import")
def import_(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE",
            help="requirements*.txt, environment.yml, pyproject.toml, uv.lock or image:REF.",
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(
            "--name", "-n", metavar="NAME", help="Environment name (default: the file's stem)."
        ),
    ] = None,
    python: Annotated[
        str | None,
        typer.Option(
            "--python",
            metavar="X.Y",
            help="Python X.Y (default: what the file says, else this interpreter's; "
            "pyproject.toml needs it unless requires-python pins a minor).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing spec (its version + 1).")
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Write environments/NAME.yaml from existing pins, listing what was not carried over.

    Exit 0 written, 3 unreadable input or the spec exists (--force replaces it),
    4 the engine failed (image:REF)."""
    from envctl.commands.import_ import import_ as run

    result = run(source, name=name, python=python, force=force)
    if fmt is Format.json:
        console.print_json(result.to_json())
        return
    verb = "replaced" if result.overwritten else "created"
    count = len(result.packages)
    console.print_text(
        f"{verb} {result.file} (v{result.version}): {count} package{'s' * (count != 1)}, "
        f"python {result.python} ({_python_from(result.python_from)}), base {result.base}"
    )
    for title, notes in (
        ("not carried over", result.not_carried_over),
        ("adjusted", result.adjusted),
    ):
        if notes:
            console.print_text(f"{title} ({len(notes)}):")
        for note in notes:
            where = f"{note.file}:{note.line}" if note.line else note.file
            console.print_text(f"  {where}: {note.item}: {note.reason}")
    console.print_text(f"next: envctl lock {result.environment}")


def _python_from(origin: str) -> str:
    return {"source": "from the file", "--python": "--python"}.get(origin, "this interpreter")
