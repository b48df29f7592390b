"""sbom, scan and vulndb: what is inside an image, and whether any of it is known-vulnerable."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from envctl.cli import console
from envctl.cli.app import Format, FormatOpt, app
from envctl.progress import clean

if TYPE_CHECKING:
    from envctl.supply.sbom import SbomFormat

SeverityOpt = Annotated[
    str | None,
    typer.Option(
        "--fail-on",
        metavar="SEVERITY",
        help="low, medium, high or critical "
        "(default: the stage's vulnerabilities gate, else high).",
    ),
]
DatabaseOpt = Annotated[
    Path | None,
    typer.Option(
        "--database", metavar="DIR", help="The database folder (default: envctl's cache)."
    ),
]


@app.command()
def sbom(
    operand: Annotated[
        str | None,
        typer.Argument(metavar="ENV|MODEL", help="An environment, or with --stage a model."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", metavar="NAME@VERSION", help="The model image built in ENV."),
    ] = None,
    stage: Annotated[
        str | None,
        typer.Option("--stage", "-s", metavar="STAGE", help="The image the stage runs now."),
    ] = None,
    image: Annotated[
        str | None, typer.Option("--image", metavar="REF", help="Any image in the engine.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write the SBOM here (else stdout)."),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="cyclonedx-json|spdx-json|table|json",
            help="The SBOM's format (cyclonedx-json, the default, or spdx-json); with "
            "--output, json prints what was written as JSON (table: one line).",
        ),
    ] = "table",
    sbom_format: Annotated[
        str | None,
        typer.Option(
            "--sbom-format",
            metavar="cyclonedx-json|spdx-json",
            help="The SBOM's format when --format names the report's (json).",
        ),
    ] = None,
) -> None:
    """Write the SBOM of an image (CycloneDX, or SPDX with --format spdx-json):
    every Python distribution it holds (with the lock's hashes when it was built
    from that lock) and every Debian package in its dpkg status, read from the
    image itself. With --stage: the one the promotion stored beside the image in
    the registry (else made again from the image), checked against its record.

    Exit 1 when it is not the SBOM the stage's record names, 3 when the image is
    not built or the stage holds nothing, 4 when the engine or registry fails."""
    from envctl.commands.sbom import sbom as run

    document, report = _sbom_formats(fmt, sbom_format)
    made = run(operand, model=model, stage=stage, image=image, fmt=document)
    if output is None:
        console.print_text(made.text.rstrip("\n"))
        return
    output.write_text(made.text)
    written = made.written(output)
    if report is Format.json:
        console.print_json(written.to_json())
        return
    console.print_text(
        clean(
            f"wrote {output} ({written.sha256}): {written.python_packages} Python and "
            f"{written.debian_packages} Debian packages in {written.image}"
            + (" (fetched from the registry)" if written.source == "registry" else "")
        )
    )


@app.command()
def scan(
    name: Annotated[
        str | None, typer.Argument(metavar="MODEL", help="Model (default: all).")
    ] = None,
    stage: Annotated[
        str | None, typer.Option("--stage", "-s", metavar="STAGE", help="Only this stage.")
    ] = None,
    fail_on: SeverityOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Re-check what every stage runs now against today's vulnerability database.

    Exit 1 when something running has an unwaived finding at or above the threshold,
    3 when there is no database (nothing was checked), 4 when the engine fails.
    Run it daily in CI after `envctl vulndb update`."""
    from envctl.commands.scan import failure
    from envctl.commands.scan import scan as run

    result = run(name, stage=stage, fail_on=_severity(fail_on))
    if fmt is Format.json:
        console.print_json(result.to_json())
    else:
        db = result.database
        console.print_text(
            f"database: {db.records} records, imported {db.imported} ({db.age_days:g} days ago)"
        )
        for s in result.stages:
            state = f"{len(s.blocking)} blocking" if s.blocking else "ok"
            console.print_text(
                clean(f"{s.model}@{s.version} in {s.stage}: {state}, {len(s.findings)} finding(s)")
            )
            for f in s.findings:
                mark = "waived" if f["waived_by"] else ("BLOCKS" if f["id"] in s.blocking else "")
                fixed = f"fixed in {', '.join(f['fixed'])}" if f["fixed"] else "no fix yet"
                console.print_text(
                    clean(
                        f"  {f['severity']:<8} {f['id']:<20} {f['package']} {f['installed']} "
                        f"({fixed}) {mark}"
                    )
                )
    if (error := failure(result)) is not None:
        raise error


vulndb_app = typer.Typer(help="The local OSV vulnerability database (offline checks).")
app.add_typer(vulndb_app, name="vulndb")


@vulndb_app.command("update")
def vulndb_update(
    sources: Annotated[
        list[str],
        typer.Option(
            "--from",
            metavar="FILE|DIR|URL",
            help="An OSV all.zip (one per ecosystem: PyPI, Debian:12), a folder of records, "
            "or an https URL of an all.zip. Repeat for several.",
        ),
    ],
    database: DatabaseOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Import OSV data, replacing the whole local database: name every source in one
    call (--from PyPI.zip --from Debian.zip). The previous database is kept unless
    every record of every source follows the OSV schema."""
    from envctl.commands.vulndb import update as run

    _show(run(sources, database=database), fmt, "imported")


@vulndb_app.command("status")
def vulndb_status(database: DatabaseOpt = None, fmt: FormatOpt = Format.table) -> None:
    """How old the local database is and how many records it holds; exit 3 if none."""
    from envctl.commands.vulndb import status as run

    _show(run(database=database), fmt, "database")


def _show(doc: object, fmt: Format, verb: str) -> None:
    from envctl.output.supply import VulnDbDocument

    assert isinstance(doc, VulnDbDocument)
    if fmt is Format.json:
        console.print_json(doc.to_json())
        return
    db = doc.database
    console.print_text(
        clean(
            f"{verb}: {db.records} OSV records at {db.path}; newest record {db.newest_record}, "
            f"imported {db.imported} ({db.age_days:g} days ago)"
        )
    )


def _sbom_formats(fmt: str, sbom_format: str | None) -> tuple[SbomFormat, Format]:
    """(the document's format, the report's) from --format and --sbom-format."""
    from envctl.errors import UsageError
    from envctl.supply.sbom import FORMATS

    report = Format(fmt) if fmt in ("table", "json") else Format.table
    document = sbom_format or (fmt if fmt not in ("table", "json") else "cyclonedx-json")
    if fmt not in (*FORMATS, "table", "json"):
        raise UsageError(f"--format {fmt}: choose cyclonedx-json, spdx-json, table or json")
    if document not in FORMATS:
        raise UsageError(f"--sbom-format {document}: choose cyclonedx-json or spdx-json")
    if sbom_format and fmt in FORMATS and fmt != sbom_format:
        raise UsageError(f"--format {fmt} and --sbom-format {sbom_format} disagree")
    return document, report


def _severity(raw: str | None) -> Literal["low", "medium", "high", "critical"] | None:
    from envctl.errors import UsageError

    if raw is None:
        return None
    if raw not in ("low", "medium", "high", "critical"):
        raise UsageError(f"--fail-on {raw}: choose low, medium, high or critical")
    return raw  # type: ignore[return-value]  # checked just above
