"""register, approve, promote, advance, status, history, rollback, image."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from envctl.cli import console
from envctl.cli.app import Format, FormatOpt, app
from envctl.progress import clean
from envctl.vocabulary import LOCK_TIMEOUT_SECONDS as DEFAULT_LOCK_TIMEOUT

if TYPE_CHECKING:
    from envctl.output.promotion import PromotionDocument
    from envctl.output.registry import StageEvent
    from envctl.promotion.outcome import Outcome

AllModelsArg = Annotated[str | None, typer.Argument(metavar="NAME", help="Model (default: all).")]
PushOpt = Annotated[bool, typer.Option("--push", help="Push the tag to the remote.")]
RemoteOpt = Annotated[
    str, typer.Option("--remote", metavar="NAME", help="Git remote to push to / fetch from.")
]
# One spelling for the stage everywhere; the old ones stay as hidden aliases.
StageOpt = Annotated[
    str | None, typer.Option("--stage", "-s", metavar="STAGE", help="The stage (required).")
]
ToAlias = Annotated[str | None, typer.Option("--to", metavar="STAGE", hidden=True)]
ForAlias = Annotated[str | None, typer.Option("--for", metavar="STAGE", hidden=True)]
EnvAlias = Annotated[str | None, typer.Option("--env", metavar="STAGE", hidden=True)]


def one_stage(stage: str | None, alias: str | None, alias_name: str, usage: str) -> str:
    """--stage, or its old spelling; both given must agree."""
    from envctl.errors import UsageError

    if stage and alias and stage != alias:
        raise UsageError(f"--stage {stage} and {alias_name} {alias} disagree; give --stage only")
    chosen = stage or alias
    if not chosen:
        raise UsageError(f"say which stage: {usage}")
    return chosen


LockTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--lock-timeout",
        metavar="SECONDS",
        help="Give up (exit 4, naming the holder) when another envctl process holds "
        "the registry lock longer than this.",
    ),
]
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Also show each gate's output (pytest's last lines, the server log).",
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Show only the result.")]
PromotePushOpt = Annotated[
    bool,
    typer.Option(
        "--push",
        help="Push the tag to the remote, and the image to registry: (its digest is recorded).",
    ),
]


@app.command()
def register(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Model name, as in envctl.yaml models:.")
    ],
    version: Annotated[str, typer.Argument(metavar="VERSION", help="Version: vMAJOR.MINOR.PATCH.")],
    ref: Annotated[
        str, typer.Option("--ref", metavar="REV", help="Commit holding that version.")
    ] = "HEAD",
    push: PushOpt = False,
    remote: RemoteOpt = "origin",
    allow_dirty: Annotated[
        bool,
        typer.Option(
            "--allow-dirty",
            help="Register although the model folder has uncommitted or untracked "
            "changes (recorded in the tag).",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Register a commit already registered as another version."),
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why (with --force).")
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Register a model version: annotated tag NAME@vX.Y.Z (GTO's grammar).

    Exit 0 registered, 3 unknown model or invalid version, 4 git or the push failed."""
    from envctl.commands.register import register as run

    result = run(
        name, version, ref=ref, push=push, remote=remote, allow_dirty=allow_dirty,
        force=force, reason=reason, warn=console.warning_line,
    )  # fmt: skip
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
    stage: StageOpt = None,
    for_: ForAlias = None,
    push: PushOpt = False,
    remote: RemoteOpt = "origin",
    fmt: FormatOpt = Format.table,
) -> None:
    """Approve a model version for entering a stage (recorded in git where GTO never
    reads it as an assignment).

    Another person approves: the version's author is refused at once (exit 1),
    and promote never counts the promoter's own approval. Exit 4 when git or the
    push fails."""
    from envctl.commands.approve import approve as run

    chosen = one_stage(stage, for_, "--for", "envctl approve NAME@VERSION --stage STAGE")
    result = run(ref, stage=chosen, push=push, remote=remote)
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
    stage: StageOpt = None,
    to: ToAlias = None,
    plan: Annotated[
        bool, typer.Option("--plan", help="Show what would happen; change nothing.")
    ] = False,
    push: PromotePushOpt = False,
    force: Annotated[
        bool, typer.Option("--force", help="Skip a stage (recorded, needs --reason).")
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why (with --force).")
    ] = None,
    accept_no_gpu: Annotated[
        str | None,
        typer.Option(
            "--accept-no-gpu",
            metavar="REASON",
            help="Run the gates without the stage's GPUs when its gate engine has none "
            "(recorded as a bypass, with REASON).",
        ),
    ] = None,
    remote: RemoteOpt = "origin",
    lock_timeout: LockTimeoutOpt = DEFAULT_LOCK_TIMEOUT,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Promote a model version into STAGE once that stage's gates pass.

    Each gate is shown as it ends, with its result and how long it took.
    Exit 0 promoted (or already there), 1 a gate, the stage order or the
    compatibility check said no, 3 invalid input, 4 Docker or git failed,
    5 everything passed but approvals are missing (another person runs envctl
    approve, then promote again), or the stage's policy (soak, windows, freeze)
    does not allow it yet (--force --reason overrides it, recorded)."""
    from envctl.cli.gate_board import promotion_progress
    from envctl.promotion.flow import promote as run

    chosen = one_stage(stage, to, "--to", "envctl promote [NAME[@VERSION]] --stage STAGE")
    title = f"promoting {ref} to {chosen}" if ref else f"promoting to {chosen}"
    json_out = fmt is Format.json
    with (
        _report_on_failure(fmt),
        promotion_progress(title, verbose=verbose, quiet=quiet or json_out) as report,
    ):
        outcome = run(
            ref, to=chosen, plan=plan, push=push, force=force, reason=reason, remote=remote,
            lock_timeout=lock_timeout, progress=report.say, on_gate=report.on_gate,
            accept_no_gpu=accept_no_gpu,
        )  # fmt: skip
    if fmt is Format.json:
        console.print_json(outcome.to_json())
        return
    _show_outcome(outcome.to_document())


@app.command()
def advance(
    ref: Annotated[
        str, typer.Argument(metavar="NAME@VERSION", help="The version to take forward.")
    ],
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="STAGE", help="Stop once in STAGE (default: the last)."),
    ] = None,
    push: PromotePushOpt = False,
    remote: RemoteOpt = "origin",
    lock_timeout: LockTimeoutOpt = DEFAULT_LOCK_TIMEOUT,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Promote a version into every stage after the one it has entered, in order,
    each through its own gates, for unattended jobs (docs/continuous-training.md).

    Run it again later to continue where it stopped. Exit 0 in the target stage
    (--until, else the last), 1 a gate, the stage order or the compatibility
    check said no, 3 invalid input, 4 Docker or git failed, 5 not yet: waiting
    for approvals, for a person (policy auto: false) or for the stage's policy
    (soak, windows, freeze): run again later."""
    from envctl.cli.gate_board import promotion_progress
    from envctl.commands.advance import advance as run

    json_out = fmt is Format.json
    with (
        _report_on_failure(fmt),
        promotion_progress(f"advancing {ref}", verbose=verbose, quiet=quiet or json_out) as report,
    ):

        def show(step: Outcome) -> None:
            with report.paused():
                _show_outcome(step.to_document())

        result = run(
            ref, until=until, push=push, remote=remote, lock_timeout=lock_timeout,
            progress=report.say, on_gate=report.on_gate, on_step=None if json_out else show,
        )  # fmt: skip
    if json_out:
        console.print_json(result.to_json())
        return
    where = f"{result.model}@{result.version}"
    if not result.steps:
        console.print_text(f"{where} has entered {result.reached} already: nothing to do")
    else:
        console.print_text(f"{where} reached {result.until}")


