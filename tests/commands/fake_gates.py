"""`python -m tests.commands.fake_gates ARGS...`: the envctl CLI with the image
build and the in-image gates left out, so that real processes can race on the
ledger without Docker. Gates that need no image (metrics, approvals) run for
real. FAKE_GATE_SECONDS makes each promotion spend that long "in its gates",
after its first look at the registry and before the registry lock. For races
that must happen in one order, FAKE_GATE_ARRIVED names a file the promotion
creates when it reaches its gates, and FAKE_GATE_AWAIT one it waits for (60 s at
most) before it leaves them. In-process tests replace `flow._run` with
`run_without_image` themselves (monkeypatch): importing this module patches
nothing."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

from envctl import registry as reg
from envctl.gates.events import GateProgress, unwatched
from envctl.gates.suite import run_gates
from envctl.progress import Progress
from envctl.promotion import flow
from envctl.promotion.outcome import Outcome
from envctl.registry.workspace import Workspace
from envctl.spec.loading import Environment, Project


def run_without_image(
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
    accept_no_gpu: str | None = None,
) -> Outcome:
    say("gates: faked (no image)")
    if arrived := os.environ.get("FAKE_GATE_ARRIVED"):
        Path(arrived).touch()
    time.sleep(float(os.environ.get("FAKE_GATE_SECONDS", "0")))
    if awaited := os.environ.get("FAKE_GATE_AWAIT"):
        _wait_for(Path(awaited))
    results = run_gates(project, ws, registry, checked.target, env, image="fake", on_gate=on_gate)
    return replace(checked, gates=results, image="fake")


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"fake gates: {path} never appeared")
        time.sleep(0.05)


if __name__ == "__main__":
    from envctl.cli import main

    flow._run = run_without_image  # the point of this module: no Docker
    main()
