"""The error hierarchy. Every expected failure is an EnvctlError with an exit code.

Exit codes (the README holds the same table):

    0   success; no finding at or above --fail-on
    1   a check said no: blocking diff findings, a gate failed, verify found drift
    2   usage error (bad flags or arguments)
    3   invalid input: spec/config/template error, unknown env, model or version
    4   an external system failed: Docker engine, build, git, push rejected
    5   promotion waits: for approvals, or until the stage's policy allows it
    130 interrupted (Ctrl-C)
    143 terminated (SIGTERM, as CI runners send on cancel)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_INVALID_INPUT = 3
EXIT_EXTERNAL = 4
EXIT_AWAITING_APPROVAL = 5
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


@dataclass(frozen=True)
class Location:
    """Where an input problem is: a file, and where known its line, column and key path."""

    file: str
    line: int | None = None
    column: int | None = None
    key_path: str | None = None


class Report(Protocol):
    """What a command had done when it stopped: its `--format json` document."""

    def to_json(self) -> dict[str, Any]: ...


class EnvctlError(Exception):
    """Root of every error envctl expects. `str(err)` is the one line shown.

    `kind` names the family in JSON error documents (stable: scripts match on it).
    `report`, when set, is the command's own document as far as it got (a refused
    promotion's gates and evidence): under `--format json` the CLI prints it on
    stdout, and the boundary then adds no error document.
    """

    exit_code = EXIT_INVALID_INPUT
    label = "error"  # the word the one line starts with
    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        details: Sequence[str] = (),
        location: Location | None = None,
        report: Report | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = tuple(details)
        self.location = location
        self.report = report


class UsageError(EnvctlError):
    kind = "usage"
    exit_code = EXIT_USAGE


class ConfirmationNeeded(UsageError):
    """A command that changes something grave was not confirmed (`--yes`); `question`
    is what an interactive CLI asks before running it again, confirmed."""

    kind = "confirmation_needed"

    def __init__(self, message: str, *, question: str) -> None:
        super().__init__(message)
        self.question = question


class InputError(EnvctlError):
    """Invalid input: a spec, config, template, or an unknown name."""

    kind = "invalid_input"

    exit_code = EXIT_INVALID_INPUT


class SpecError(InputError):
    """One or more problems in a spec file; `details` holds one line per problem."""

    kind = "spec"


class ConfigError(InputError):
    kind = "config"


class UnknownNameError(InputError):
    kind = "unknown_name"


class CheckFailed(EnvctlError):
    """A check said no: diff findings, a gate, verify drift, `check`."""

    kind = "check_failed"

    exit_code = EXIT_CHECK_FAILED


class ExternalError(EnvctlError):
    kind = "external"
    exit_code = EXIT_EXTERNAL


class EngineError(ExternalError):
    """The Docker Engine could not be reached or a build/run failed."""

    kind = "engine"


class BaseImageNotFoundError(EngineError):
    """A base image is neither in the engine nor pullable from where the engine is."""

    kind = "base_image_not_found"


class GitError(ExternalError):
    kind = "git"


class ToolError(ExternalError):
    """An external program (git, uv, pip) could not be started or did not finish in time."""


class LockTimeout(ExternalError):
    """The registry lock stayed held by another process longer than allowed."""

    kind = "lock_timeout"


class AwaitingApproval(EnvctlError):
    """Not a failure: everything passed but the approvals gate (exit 5)."""

    kind = "awaiting_approval"

    exit_code = EXIT_AWAITING_APPROVAL
    label = "waiting"


class NotYet(EnvctlError):
    """Not a failure: the stage's policy (soak, windows, freeze, auto) does not allow
    the promotion yet (exit 5); `not_before` is when it will, if it can say."""

    kind = "not_yet"

    exit_code = EXIT_AWAITING_APPROVAL
    label = "waiting"


class AwaitingDeployment(EnvctlError):
    """Not a failure: the ledger has moved but the service still runs another
    version (exit 5): `check-live` judges nothing until it is redeployed."""

    kind = "awaiting_deployment"

    exit_code = EXIT_AWAITING_APPROVAL
    label = "waiting"


class TagExists(GitError):
    """A tag of that name already exists: someone else wrote it first (retry with N+1)."""

    kind = "tag_exists"

    def __init__(self, tag: str) -> None:
        super().__init__(f"git tag {tag} already exists; fetch tags and retry with the next number")
        self.tag = tag


class PushRejected(GitError):
    """The remote already holds a tag of that name: someone else promoted first."""

    kind = "push_rejected"

    def __init__(self, tag: str, remote: str) -> None:
        super().__init__(
            f"{remote} already has tag {tag}; fetch tags and retry with the next number"
        )
        self.tag = tag
        self.remote = remote


class GateFailed(CheckFailed):
    """A promotion gate (or the order or compatibility check) said no."""

    kind = "gate_failed"


class LiveCheckFailed(CheckFailed):
    """A check of the running service (`envctl check-live`) failed; the stage may
    have been rolled back (the report says)."""

    kind = "live_check_failed"