def _info(line: str) -> None:
    """Progress lines name tags, whose text anyone with push access chose."""
    console.info_line(clean(line))


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
        _show_bypass(doc)
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
        if doc.runner is not None:
            console.print_text(f"  gates run on: {doc.runner} (runner:)")
        if doc.policy is not None:
            console.print_text(clean(f"  policy: {doc.policy['summary']}"))
        return
    for gate in doc.gates:
        console.print_text(clean(f"  {gate.status:7} {gate.kind}: {gate.summary}"))
    _show_runner(doc)
    if doc.reused_from:
        console.print_text(
            f"{doc.stage} runs the image {doc.reused_from} tested: {doc.digest or doc.image_id}"
        )
    elif doc.image_differences:
        console.print_text(f"{doc.stage} runs a new image ({doc.image}): its content differs")
        for difference in doc.image_differences:
            console.print_text(clean(f"  {difference}"))
    verb = "rolled back" if doc.status == "rolled back" else "promoted"
    console.print_text(
        clean(f"{verb} {ref} to {doc.stage}: {doc.tag}" + (" (pushed)" if doc.pushed else ""))
    )
    _show_bypass(doc)


def _show_bypass(doc: PromotionDocument) -> None:
    """A forced promotion says so where people read it, not only in the tag."""
    if doc.gpu_bypass is not None:
        gpus, why = doc.gpu_bypass.get("gpus"), doc.gpu_bypass.get("reason")
        console.print_text(
            clean(
                f"  BYPASSED (--accept-no-gpu): the gates ran without {doc.stage}'s "
                f"{gpus} GPU(s); reason: {why}"
            )
        )
    if doc.bypass_reason is None:
        return
    bypassed = doc.order if doc.order not in ("ok", "rollback") else "the stage policy"
    console.print_text(f"  BYPASSED (--force): {bypassed}; reason: {doc.bypass_reason}")


