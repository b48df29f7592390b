"""The Typer app, shared option aliases and the error boundary."""

from __future__ import annotations

import enum
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from envctl import __version__
from envctl.cli import console
from envctl.cli.plain_help import PlainHelpTyper, choices
from envctl.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE, EnvctlError
from envctl.progress import clean

app = PlainHelpTyper(
    name="envctl",
    help="Explicit ML deployment environments: versioned specs, mismatch checks, "
    "hermetic image builds and gated promotion recorded in git.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Format(str, enum.Enum):
    table = "table"
    json = "json"


FormatOpt = Annotated[
    Format, typer.Option("--format", "-f", metavar=choices(Format), help="Output format.")
]


def _version(value: bool) -> None:
    if value:
        console.print_text(f"envctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """envctl: environments as versioned specs, checked, built and promoted safely."""


def run(argv: list[str] | None = None) -> int:
    """Run the app; turn EnvctlError and Ctrl-C into one line and an exit code
    (and, under `--format json`, one JSON error document on stdout)."""
    args = sys.argv[1:] if argv is None else argv
    args = args or ["--help"]  # bare `envctl`: its help, not a usage error
    console.reset_json_documents()
    with _sigterm_as_interrupt() as terminated:
        code = _run(args, terminated)
    if terminated() and code == EXIT_INTERRUPTED:
        return EXIT_TERMINATED
    return code


def _run(args: list[str], terminated: Callable[[], bool] = lambda: False) -> int:
    try:
        result = app(args=args, prog_name="envctl", standalone_mode=False)
    except EnvctlError as exc:
        report(exc, as_json=wants_json(args))
        return exc.exit_code
    except KeyboardInterrupt:
        _after_interrupt(as_json=wants_json(args), terminated=terminated())
        return EXIT_INTERRUPTED
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        console.error_line("aborted")
        return EXIT_INTERRUPTED
    except Exception as exc:  # typer's ClickException family, without importing click
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            console.error_line(_usage_line(exc))
            return int(getattr(exc, "exit_code", EXIT_USAGE))
        raise
    if result == EXIT_INTERRUPTED:
        # Typer turns Ctrl-C inside a command into a silent Exit(130).
        _after_interrupt(as_json=wants_json(args), terminated=terminated())
    return result if isinstance(result, int) else 0


@contextmanager
def _sigterm_as_interrupt() -> Iterator[Callable[[], bool]]:
    """SIGTERM (what CI runners send on cancel) is handled like Ctrl-C: the same
    cleanup (gate containers removed, no tag), then exit 143 instead of 130."""
    received: list[int] = []

    def on_term(signum: int, _frame: object) -> None:
        if not received:
            received.append(signum)
            raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread: leave signals alone
        yield lambda: False
        return
    try:
        yield lambda: bool(received)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _usage_line(exc: Exception) -> str:
    """Click's four-line usage error as one line, pointing at the command's help."""
    message = str(exc.format_message()).replace("Value error, ", "")  # type: ignore[attr-defined]  # ClickException
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", "envctl")
    return f"{message} (see {path} --help)"


def wants_json(args: list[str]) -> bool:
    """Was `--format json` (or `-f json`, `--format=json`) asked for?"""
    for i, arg in enumerate(args):
        if arg in ("--format", "-f") and args[i + 1 : i + 2] == ["json"]:
            return True
        if arg in ("--format=json", "-fjson"):
            return True
    return False


def _after_interrupt(*, as_json: bool = False, terminated: bool = False) -> None:
    """Say so (`terminated` for SIGTERM, exit 143; `interrupted` for Ctrl-C, 130), and
    remove any container this process started whose own cleanup the interrupt cut
    short. Only if the engine adapter was in use: never import docker just for this."""
    if "envctl.engine" in sys.modules:
        from contextlib import suppress

        from envctl import engine

        with suppress(Exception):
            engine.remove_own_containers()
    word, code = (
        ("terminated", EXIT_TERMINATED) if terminated else ("interrupted", EXIT_INTERRUPTED)
    )
    console.error_line(word)
    if as_json and not console.json_documents_written():
        _print_error_document(word, word, code)


def report(exc: EnvctlError, *, as_json: bool = False) -> None:
    """Print the error: one line, then the remaining problems if there are several;
    under `--format json` also one error document on stdout (usage errors aside)."""
    console.error_line(clean(exc.message), label=exc.label)
    for line in exc.details[1:]:
        sys.stderr.write(f"  {line}\n")
    # A command that already printed its document (diff with blocking findings,
    # verify with drift, a refused promotion) has said everything on stdout.
    if as_json and exc.exit_code != EXIT_USAGE and not console.json_documents_written():
        _print_error_document(exc.kind, exc.message, exc.exit_code, exc)


def _print_error_document(
    kind: str, message: str, exit_code: int, exc: EnvctlError | None = None
) -> None:
    from envctl.output.errors import ErrorDetail, ErrorDocument

    where = exc.location if exc else None
    detail = ErrorDetail(
        kind=kind,
        message=message,
        details=list(exc.details) if exc else [],
        file=where.file if where else None,
        line=where.line if where else None,
        column=where.column if where else None,
        key_path=where.key_path if where else None,
    )
    console.print_json(ErrorDocument(exit_code=exit_code, error=detail).to_json())
