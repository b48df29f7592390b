"""check-live: the running service checked against its stage's http gates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from envctl.cli import console
from envctl.cli.app import Format, FormatOpt, app
from envctl.progress import clean
from envctl.vocabulary import LOCK_TIMEOUT_SECONDS as DEFAULT_LOCK_TIMEOUT

if TYPE_CHECKING:
    from envctl.gates.live import LiveCheck


@app.command("check-live")
def check_live(
    name: Annotated[str | None, typer.Argument(metavar="NAME", help="Model.")] = None,
    stage: Annotated[
        str | None,
        typer.Option("--stage", "-s", metavar="STAGE", help="The stage to check (required)."),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url", metavar="URL", help="Base URL of the service (default: policy.live.url)."
        ),
    ] = None,
    push: Annotated[
        bool, typer.Option("--push", help="Push a rollback's tag to the remote.")
    ] = False,
    remote: Annotated[
        str, typer.Option("--remote", metavar="NAME", help="Git remote to push to / fetch from.")
    ] = "origin",
    lock_timeout: Annotated[
        float,
        typer.Option(
            "--lock-timeout",
            metavar="SECONDS",
            help="Give up (exit 4) when another envctl process holds the registry lock longer.",
        ),
    ] = DEFAULT_LOCK_TIMEOUT,
    fmt: FormatOpt = Format.table,
) -> None:
    """Send the stage's http gate requests (and read its policy.live.metrics) to the
    service the stage serves now, and judge the answers as the gates do.

    On a failure, with policy.live.rollback: auto, record a rollback to the stage's
    previous version (the policy is the confirmation; --push publishes it).
    First asks the service which version it runs (an X-Model-Version header, or
    model_version in its health answer): while that is not the stage's version,
    nothing is checked or written (exit 5, waiting for the deployment).
    Exit 0 every check passed, 1 a check failed (an unreachable service too;
    rolled back or not, the output says), 3 invalid input (no version in the
    stage, no URL, nothing to check, an address never contacted), 4 git or the
    push of the rollback failed, 5 the service still runs another version."""
    from envctl.commands.check_live import check_live as run
    from envctl.errors import EnvctlError, UsageError
    from envctl.gates.live import LiveCheck

    if not stage:
        raise UsageError("say which stage: envctl check-live NAME --stage STAGE")
    say = None if fmt is Format.json else _info
    try:
        result = run(
            name, stage=stage, url=url, push=push, remote=remote, lock_timeout=lock_timeout,
            progress=say,
        )  # fmt: skip
    except EnvctlError as exc:
        if isinstance(exc.report, LiveCheck):
            _show(exc.report, fmt)
        raise
    _show(result, fmt)


def _show(result: LiveCheck, fmt: Format) -> None:
    if fmt is Format.json:
        console.print_json(result.to_json())
        return
    for check in result.checks:
        console.print_text(clean(f"  {check.status:7} {check.kind}: {check.summary}"))
    where = f"{result.model}@{result.version} in {result.stage} ({result.url})"
    if result.status == "waiting":
        running = result.running_version
        console.print_text(clean(f"live checks waiting: {where}: the service runs {running}"))
    elif result.status == "passed":
        console.print_text(clean(f"live checks passed: {where}"))
    elif result.rollback:
        console.print_text(
            clean(f"live checks failed: {where}; restored {result.restored}: {result.rollback}")
        )
    else:
        console.print_text(clean(f"live checks failed: {where}"))


def _info(line: str) -> None:
    console.info_line(clean(line))
