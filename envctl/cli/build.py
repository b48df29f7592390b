"""lock, render, build, verify: from a spec to an image that provably matches it."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from envctl.cli import console
from envctl.cli.app import Format, FormatOpt, app
from envctl.cli.live import progress
from envctl.cli.plain_help import choices

EnvArg = Annotated[str, typer.Argument(metavar="ENV", help="Environment: name or spec file.")]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Also show every line the engine prints.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Show only the result.")]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model", "-m", metavar="NAME@VERSION", help="Model version to put in the image."
    ),
]
VerifyModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        metavar="NAME@VERSION",
        help="Verify the image built for this model version (default: ENV's own image).",
    ),
]


class TextFormat(str, enum.Enum):
    text = "text"
    json = "json"


@app.command()
def lock(
    env: EnvArg,
    upgrade: Annotated[
        bool, typer.Option("--upgrade", "-U", help="Re-resolve every package to its newest.")
    ] = False,
    upgrade_package: Annotated[
        list[str] | None,
        typer.Option(
            "--upgrade-package",
            "-P",
            metavar="PACKAGE",
            help="Re-resolve only this package (repeatable).",
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Resolve ENV's packages (full transitive set, exact versions, sha256 hashes) for
    the spec's Python and image platform into environments/ENV.lock.

    Exit 0 locked, 3 invalid spec or nothing satisfies the pins, 4 uv or the
    index failed."""
    from envctl.commands.lock import lock as run

    result = run(env, upgrade=upgrade or list(upgrade_package or []))
    if fmt is Format.json:
        console.print_json(result.document().to_json())
        return
    state = "written" if result.changed else "unchanged"
    console.print_text(
        f"{result.path.name}: {result.packages} packages for Python "
        f"{result.python} on {result.platform} ({state}, {result.seconds:.1f}s)"
    )


@app.command()
def render(
    env: EnvArg,
    model: ModelOpt = None,
    probe: Annotated[
        bool,
        typer.Option(
            "--probe",
            help="Ask the base image which system packages it has, as build does (needs Docker).",
        ),
    ] = False,
    fmt: Annotated[
        TextFormat,
        typer.Option(
            "--format",
            "-f",
            metavar=choices(TextFormat),
            help="The Dockerfile as text, or a JSON document.",
        ),
    ] = TextFormat.text,
) -> None:
    """Print the Dockerfile that `envctl build ENV` would build."""
    from envctl.commands.render import render as run

    result = run(env, model=model, probe=probe)
    if fmt is TextFormat.json:
        console.print_json(result.to_json())
    else:
        console.print_text(result.dockerfile)


@app.command()
def build(
    env: EnvArg,
    model: ModelOpt = None,
    push: Annotated[
        bool, typer.Option("--push", help="Push the image to the project's registry.")
    ] = False,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Build ENV's image hermetically (locked wheels, networking off), tagged by
    fingerprint; reuse it when an image with that fingerprint exists.

    Progress is one line per step; the full engine log goes to a file whose path
    is printed (and to the screen with --verbose, or its last lines on failure).
    Exit 3 for an invalid spec or a stale lock, 4 when the engine or the build fails."""
    from envctl.build.image import build_image as run

    with progress(f"building {env}", verbose=verbose, quiet=quiet) as report:
        result = run(env, model=model, push=push, on_line=report.step, log=report.log)
    if fmt is Format.json:
        console.print_json(result.document().to_json())
        return
    what = (
        "cached, nothing built"
        if result.cached
        else (
            f"built in {result.seconds:.1f}s, {result.cached_steps}/{result.steps} steps from cache"
        )
    )
    console.print_text(
        f"{result.image}  {result.id[:19]}  {result.size_bytes / 1e6:.1f} MB  ({what})"
    )
    if result.pushed:
        console.print_text(f"pushed {result.pushed} {result.digest or ''}".rstrip())
    if result.log and not quiet:
        console.info_line(f"build log: {result.log}")


@app.command()
def verify(
    env: EnvArg,
    image: Annotated[
        str | None,
        typer.Option(
            "--image", metavar="REF", help="Image to verify (default: ENV's built image)."
        ),
    ] = None,
    model: VerifyModelOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Probe an image (Python, installed distributions, OS, labels) and report every
    difference from ENV's spec and lock.

    Exit 0 the image matches, 1 drift, 3 invalid spec or stale lock, 4 the image
    is missing or the engine failed."""
    from envctl.commands.verify import verify as run

    report = run(env, image=image, model=model)
    if fmt is Format.json:
        console.print_json(report.document().to_json())
    else:
        console.print_text(report.text())
    if (failure := report.failure()) is not None:
        raise failure
