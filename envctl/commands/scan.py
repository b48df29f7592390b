"""scan: what each stage runs now, against today's vulnerability database."""

from __future__ import annotations

from datetime import date

from envctl import registry as reg
from envctl.errors import CheckFailed, InputError
from envctl.output.supply import ScanDocument, StageScan
from envctl.registry.workspace import Workspace
from envctl.spec.types import VulnerabilitiesGate, VulnerabilityRating
from envctl.supply.vulndb import Database


def scan(
    name: str | None, *, stage: str | None = None, fail_on: VulnerabilityRating | None = None
) -> ScanDocument:
    """Each stage's image (of one model, or of all) re-checked. A stage's threshold,
    waivers and database are its vulnerabilities gate's (defaults where it has
    none); `fail_on` overrides the threshold. No database: exit 3, nothing checked."""
    from envctl.ledger.trust import read_verified
    from envctl.registry.workspace import pick_model, require_stage, workspace

    ws = workspace()
    ledger = read_verified(ws)
    if stage is not None:
        require_stage(ws, stage)
    stages = [stage] if stage else ws.stages
    models = [pick_model(ws, ledger.registry, name)] if name else sorted(ledger.trusted.models)
    databases: dict[str | None, Database] = {}
    first = _database(ws, VulnerabilitiesGate(), databases)  # none at all: exit 3 first
    scans = [
        found
        for model in models
        for where in stages
        if (found := _scan_one(ws, ledger.trusted, model, where, fail_on, databases)) is not None
    ]
    return ScanDocument(
        database=first.info(), stages=scans, clean=not any(s.blocking for s in scans)
    )


def failure(result: ScanDocument) -> CheckFailed | None:
    """The exit-1 error when something running is known-vulnerable above its threshold."""
    bad = [s for s in result.stages if s.blocking]
    if not bad:
        return None
    where = ", ".join(f"{s.model}@{s.version} in {s.stage} ({len(s.blocking)})" for s in bad)
    return CheckFailed(f"known vulnerabilities at or above the threshold run in: {where}")


def _scan_one(
    ws: Workspace,
    counted: reg.Registry,
    model: str,
    stage: str,
    fail_on: VulnerabilityRating | None,
    databases: dict[str | None, Database],
) -> StageScan | None:
    from envctl import probe
    from envctl.gates import vulnerabilities
    from envctl.promotion.handoff import fetch_running_image, running_image
    from envctl.supply import sbom

    try:
        event, ref = running_image(counted, model, stage)
    except InputError:
        return None  # nothing in the stage, or nothing recorded to look at
    gate = _stage_gate(stage)
    if fail_on is not None:
        gate = gate.replace(fail_on=fail_on)
    fetch_running_image(event, ref)
    made = sbom.from_reality(ref, probe.image(ref), None)
    result = vulnerabilities.evaluate(
        gate, made.components, _database(ws, gate, databases), today=date.today()
    )
    return StageScan(
        model=model,
        stage=stage,
        version=event.version or "",
        image=ref,
        fail_on=gate.fail_on,
        findings=list(result.evidence["findings"]),
        blocking=list(result.evidence["blocking"]),
    )


def _stage_gate(stage: str) -> VulnerabilitiesGate:
    """The stage's vulnerabilities gate as its spec says now, else the defaults."""
    from envctl.spec.loading import load_environment

    env = load_environment(stage)
    found = [g.vulnerabilities for g in env.spec.gates if g.vulnerabilities is not None]
    return found[0] if found else VulnerabilitiesGate()


def _database(
    ws: Workspace, gate: VulnerabilitiesGate, cache: dict[str | None, Database]
) -> Database:
    from envctl.gates.vulnerabilities import database_for

    if gate.database not in cache:
        cache[gate.database] = database_for(gate, ws.root)
    return cache[gate.database]
