"""register, approve, status, history, rollback: the model registry in git tags."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from envctl import registry as reg
from envctl.errors import InputError, UnknownNameError, UsageError
from envctl.project import Project, find_project


@dataclass(frozen=True)
class Workspace:
    """Where the registry lives: the git top level, and the project if there is one."""

    root: Path
    project: Project | None

    @property
    def stages(self) -> list[str]:
        return list(self.project.config.stages) if self.project else []


def workspace() -> Workspace:
    from envctl import vcs

    project = find_project()
    start = project.root if project else Path.cwd()
    return Workspace(vcs.toplevel(start), project)


def read_registry(ws: Workspace) -> reg.Registry:
    from envctl import vcs

    return reg.parse_registry(vcs.read_tags(ws.root))


def pick_model(ws: Workspace, registry: reg.Registry, name: str | None) -> str:
    """The named model, or the only one the project (or registry) knows."""
    known = sorted(set(ws.project.config.models) if ws.project else set() | set(registry.models))
    if name is not None:
        if name in known or (reg.is_valid_model_name(name) and not known):
            return name
        near = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise UnknownNameError(
            f"unknown model {name!r}{hint} (known: {', '.join(known) or 'none'})"
        )
    if len(known) == 1:
        return known[0]
    raise UsageError(
        f"name the model: this project has {len(known)} ({', '.join(known) or 'none registered'})"
    )


def split_ref(operand: str) -> tuple[str, str | None]:
    """`churn@v1.2.0` -> ("churn", "v1.2.0"); `churn` -> ("churn", None)."""
    name, at, version = operand.partition("@")
    if at and not reg.is_valid_version(version):
        raise InputError(
            f"{version!r} is not a version like v1.2.3 (GTO's NAME@vMAJOR.MINOR.PATCH)"
        )
    return name, (version if at else None)


def require_version(registry: reg.Registry, model: str, version: str) -> reg.ModelVersion:
    found = registry.model(model)
    hit = found.version(version) if found else None
    if hit is not None and hit.active:
        return hit
    known = [v.version for v in found.versions if v.active] if found else []
    near = difflib.get_close_matches(version, known, n=2, cutoff=0.5)
    hint = f"; nearest: {', '.join(near)}" if near else ""
    raise UnknownNameError(
        f"model version {model}@{version} is not registered{hint} "
        f"(register it: envctl register {model} {version})"
    )


# ---- register ---------------------------------------------------------------------


@dataclass(frozen=True)
class Registered:
    tag: str
    commit: str
    pushed: bool

    def to_json(self) -> dict[str, Any]:
        return {"schema_version": 1, "tag": self.tag, "commit": self.commit, "pushed": self.pushed}


def register(
    name: str, version: str, *, ref: str = "HEAD", push: bool = False, remote: str = "origin"
) -> Registered:
    from envctl import vcs

    ws = workspace()
    if not reg.is_valid_model_name(name):
        raise InputError(f"{name!r} is not a model name (letters, digits, '-', '_', '/')")
    if not reg.is_valid_version(version):
        raise InputError(f"{version!r} is not a version like v1.2.3")
    if ws.project and ws.project.config.models and name not in ws.project.config.models:
        pick_model(ws, read_registry(ws), name)  # raises with a did-you-mean
    commit = vcs.resolve_commit(ws.root, ref)
    tag = reg.registration_tag(name, version)
    if vcs.tag_exists(ws.root, tag):
        raise InputError(f"{tag} already exists; versions are immutable: register a new one")
    # GTO's own default message, so GTO users see what they expect.
    vcs.create_annotated_tag(ws.root, tag, commit, f"Registering artifact {name} version {version}")
    if push:
        vcs.push_tag(ws.root, remote, tag)
    return Registered(tag, commit, push)


# ---- approve ----------------------------------------------------------------------


@dataclass(frozen=True)
class Approved:
    tag: str
    approver: str
    model: str
    version: str
    stage: str

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "tag": self.tag,
            "approver": self.approver,
            "model": self.model,
            "version": self.version,
            "stage": self.stage,
        }


def approve(operand: str, *, stage: str, push: bool = False, remote: str = "origin") -> Approved:
    from envctl import vcs

    ws = workspace()
    registry = read_registry(ws)
    name, version = split_ref(operand)
    if version is None:
        raise UsageError(f"approve a version: envctl approve {name}@vX.Y.Z --for {stage}")
    model = pick_model(ws, registry, name)
    found = require_version(registry, model, version)
    require_stage(ws, stage)
    user = vcs.head_user(ws.root)
    tag = reg.approval_tag(model, version, stage, user.email)
    data = {
        "kind": "approval",
        "who": {"name": user.name, "email": user.email},
        "when": datetime.now(timezone.utc).isoformat(),
        "model": model,
        "version": version,
        "stage": stage,
    }
    message = reg.format_record(f"{user.email} approves {model}@{version} for {stage}", data)
    if not vcs.tag_exists(ws.root, tag):
        vcs.create_annotated_tag(ws.root, tag, found.commit, message)
    if push:
        vcs.push_tag(ws.root, remote, tag)
    return Approved(tag, user.email, model, version, stage)


def require_stage(ws: Workspace, stage: str) -> None:
    if ws.stages and stage not in ws.stages:
        near = difflib.get_close_matches(stage, ws.stages, n=1, cutoff=0.5)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise UnknownNameError(f"unknown stage {stage!r}{hint} (stages: {' -> '.join(ws.stages)})")


# ---- status / history -------------------------------------------------------------


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
