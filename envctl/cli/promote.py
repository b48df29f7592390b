"""register, approve, promote, status, history, rollback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from envctl.cli import console
from envctl.cli.app import Format, FormatOpt, app

if TYPE_CHECKING:
    from envctl.output.promotion import PromotionDocument, StageEvent

PushOpt = Annotated[bool, typer.Option("--push", help="Push the tag to the remote.")]
RemoteOpt = Annotated[str, typer.Option("--remote", help="Git remote to push to / fetch from.")]


@app.command()
def register(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Model name, as in envctl.yaml models:.")
    ],
    version: Annotated[str, typer.Argument(metavar="VERSION", help="Version: vMAJOR.MINOR.PATCH.")],
    ref: Annotated[str, typer.Option("--ref", help="Commit holding that version.")] = "HEAD",
    push: PushOpt = False,
    remote: RemoteOpt = "origin",
    fmt: FormatOpt = Format.table,
) -> None:
    """Register a model version: annotated tag NAME@vX.Y.Z (GTO's grammar)."""
    from envctl.commands.register import register as run

    result = run(name, version, ref=ref, push=push, remote=remote)
    if fmt is Format.json:
        console.print_json(result.to_json())
    else:
        console.print_text(
            f"registered {result.tag} at {result.commit[:12]}"
            + (" (pushed)" if result.pushed else "")
        )


@app.command()
def approve(
    ref: Annotated[str, typer.Argument(metavar="NAME@VERSION", help="NAME@vX.Y.Z to approve.")],
    stage: Annotated[str, typer.Option("--for", help="Stage the approval is for.")],
    push: PushOpt = False,
    remote: RemoteOpt = "origin",
    fmt: FormatOpt = Format.table,
) -> None:
    """Approve a model version for a stage (recorded in git; never counts for yourself)."""
    from envctl.commands.approve import approve as run

    result = run(ref, stage=stage, push=push, remote=remote)
    if fmt is Format.json:
        console.print_json(result.to_json())
    else:
        console.print_text(
            f"{result.approver} approved {result.model}@{result.version} for {result.stage}"
        )


@app.command()
def promote(
    ref: Annotated[
        str | None,
        typer.Argument(
            metavar="NAME[@VERSION]",
            help="NAME[@VERSION]; default: the version now in the previous stage.",
        ),
    ] = None,
    to: Annotated[str, typer.Option("--to", help="Target stage.")] = "",
    plan: Annotated[
        bool, typer.Option("--plan", help="Show what would happen; change nothing.")
    ] = False,
    push: PushOpt = False,
    force: Annotated[bool, typer.Option("--force", help="Allow skipping a stage.")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (with --force).")] = None,
    remote: RemoteOpt = "origin",
    fmt: FormatOpt = Format.table,
) -> None:
    """Promote a model version to the next stage once that stage's gates pass."""
    from envctl.commands.promote import promote as run
    from envctl.errors import UsageError

    if not to:
        raise UsageError("say where: envctl promote [NAME[@VERSION]] --to STAGE")
    say = None if fmt is Format.json else console.info_line
    with _report_on_failure(fmt):
        outcome = run(
            ref,
            to=to,
            plan=plan,
            push=push,
            force=force,
            reason=reason,
            remote=remote,
            progress=say,
        )
    if fmt is Format.json:
        console.print_json(outcome.to_json())
        return
    _show_outcome(outcome.to_document())


@contextmanager
def _report_on_failure(fmt: Format) -> Iterator[None]:
    """With --format json, a refusal still prints what was done (its report) on
    stdout; the one-line error and the exit code follow as for any error."""
    from envctl.errors import EnvctlError

    try:
        yield
    except EnvctlError as exc:
        if exc.report is not None and fmt is Format.json:
            console.print_json(exc.report.to_json())
        raise


def _show_outcome(doc: PromotionDocument) -> None:
    ref = f"{doc.model}@{doc.version}"
    if doc.status == "unchanged":
        console.print_text(f"{ref} is already in {doc.stage}: nothing to do")
        return
    if doc.status == "planned":
        console.print_text(
            f"plan: {ref} -> {doc.stage}" + (f" (replaces {doc.replaces})" if doc.replaces else "")
        )
        console.print_text(f"  order: {doc.order}")
        for problem in doc.compatibility:
            console.print_text(f"  requirement not met: {problem}")
        for f in doc.findings:
            if f["waived"]:
                console.print_text(
                    f"  diff {f['severity']} (waived: {f['waiver_reason']}): {f['path']}"
                )
            else:
                console.print_text(f"  diff {f['severity']}: {f['message']}")
        console.print_text(f"  gates: {', '.join(doc.planned_gates) or 'none'}")
        return
    for gate in doc.gates:
        console.print_text(f"  {gate.status:7} {gate.kind}: {gate.summary}")
    verb = "rolled back" if doc.status == "rolled back" else "promoted"
    console.print_text(
        f"{verb} {ref} to {doc.stage}: {doc.tag}" + (" (pushed)" if doc.pushed else "")
    )


@app.command()
def status(
    name: Annotated[
        str | None, typer.Argument(metavar="NAME", help="Model (default: all).")
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Which version of each model is in each stage, since when, by whom."""
    from envctl.commands.status import status as run

    result = run(name)
    for warning in result.warnings:
        console.warning_line(warning)
    if fmt is Format.json:
        console.print_json(result.to_json())
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    table.add_column("model")
    table.add_column("latest")
    for stage in result.stages:
        table.add_column(stage)
    for row in result.models:
        cells = [_cell(row.stages[s]) for s in result.stages]
        table.add_row(row.model, row.latest or "-", *cells)
    console.out().print(table)


def _cell(event: StageEvent | None) -> str:
    if event is None:
        return "-"
    when = (event.when or "")[:16].replace("T", " ")
    return f"{event.version or event.commit[:12]} ({when}, {event.by}){_evidence(event)}"


def _evidence(event: StageEvent) -> str:
    """Said only when something is wrong, so a clean ledger reads as before."""
    if event.evidence == "none":
        return " [no evidence]"
    if event.evidence == "invalid":
        return " [invalid]" if event.counts else " [invalid, does not count]"
    return ""


@app.command()
def history(
    name: Annotated[str | None, typer.Argument(metavar="NAME", help="Model.")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """The model's promotion ledger, newest first (bypasses and rollbacks included)."""
    from envctl.commands.status import history as run

    result = run(name)
    for warning in result.warnings:
        console.warning_line(warning)
    if fmt is Format.json:
        console.print_json(result.to_json())
        return
    for e in result.events:
        extra = ""
        if e.bypass_reason:
            extra = f"  BYPASS: {e.bypass_reason}"
        if e.rollback_of:
            extra = f"  ROLLBACK of {e.rollback_of}"
        if e.evidence in ("none", "invalid"):
            extra += "  NO EVIDENCE" if e.evidence == "none" else f"  INVALID: {e.problems[0]}"
            extra += "" if e.counts else " (does not count)"
        console.print_text(
            f"#{e.n!s:<4} {(e.when or '')[:19]}  {e.action:8} "
            f"{e.stage:10} {e.version}  by {e.by}{extra}"
        )
    for v in result.versions:
        console.print_text(f"      {(v.when or '')[:19]}  register {'':10} {v.version}  by {v.by}")


@app.command()
def audit(
    name: Annotated[
        str | None, typer.Argument(metavar="NAME", help="Model (default: all).")
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Replay the whole ledger offline and list every violation; exit 1 if any."""
    from envctl.commands.audit import audit as run
    from envctl.errors import CheckFailed

    result = run(name)
    for warning in result.warnings:
        console.warning_line(warning)
    if fmt is Format.json:
        console.print_json(result.to_json())
    else:
        for v in result.violations:
            console.print_text(f"{v.kind:20} {v.tag}: {v.message}")
    if result.violations:
        raise CheckFailed(
            f"audit found {len(result.violations)} violation(s) in {result.events} events "
            f"and {result.approvals} approvals"
        )
    if fmt is not Format.json:
        console.print_text(
            f"ledger clean: {result.events} events and {result.approvals} approvals checked"
        )


@app.command()
def rollback(
    name: Annotated[str | None, typer.Argument(metavar="NAME", help="Model.")] = None,
    env: Annotated[str, typer.Option("--env", help="Stage to roll back.")] = "",
    push: PushOpt = False,
    remote: RemoteOpt = "origin",
    fmt: FormatOpt = Format.table,
) -> None:
    """Re-assign the version that was in STAGE before the current one (recorded)."""
    from envctl.commands.rollback import rollback as run
    from envctl.errors import UsageError

    if not env:
        raise UsageError("say which stage: envctl rollback NAME --env STAGE")
    with _report_on_failure(fmt):
        outcome = run(name, stage=env, push=push, remote=remote)
    if fmt is Format.json:
        console.print_json(outcome.to_json())
        return
    t = outcome.target
    console.print_text(
        f"restored {t.model}@{t.version} to {t.stage} (replacing {t.replaces}): {outcome.tag}"
    )