def _show_runner(doc: PromotionDocument) -> None:
    """The engine a stage's `runner:` named, as its gates' evidence records it."""
    engines = (gate.evidence.get("engine") for gate in doc.gates)
    ran_on = next((e for e in engines if isinstance(e, dict) and e.get("runner")), None)
    if ran_on is not None:
        name, engine_id, url = (str(ran_on.get(k) or "?") for k in ("name", "id", "url"))
        console.print_text(clean(f"  gates ran on {name} ({engine_id}) at {url}"))


@app.command()
def sync(
    remote: RemoteOpt = "origin",
    push: Annotated[
        bool,
        typer.Option("--push/--no-push", help="Push local-only registry tags after fetching."),
    ] = True,
    lock_timeout: LockTimeoutOpt = DEFAULT_LOCK_TIMEOUT,
    fmt: FormatOpt = Format.table,
) -> None:
    """Fetch the remote's registry tags, renumber local-only events that clash with
    its numbering, and push what only this clone has (docs/ledger.md)."""
    from envctl.commands.sync import sync as run

    result = run(
        remote=remote,
        push=push,
        lock_timeout=lock_timeout,
        progress=None if fmt is Format.json else _info,
    )
    if fmt is Format.json:
        console.print_json(result.to_json())
        return
    for item in result.renumbered:
        now = f"re-written as {item.new_tag}" if item.new_tag else f"dropped ({item.reason})"
        console.print_text(clean(f"renumbered {item.old_tag}: {now}"))
    console.print_text(
        clean(
            f"synced with {result.remote}: {len(result.fetched)} fetched, "
            f"{len(result.renumbered)} renumbered, {len(result.pushed)} pushed"
        )
    )


