"""`python -m tests.commands.fake_gates ARGS...`: the envctl CLI with the image
build and the in-image gates left out, so that real processes can race on the
ledger without Docker. Gates that need no image (metrics, approvals) run for
real. FAKE_GATE_SECONDS makes each promotion spend that long "in its gates",
after its first look at the registry and before the registry lock."""

from __future__ import annotations

import os
import time
from dataclasses import replace

from envctl import registry as reg
from envctl.progress import Progress
from envctl.promotion import flow
from envctl.promotion.events import GateProgress, unwatched
from envctl.promotion.outcome import Outcome
from envctl.promotion.suite import run_gates
from envctl.promotion.workspace import Workspace
from envctl.spec.loading import Environment, Project


def _run(
    project: Project,
    ws: Workspace,
    registry: reg.Registry,
    env: Environment,
    checked: Outcome,
    say: Progress,
    progress: Progress | None,
    *,
    push: bool,
    on_gate: GateProgress = unwatched,
) -> Outcome:
    say("gates: faked (no image)")
    time.sleep(float(os.environ.get("FAKE_GATE_SECONDS", "0")))
    results = run_gates(project, ws, registry, checked.target, env, image="fake", on_gate=on_gate)
    return replace(checked, gates=results, image="fake")


flow._run = _run  # the point of this module: no Docker

if __name__ == "__main__":
    from envctl.cli import main

    main()
