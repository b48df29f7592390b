"""status and history: reading the registry in one pass over the tags."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from envctl import registry as reg
from envctl.promotion.workspace import pick_model, read_registry, workspace


def _when(date: datetime | None) -> str | None:
    return date.isoformat() if date else None


def event_json(event: reg.StageEvent) -> dict[str, Any]:
    record = event.record or {}
    bypass = record.get("bypass") or None
    return {
        "n": event.counter,
        "model": event.model,
        "stage": event.stage,
        "action": event.action.value,
        "version": event.version,
        "commit": event.commit,
        "by": event.author_email or event.author,
        "when": _when(event.date),
        "tag": event.tag,
        "bypass_reason": bypass.get("reason") if isinstance(bypass, dict) else None,
        "rollback_of": record.get("rollback_of"),
        "summary": event.summary,
    }


@dataclass(frozen=True)
class Status:
    stages: list[str]
    models: dict[str, dict[str, dict[str, Any] | None]]
    latest: dict[str, str | None]
    warnings: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "stages": self.stages,
            "models": [
                {"model": m, "latest": self.latest[m], "stages": s} for m, s in self.models.items()
            ],
            "warnings": self.warnings,
        }


def status(name: str | None = None) -> Status:
    ws = workspace()
    registry = read_registry(ws)
    names = [pick_model(ws, registry, name)] if name else sorted(registry.models)
    stages = ws.stages or sorted({s for m in registry.models.values() for s in m.stages})
    models: dict[str, dict[str, dict[str, Any] | None]] = {}
    latest: dict[str, str | None] = {}
    for model_name in names:
        model = registry.model(model_name)
        current = dict(model.stages) if model else {}
        models[model_name] = {s: event_json(current[s]) if s in current else None for s in stages}
        latest[model_name] = model.latest.version if model and model.latest else None
    return Status(stages, models, latest, [str(w) for w in registry.warnings])


def history(name: str | None) -> dict[str, Any]:
    ws = workspace()
    registry = read_registry(ws)
    model_name = pick_model(ws, registry, name)
    model = registry.model(model_name)
    events = sorted(model.events, key=lambda e: e.counter or 0, reverse=True) if model else []
    versions = (
        sorted(model.versions, key=lambda v: reg.semver_key(v.version), reverse=True)
        if model
        else []
    )
    return {
        "schema_version": 1,
        "model": model_name,
        "events": [event_json(e) for e in events],
        "versions": [
            {
                "version": v.version,
                "commit": v.commit,
                "by": v.author_email or v.author,
                "when": _when(v.date),
                "active": v.active,
            }
            for v in versions
        ],
        "warnings": [str(w) for w in registry.warnings],
    }
