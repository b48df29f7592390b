"""Where the model registry lives and how names in it are resolved.

Shared by register, approve, promote, rollback, status and history: the git
top level, the project (when there is an envctl.yaml), and lookups that fail
with a did-you-mean. The ledger itself is read through one reader only,
`envctl.ledger.trust.read_verified`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from envctl import registry as reg
from envctl.errors import InputError, UnknownNameError, UsageError
from envctl.spec.loading import Project, find_project


@dataclass(frozen=True)
class Workspace:
    """Where the registry lives: the git top level, and the project if there is one."""

    root: Path
    project: Project | None

    @property
    def stages(self) -> list[str]:
        return list(self.project.settings.stages) if self.project else []


def workspace() -> Workspace:
    from envctl import vcs

    project = find_project()
    start = project.root if project else Path.cwd()
    return Workspace(vcs.toplevel(start), project)


def pick_model(ws: Workspace, registry: reg.Registry, name: str | None) -> str:
    """The named model, or the only one the project (or registry) knows."""
    declared = set(ws.project.settings.models) if ws.project else set()
    known = sorted(declared | set(registry.models))
    if name is not None:
        if name in known:
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
    return reg.split_version_ref(operand)


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


def require_stage(ws: Workspace, stage: str) -> None:
    if ws.stages and stage not in ws.stages:
        near = difflib.get_close_matches(stage, ws.stages, n=1, cutoff=0.5)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise UnknownNameError(f"unknown stage {stage!r}{hint} (stages: {' -> '.join(ws.stages)})")


def require_project(ws: Workspace) -> Project:
    if ws.project is None:
        raise InputError("this needs envctl.yaml (stages, models); run `envctl init`")
    return ws.project
