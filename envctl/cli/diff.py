"""diff: the mismatch check, rendered as a table, JSON, markdown or GitHub annotations."""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterator
from itertools import groupby
from typing import TYPE_CHECKING, Annotated, cast

import typer

from envctl.cli import console
from envctl.cli.app import app
from envctl.cli.plain_help import choices

if TYPE_CHECKING:
    from rich.table import Table

    from envctl.cli.text_table import Column, Row
    from envctl.commands.diff import Comparison, DiffReport
    from envctl.diff import Finding
    from envctl.vocabulary import FailOn as FailOnLevel


class DiffFormat(str, enum.Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    github = "github"


class FailOn(str, enum.Enum):
    error = "error"
    warning = "warning"
    info = "info"  # any unwaived difference at all
    never = "never"


@app.command()
def diff(
    operands: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="A B",
            help="Two environments: a name (prod), NAME@REV or NAME@vN, a spec file, "
            "`local` (the active virtualenv, or --python) or image:REF (a built image).",
            show_default=False,
        ),
    ] = None,
    path: Annotated[
        bool,
        typer.Option(
            "--path",
            help="Compare each consecutive pair of stages in envctl.yaml "
            "(dev→staging, staging→prod).",
        ),
    ] = False,
    python: Annotated[
        str | None,
        typer.Option(
            "--python",
            metavar="PATH",
            help="The interpreter `local` means (a python executable or a virtualenv folder); "
            "default: the active virtualenv, else python3 on PATH.",
        ),
    ] = None,
    fail_on: Annotated[
        FailOn,
        typer.Option(
            "--fail-on",
            metavar=choices(FailOn),
            help="Exit 1 when an unwaived finding at or above this severity exists.",
        ),
    ] = FailOn.error,
    fmt: Annotated[
        DiffFormat,
        typer.Option(
            "--format",
            "-f",
            metavar=choices(DiffFormat),
            help="table, json (schema_version 1), markdown (a PR comment) "
            "or github (workflow annotations).",
        ),
    ] = DiffFormat.table,
    images: Annotated[
        bool,
        typer.Option(
            "--images",
            help="A and B are stages: also compare the images they run now (from the "
            "ledger): packages added, removed or changed in their SBOMs, Debian's included, "
            "and vulnerability findings in one and not the other (with a database).",
        ),
    ] = False,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            metavar="NAME",
            help="Whose images --images compares (default: the only model).",
        ),
    ] = None,
) -> None:
    """Every mismatch that can break a model or a policy between two environments.

    Left is where a model comes from, right is where it goes: `envctl diff dev prod`.
    Exit 0 when no unwaived finding is at or above --fail-on, 1 when one is, 3 for
    an unknown environment or an invalid spec, 4 when the Docker Engine (needed
    for image:REF) cannot be used.
    """
    from envctl.commands.diff import diff as run

    report = run(operands or [], path=path, python=python, images=images, model=model)
    render(report, fmt, fail_on.value)
    if (failure := report.failure(fail_on.value)) is not None:
        raise failure


def render(report: DiffReport, fmt: DiffFormat, fail_on: str) -> None:
    if fmt is DiffFormat.json:
        # --fail-on's choices are the vocabulary's FailOn values.
        console.print_json(report.document(cast("FailOnLevel", fail_on)).to_json())
    elif fmt is DiffFormat.markdown:
        console.print_text("\n\n".join(markdown(c) for c in report.comparisons))
    elif fmt is DiffFormat.github:
        for comparison in report.comparisons:
            for line in github_lines(comparison):
                console.print_text(line)
    else:
        for comparison in report.comparisons:
            _print_table(comparison)


def _title(c: Comparison) -> str:
    return f"{c.left.side.label} → {c.right.side.label}"


def _heading(c: Comparison) -> str:
    def one(label: str, version: int | None) -> str:
        return f"{label} v{version}" if version is not None else label

    return (
        f"{one(c.left.side.label, c.left.side.version)} → "
        f"{one(c.right.side.label, c.right.side.version)}"
    )


def summary_line(c: Comparison) -> str:
    counts = c.summary
    if not c.findings:
        return f"{_heading(c)}: no findings"
    parts = [
        f"{counts['error']} error{'s' if counts['error'] != 1 else ''}",
        f"{counts['warning']} warning{'s' if counts['warning'] != 1 else ''}",
        f"{counts['info']} info",
        f"{counts['waived']} waived",
    ]
    return f"{_heading(c)}: " + ", ".join(parts)


# ---- table ------------------------------------------------------------------

_STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_WIDE = 110  # columns needed to show both values beside the message


def _print_table(c: Comparison) -> None:
    if c.findings:
        _print_findings(c)
    console.print_line(summary_line(c))
    for note in c.notes:
        console.print_line(f"note: {note}", style="dim")
    for line in image_lines(c):
        console.print_line(line)


def _print_findings(c: Comparison) -> None:
    """Off a terminal the table is laid out here, as Rich would lay it out
    (envctl.cli.text_table), unless its text is Rich's to print."""
    if console.is_plain_log():
        from envctl.cli import text_table

        wide = console.LOG_WIDTH >= _WIDE
        text = text_table.render(
            _heading(c), _columns(c, wide), [row for row, _ in _rows(c, wide)], console.LOG_WIDTH
        )
        if text is not None:
            sys.stdout.write(text)
            return
    out = console.out()
    out.print(_table(c, out.width))


