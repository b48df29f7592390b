"""`python -m tests.commands.fake_gates ARGS...`: the envctl CLI with the image
build and the in-image gates left out, so that real processes can race on the
ledger without Docker. Gates that need no image (metrics, approvals) run for
real. FAKE_GATE_SECONDS makes each promotion spend that long "in its gates",
after its first look at the registry and before the registry lock; it touches the
file FAKE_GATE_READY names (if any) when it gets there."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

from envctl import registry as reg
from envctl.progress import Progress
from envctl.promotion import flow
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
) -> Outcome:
    say("gates: faked (no image)")
    if ready := os.environ.get("FAKE_GATE_READY"):
        Path(ready).touch()
    time.sleep(float(os.environ.get("FAKE_GATE_SECONDS", "0")))
    results = run_gates(project, ws, registry, checked.target, env, image="fake", say=say)
    return replace(checked, gates=results, image="fake")


flow._run = _run  # the point of this module: no Docker

if __name__ == "__main__":
    from envctl.cli import main

    main()
