"""init, validate, show, list, schema, check."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated

import typer

from envctl.cli import console
from envctl.cli.app import Format, FormatOpt, app
from envctl.cli.plain_help import choices
from envctl.errors import SpecError, UsageError

if TYPE_CHECKING:
    from envctl.output.plain_specs import Validated


@app.command()
def init(
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Scaffold envctl.yaml and environments/{dev,staging,prod}.yaml here."""
    from envctl.commands.init import init as run_init

    for path in run_init(force=force):
        console.print_text(f"created {path}")


@app.command()
def validate(
    operands: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="ENV_OR_FILE", help="Environment names or spec files (default: all)."
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Validate environment specs; exit 3 listing every problem when one is invalid."""
    from envctl.commands.specs import validate as run

    report = run(operands or [])
    bad = [r for r in report.results if not r.valid]
    if fmt is Format.table:
        _print_validated(report.results)
    elif not bad:
        console.print_json(report.to_json())
    if bad:
        # Under --format json the boundary prints the error document (every
        # problem in its details), as every other command does on exit 3.
        # A parent's problem reaches every spec that extends it: say it once.
        problems = list(dict.fromkeys(p for r in bad for p in r.problems))
        noun = "spec is" if len(bad) == 1 else "specs are"
        names = ", ".join(r.environment for r in bad)
        raise SpecError(
            f"{len(bad)} {noun} invalid ({names}): {problems[0]}"
            + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""),
            details=problems,
            location=bad[0].location,
        )


def _print_validated(results: list[Validated]) -> None:
    width = max(len(r.environment) for r in results) if results else 0
    for r in results:
        state = "ok" if r.valid else "FAIL"
        version = f"v{r.version}" if r.version else "-"
        short = (r.fingerprint or "")[:12] or "-" * 12
        console.print_text(f"{state:<5} {r.environment:<{width}}  {version:<5} {short}  {r.file}")


class ShowFormat(str, enum.Enum):
    yaml = "yaml"
    json = "json"


@app.command()
def show(
    env: Annotated[
        str, typer.Argument(metavar="ENV", help="Environment: name, file, name@REV or name@vN.")
    ],
    fmt: Annotated[
        ShowFormat,
        typer.Option("--format", "-f", metavar=choices(ShowFormat), help="Output format."),
    ] = (ShowFormat.yaml),
) -> None:
    """Print the resolved spec (after extends), its version and fingerprint."""
    from envctl.commands.specs import show as run

    shown = run(env)
    if fmt is ShowFormat.json:
        console.print_json(shown.to_json())
        return
    import yaml

    console.print_text(
        f"# {shown.environment} v{shown.version} fingerprint {shown.fingerprint}\n"
        f"# from {shown.file}"
    )
    console.print_text(yaml.safe_dump(shown.spec, sort_keys=False, default_flow_style=False))


@app.command("list")
def list_(fmt: FormatOpt = Format.table) -> None:
    """List the project's environments in stage order, with version and fingerprint."""
    from envctl.commands.specs import list_environments

    listed = list_environments()
    if fmt is Format.json:
        console.print_json(listed.to_json())
        return
    console.print_rows(
        ("stage", "environment", "version", "fingerprint", "file"),
        (
            (
                str(r.stage or "-"),
                r.name,
                f"v{r.version}" if r.version else "invalid",
                (r.fingerprint or "")[:12] or (r.error or ""),
                r.file,
            )
            for r in listed.environments
        ),
    )


class SchemaKind(str, enum.Enum):
    environment = "environment"
    project = "project"


@app.command()
def schema(
    kind: Annotated[
        SchemaKind | None,
        typer.Argument(
            metavar="environment|project", help="Which file's schema (default: environment)."
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="NAME",
            help="The schema of an output instead: what `envctl NAME --format json` prints.",
        ),
    ] = None,
    list_outputs: Annotated[
        bool, typer.Option("--list", help="List the outputs --output knows.")
    ] = False,
) -> None:
    """Print the JSON Schema of environment specs (or of envctl.yaml, or of an output)."""
    if output is not None or list_outputs:
        _output_schema(kind, output)
        return
    from envctl.commands.specs import config_schema
    from envctl.commands.specs import schema as spec_schema

    console.print_json(spec_schema() if kind is not SchemaKind.project else config_schema())


def _output_schema(kind: SchemaKind | None, output: str | None) -> None:
    from envctl.commands.schema import output_schema, outputs

    if kind is not None:
        raise UsageError(f"give {kind.value} or --output/--list, not both")
    if output is not None:
        console.print_json(output_schema(output))
        return
    names = outputs()
    width = max(map(len, names))
    for name, description in names.items():
        console.print_text(f"{name:<{width}}  {description}")


@app.command()
def check(
    base: Annotated[
        str | None,
        typer.Option("--base", metavar="REV", help="Git revision to compare with (default HEAD)."),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """CI step: every spec valid, and every spec changed since BASE has a higher version.

    Exit 0 all good, 1 a spec needs a version bump or a fresh lock, 3 a spec is
    invalid, 4 git failed."""
    from envctl.commands.check import check as run
    from envctl.commands.check import failure

    report = run(base=base)
    if fmt is Format.json:
        console.print_json(report.to_json())
    else:
        for f in report.findings:
            console.print_text(f"{f.file}: {f.message}")
        if report.ok:
            against = (
                f"against {report.base}"
                if report.base is not None
                else "(not in git, or no commit yet: versions not compared)"
            )
            console.print_text(f"ok: {report.checked} specs checked {against}")
    if (error := failure(report)) is not None:
        raise error