def image_lines(c: Comparison) -> list[str]:
    """--images: what differs between the images the two stages run."""
    found = c.images
    if found is None:
        return []
    left, right = found.left, found.right
    head = (
        f"images of {found.model}: {left.version} in {left.stage} → {right.version} in "
        f"{right.stage}"
    )
    if found.same_image:
        return [f"{head}: the same image ({right.image})"]
    counted = {
        k: sum(p.change == k for p in found.packages) for k in ("added", "removed", "changed")
    }
    lines = [head + ": " + ", ".join(f"{n} {k}" for k, n in counted.items()) + " package(s)"]
    for p in found.packages:
        versions = {"added": f"added {p.right}", "removed": f"removed {p.left}"}
        lines.append(
            f"  {p.ecosystem:<6} {p.name} {versions.get(p.change, f'{p.left} → {p.right}')}"
        )
    if found.database is None:
        lines.append("  findings not compared: no vulnerability database (envctl vulndb update)")
    for stage, only in ((left.stage, found.only_left), (right.stage, found.only_right)):
        for f in only:
            lines.append(
                f"  only in {stage}: {f['id']} {f['package']} {f['installed']} ({f['severity']})"
            )
    return lines


def _columns(c: Comparison, wide: bool) -> list[Column]:
    # Every message names both values, so narrow terminals drop the value columns
    # rather than fold every cell into a sliver.
    from envctl.cli.text_table import Column

    values = [
        Column(c.left.side.label, fold=True, max_width=24),
        Column(c.right.side.label, fold=True, max_width=24),
    ]
    return [
        Column("severity", no_wrap=True),
        Column("path", no_wrap=True),
        *(values if wide else []),
        Column("finding", min_width=32),
    ]


def _rows(c: Comparison, wide: bool) -> Iterator[tuple[Row, str]]:
    """Each row, and the style of its first cell: an area's name, then its findings."""
    from envctl.cli.text_table import Row

    for area, group in groupby(c.findings, key=lambda f: f.area):
        yield Row((area,)), "bold underline"
        found = list(group)
        for index, f in enumerate(found):
            values = (_short(f.left), _short(f.right)) if wide else ()
            yield (
                Row(
                    (_severity_text(f), f.path, *values, _finding_text(f)),
                    end_section=index == len(found) - 1,
                ),
                "dim" if f.waived else _STYLES[f.severity],
            )


def _table(c: Comparison, width: int) -> Table:
    from rich.table import Table
    from rich.text import Text

    wide = width >= _WIDE
    table = Table(
        title=_heading(c),
        title_justify="left",
        show_edge=False,
        pad_edge=False,
        header_style="bold",
    )
    for column in _columns(c, wide):
        table.add_column(
            column.header,
            no_wrap=column.no_wrap,
            overflow="fold" if column.fold else "ellipsis",
            min_width=column.min_width,
            max_width=column.max_width,
        )
    for row, style in _rows(c, wide):
        table.add_row(Text(row.cells[0], style=style), *row.cells[1:])
        if row.end_section:
            table.add_section()
    return table


def _short(value: str | None) -> str:
    """Values as shown in the table: digests cut to 12 hex (JSON keeps them whole)."""
    if value is None:
        return "—"
    name, at, digest = value.partition("@sha256:")
    return f"{name}@sha256:{digest[:12]}…" if at and len(digest) > 12 else value


def _severity_text(f: Finding) -> str:
    return "waived" if f.waived is not None else f.severity


def _finding_text(f: Finding) -> str:
    return f"{f.message} (waived: {f.waived})" if f.waived is not None else f.message


# ---- markdown ---------------------------------------------------------------

_ICONS = {"error": "🔴", "warning": "🟡", "info": "🔵"}


def markdown(c: Comparison) -> str:
    """A pull-request comment: heading, counts, one table row per finding."""
    lines = [f"### envctl diff: {_heading(c)}", "", f"**{summary_line(c).split(': ', 1)[1]}**"]
    if c.findings:
        lines += [
            "",
            f"| severity | area | path | {_md(c.left.side.label)} | "
            f"{_md(c.right.side.label)} | finding |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += [_md_row(f) for f in c.findings]
    if c.notes:
        lines += ["", *(f"> note: {_md(n)}" for n in c.notes)]
    if c.images is not None:
        lines += ["", "```", *image_lines(c), "```"]
    return "\n".join(lines)


def _md_row(f: Finding) -> str:
    severity = (
        f"⚪ waived {f.severity}" if f.waived is not None else f"{_ICONS[f.severity]} {f.severity}"
    )
    cells = [
        severity,
        f.area,
        _code(f.path),
        _code(_short(f.left) if f.left else None),
        _code(_short(f.right) if f.right else None),
        _md(_finding_text(f)),
    ]
    return "| " + " | ".join(cells) + " |"


def _code(value: str | None) -> str:
    if not value:
        return "—"
    return "`" + _md(value).replace("`", "'") + "`"


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


# ---- GitHub workflow commands ------------------------------------------------

_LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def github_lines(c: Comparison) -> Iterator[str]:
    """`::error file=…,line=…,title=…::message`, one per finding, then a summary."""
    for f in c.findings:
        level = "notice" if f.waived is not None else _LEVELS[f.severity]
        props = _github_props(f, f"envctl diff {_title(c)}: {f.kind} {f.path}")
        yield f"::{level} {props}::{escape_data(_finding_text(f))}"
    yield summary_line(c)
    yield from image_lines(c)


def _github_props(f: Finding, title: str) -> str:
    # Annotate the target's line when it has one (that is the file a PR changes to
    # promote), else the source's.
    pos = f.right_pos or f.left_pos
    props: list[tuple[str, str]] = []
    if pos is not None:
        props += [("file", pos[0]), ("line", str(pos[1]))]
    props.append(("title", title))
    return ",".join(f"{key}={escape_property(value)}" for key, value in props)


def escape_data(text: str) -> str:
    """Per GitHub's toolkit (`escapeData`): %, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Per GitHub's toolkit (`escapeProperty`): data escapes plus ':' and ','."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