@app.command()
def status(
    name: AllModelsArg = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Which version of each model is in each stage, since when, by whom."""
    from envctl.commands.status import status as run

    result = run(name)
    for warning in result.warnings:
        console.warning_line(clean(warning))
    if fmt is Format.json:
        console.print_json(result.to_json())
        return
    console.print_rows(
        ("model", "latest", *result.stages),
        (
            (
                clean(row.model),
                clean(row.latest or "-"),
                *(_cell(row.stages[s]) for s in result.stages),
            )
            for row in result.models
        ),
    )


def _cell(event: StageEvent | None) -> str:
    if event is None:
        return "-"
    when = (event.when or "")[:16].replace("T", " ")
    return clean(f"{event.version or event.commit[:12]} ({when}, {event.by})") + _evidence(event)


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
        console.warning_line(clean(warning))
    if fmt is Format.json:
        console.print_json(result.to_json())
        return
    for e in result.events:
        extra = ""
        if e.bypass_reason:
            extra = f"  BYPASS: {e.bypass_reason}"
        if e.gpu_bypass_reason:
            extra += f"  NO GPU (accepted): {e.gpu_bypass_reason}"
        if e.rollback_of:
            extra = f"  ROLLBACK of {e.rollback_of}"
            extra += f" ({e.rollback_reason})" if e.rollback_reason else ""
        if e.evidence in ("none", "invalid"):
            extra += "  NO EVIDENCE" if e.evidence == "none" else f"  INVALID: {e.problems[0]}"
            extra += "" if e.counts else " (does not count)"
        if e.metrics:
            extra += "  " + ", ".join(f"{m.metric} {m.value:g} {m.basis}" for m in e.metrics)
        console.print_text(
            clean(
                f"#{e.n!s:<4} {(e.when or '')[:19]}  {e.action:8} "
                f"{e.stage:10} {e.version}  by {e.by}{extra}"
            )
        )
    for v in result.versions:
        console.print_text(
            clean(f"      {(v.when or '')[:19]}  register {'':10} {v.version}  by {v.by}")
        )


@app.command()
def audit(
    name: AllModelsArg = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Replay the whole ledger offline and list every violation; exit 1 if any."""
    from envctl.commands.audit import audit as run
    from envctl.commands.audit import failure

    result = run(name)
    for warning in result.warnings:
        console.warning_line(clean(warning))
    if fmt is Format.json:
        console.print_json(result.to_json())
    else:
        for v in result.violations:
            console.print_text(clean(f"{v.kind:20} {v.tag}: {v.message}"))
    if (error := failure(result)) is not None:
        raise error
    if fmt is not Format.json:
        console.print_text(
            f"ledger clean: {result.events} events and {result.approvals} approvals checked"
        )


@app.command()
def rollback(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The model to roll back.")],
    stage: StageOpt = None,
    env: EnvAlias = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask (CI): confirm the rollback.")
    ] = False,
    push: PushOpt = False,
    remote: RemoteOpt = "origin",
    lock_timeout: LockTimeoutOpt = DEFAULT_LOCK_TIMEOUT,
    fmt: FormatOpt = Format.table,
) -> None:
    """Put back the newest version the stage held before the current one that has
    not been rolled back from it since it last entered, as a new recorded event
    (no gates: it restores what already passed them).

    Says what it will do first; a stage whose spec asks for approvals needs a
    confirmation (a prompt on a terminal, --yes in CI; exit 2 without either).
    Exit 0 rolled back, 1 nothing safe to roll back to (every earlier version
    failed there), 3 nothing to roll back to, 4 git or the push failed."""
    from envctl.commands.rollback import rollback as run
    from envctl.errors import ConfirmationNeeded

    chosen = one_stage(stage, env, "--env", "envctl rollback NAME --stage STAGE")
    say = None if fmt is Format.json else _info
    with _report_on_failure(fmt):

        def attempt(confirmed: bool) -> Outcome:
            return run(
                name, stage=chosen, push=push, remote=remote, confirmed=confirmed,
                lock_timeout=lock_timeout, progress=say,
            )  # fmt: skip

        try:
            outcome = attempt(yes)
        except ConfirmationNeeded as exc:
            if not _ask(exc.question):
                raise
            outcome = attempt(True)
    if fmt is Format.json:
        console.print_json(outcome.to_json())
        return
    t = outcome.target
    if outcome.status == "unchanged":
        console.print_text(f"{t.model}@{t.version} is already in {t.stage}: nothing to do")
        return
    console.print_text(
        f"restored {t.model}@{t.version} to {t.stage} (replacing {t.replaces}): {outcome.tag}"
    )


def _ask(question: str) -> bool:
    """A yes/no prompt, only when someone is there to answer it."""
    import sys

    if not sys.stdin.isatty() or not sys.stderr.isatty():
        return False
    return bool(typer.confirm(question, default=False, err=True))


@app.command()
def image(
    name: Annotated[str | None, typer.Argument(metavar="NAME", help="Model.")] = None,
    stage: StageOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Print the image the stage runs as REPO@sha256:..., one line, for deploy
    scripts (from the promotion record: no Docker needed)."""
    from envctl.commands.image import image as run

    chosen = one_stage(stage, None, "", "envctl image NAME --stage STAGE")
    result = run(name, stage=chosen)
    if fmt is Format.json:
        console.print_json(result.to_json())
    else:
        console.print_text(result.digest)
