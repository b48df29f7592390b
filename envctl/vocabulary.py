"""The words every layer shares, each defined once: gate kinds and statuses,
finding severities, and the registry lock's default timeout.

It imports nothing from envctl and sits at the bottom of the layers, so spec
models, domain code, output documents and the CLI (which must not import the
domain just to show a default) all read the same values.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

GateKind = Literal[
    "tests", "metrics", "http", "approvals", "command", "vulnerabilities", "load", "evaluate"
]
GATE_KINDS: Final[tuple[GateKind, ...]] = get_args(GateKind)
GateStatus = Literal["passed", "failed", "waiting", "skipped"]  # waiting: approvals only

# How a recorded metric value was obtained: read from a file the version's author
# committed (the metrics gate: claimed), or computed by envctl from the model's own
# answers on the stage's evaluation set (the evaluate gate: measured).
MetricBasis = Literal["claimed", "measured"]
CLAIMED: Final[MetricBasis] = "claimed"
MEASURED: Final[MetricBasis] = "measured"

Severity = Literal["error", "warning", "info"]
SEVERITIES: Final[tuple[Severity, ...]] = get_args(Severity)  # gravest first
FailOn = Literal[Severity, "never"]  # `diff --fail-on`: a severity, or never fail

# How long promote, rollback, sync and check-live wait for another envctl process
# holding the registry lock before they give up (exit 4, naming the holder).
LOCK_TIMEOUT_SECONDS: Final = 600.0
