"""status and history: reading the registry in one pass over the tags, every event
checked as `audit` checks it (in signed stages only the events that count show)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from envctl import registry as reg
from envctl.ledger.trust import VerifiedLedger, read_verified
from envctl.output.registry import (
    HistoryDocument,
    ModelStatus,
    RecordedMetric,
    RegisteredVersion,
    StageEvent,
    StatusDocument,
)
from envctl.promotion.handoff import recorded_image
from envctl.registry.workspace import pick_model, workspace
from envctl.vocabulary import CLAIMED, MEASURED


def _when(date: datetime | None) -> str | None:
    return date.isoformat() if date else None


def _text(value: Any) -> str | None:
    """A record field from a tag message anyone could have written: text or nothing."""
    return value if isinstance(value, str) else None


def stage_event(event: reg.StageEvent, verdict: reg.Verdict | None = None) -> StageEvent:
    verdict = verdict or reg.Verdict("recorded" if event.record else "none", True)
    record = event.record or {}
    bypass = record.get("bypass") or None
    cause = record.get("cause")
    gpu = record.get("gpu_bypass")
    image = recorded_image(event) or {}
    return StageEvent(
        n=event.counter,
        model=event.model,
        stage=event.stage,
        action=event.action.value,
        version=event.version,
        commit=event.commit,
        by=event.author_email or event.author,
        when=_when(event.date),
        tag=event.tag,
        bypass_reason=_text(bypass.get("reason")) if isinstance(bypass, dict) else None,
        gpu_bypass_reason=_text(gpu.get("reason")) if isinstance(gpu, dict) else None,
        rollback_of=_text(record.get("rollback_of")),
        rollback_reason=_text(cause.get("reason")) if isinstance(cause, dict) else None,
        summary=event.summary,
        image=_text(image.get("ref")) or _text(record.get("image")),
        image_id=_text(image.get("id")),
        digest=_text(image.get("digest")),
        evidence=verdict.evidence,
        counts=verdict.counts,
        signer=verdict.signer,
        problems=[f"{p.kind}: {p.message}" for p in verdict.problems],
        metrics=recorded_metrics(record),
    )


# A record's metric values, by gate kind: what its evidence names them by.
_METRIC_GATES = {"metrics": (CLAIMED, "file"), "evaluate": (MEASURED, "data")}


def recorded_metrics(record: dict[str, Any]) -> list[RecordedMetric]:
    """The metric values the record's metrics and evaluate gates decided on. A metrics
    gate's values are claimed whatever its evidence says: records written before the
    evidence named a basis, or by hand, say nothing that could make them measured."""
    found: list[RecordedMetric] = []
    gates = record.get("gates")
    for gate in gates if isinstance(gates, list) else ():
        kind = gate.get("kind") if isinstance(gate, dict) else None
        evidence = gate.get("evidence") if isinstance(gate, dict) else None
        if kind not in _METRIC_GATES or not isinstance(evidence, dict):
            continue
        basis, key = _METRIC_GATES[kind]
        rows = evidence.get("metrics")
        for row in rows if isinstance(rows, list) else ():
            value = row.get("value") if isinstance(row, dict) else None
            name = row.get("metric") if isinstance(row, dict) else None
            if isinstance(name, str) and isinstance(value, (int, float)) and _is_number(value):
                found.append(RecordedMetric(metric=name, value=float(value), basis=basis,
                                            source=_text(evidence.get(key))))  # fmt: skip
    return found


def _is_number(value: Any) -> bool:
    import math

    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def status(name: str | None = None) -> StatusDocument:
    ws = workspace()
    ledger = read_verified(ws)
    registry, audit = ledger.registry, ledger.audit
    names = [pick_model(ws, registry, name)] if name else sorted(registry.models)
    stages = ws.stages or sorted({s for m in registry.models.values() for s in m.stages})
    models = []
    for model_name in names:
        model = registry.model(model_name)
        current = dict(audit.stages(model)) if model else {}
        models.append(
            ModelStatus(
                model=model_name,
                latest=model.latest.version if model and model.latest else None,
                stages={
                    s: stage_event(current[s], audit.verdict(current[s].tag))
                    if s in current
                    else None
                    for s in stages
                },
            )
        )
    return StatusDocument(stages=stages, models=models, warnings=_warnings(ledger))


def _warnings(ledger: VerifiedLedger) -> list[str]:
    return [*ledger.warnings, *(str(w) for w in ledger.registry.warnings)]


def history(name: str | None) -> HistoryDocument:
    ws = workspace()
    ledger = read_verified(ws)
    registry = ledger.registry
    model_name = pick_model(ws, registry, name)
    model = registry.model(model_name)
    events = sorted(model.events, key=lambda e: e.counter or 0, reverse=True) if model else []
    versions = (
        sorted(model.versions, key=lambda v: reg.semver_key(v.version), reverse=True)
        if model
        else []
    )
    return HistoryDocument(
        model=model_name,
        events=[stage_event(e, ledger.audit.verdict(e.tag)) for e in events],
        versions=[
            RegisteredVersion(
                version=v.version,
                commit=v.commit,
                by=v.author_email or v.author,
                when=_when(v.date),
                active=v.active,
            )
            for v in versions
        ],
        warnings=_warnings(ledger),
    )
