"""import: adopt envctl from requirements files, environment.yml, pyproject.toml,
uv.lock or a built image."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from envctl.cli import console
from envctl.cli.app import Format, FormatOpt, app


class SourceFormat(str, enum.Enum):
    requirements = "requirements"
    conda = "conda"
    pyproject = "pyproject"
    uv_lock = "uv-lock"


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
            "--name",
            "-n",
            metavar="NAME",
            help="Environment name (default: the file's stem, if it is a stage).",
        ),
    ] = None,
    python: Annotated[
        str | None,
        typer.Option(
            "--python",
            metavar="X.Y",
            help="Python X.Y (default: what the file says, else this interpreter's "
            "if the file's range allows it).",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace an existing spec's Python and packages (its version + 1), "
            "keeping its other sections.",
        ),
    ] = False,
    source_format: Annotated[
        SourceFormat | None,
        typer.Option(
            "--from",
            help="The file's format, when neither its name nor its content tells "
            "(--format is the output's).",
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Write environments/NAME.yaml from existing pins, listing what was not carried over.

    Exit 0 written, 3 unreadable input or the spec exists (--force replaces it),
    4 the engine failed (image:REF)."""
    from envctl.commands.import_ import import_ as run

    kind = source_format.value if source_format is not None else None
    result = run(source, name=name, python=python, force=force, source_format=kind)
    if fmt is Format.json:
        console.print_json(result.to_json())
        return
    verb = "replaced" if result.overwritten else "created"
    count = len(result.packages)
    console.print_text(
        f"{verb} {result.file} (v{result.version}): {count} package{'s' * (count != 1)}, "
        f"python {result.python} ({_python_from(result.python_from)}), base {result.base}"
    )
    for index in result.indexes:
        routed = sorted(p for p, name in result.sources.items() if name == index.name)
        how = "explicit" if index.explicit else "default" if index.default else "before PyPI"
        to = f": {', '.join(routed)}" if routed else ""
        console.print_text(f"index {index.name} ({index.url}, {how}){to}")
    for title, notes in (
        ("not carried over", result.not_carried_over),
        ("adjusted", result.adjusted),
    ):
        if notes:
            console.print_text(f"{title} ({len(notes)}):")
        for note in notes:
            where = f"{note.file}:{note.line}" if note.line else note.file
            console.print_text(f"  {where}: {note.item}: {note.reason}")
    if result.kept:
        console.print_text(f"kept from the replaced spec: {', '.join(result.kept)}")
    if result.dropped:
        console.print_text(f"dropped (the source has none): {', '.join(result.dropped)}")
    console.print_text(f"next: envctl lock {result.environment}")


def _python_from(origin: str) -> str:
    return {"source": "from the file", "--python": "--python"}.get(origin, "this interpreter")
