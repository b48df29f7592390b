"""validate, show, list, schema: reading specs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from envctl.errors import SpecError
from envctl.spec.loading import (
    Environment,
    Project,
    find_project,
    load_environment,
    require_project,
)


@dataclass(frozen=True)
class Validated:
    operand: str
    source: str
    ok: bool
    version: int | None = None
    fingerprint: str | None = None
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.operand,
            "file": self.source,
            "valid": self.ok,
            "version": self.version,
            "fingerprint": self.fingerprint,
            "problems": list(self.problems),
        }


def validate(operands: list[str]) -> list[Validated]:
    """Validate each operand (all project environments when none). Never stops at
    the first invalid spec: every file is reported."""
    project = find_project()
    if not operands:
        project = project or require_project()
        operands = project.env_names()
    results = []
    for operand in operands:
        try:
            env = _load_checked(operand, project)
        except SpecError as exc:
            source = _own_file(operand, project) or _source_of(exc)
            results.append(
                Validated(operand, source, False, problems=exc.details or (exc.message,))
            )
            continue
        results.append(Validated(operand, env.source, True, env.spec.version, env.fingerprint))
    return results


def _load_checked(operand: str, project: Project | None) -> Environment:
    env = load_environment(operand, project)
    if project is not None:
        from envctl.spec.policy import check_policy

        check_policy(env, project)
    return env


def _own_file(operand: str, project: Project | None) -> str | None:
    """The spec file an operand names (not the parent a problem came from)."""
    from envctl.spec.loading import looks_like_path

    base = operand.partition("@")[0]
    if looks_like_path(base):
        return base
    return project.relative(project.spec_path(base)) if project else None


def _source_of(exc: SpecError) -> str:
    first = exc.details[0] if exc.details else exc.message
    return first.split(":", 1)[0]


def show(operand: str) -> Environment:
    return load_environment(operand, find_project())


@dataclass(frozen=True)
class Listed:
    name: str
    stage: int | None
    version: int | None
    fingerprint: str | None
    source: str
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "stage": self.stage,
            "version": self.version,
            "fingerprint": self.fingerprint,
            "file": self.source,
            "error": self.error,
        }


def list_environments() -> list[Listed]:
    project = require_project()
    rows = []
    for name in project.env_names():
        stage = project.config.stages.index(name) + 1 if name in project.config.stages else None
        path = project.relative(project.spec_path(name))
        try:
            env = load_environment(name, project)
        except SpecError as exc:
            rows.append(Listed(name, stage, None, None, path, exc.message))
            continue
        rows.append(Listed(name, stage, env.spec.version, env.fingerprint, path))
    return rows


def schema() -> dict[str, Any]:
    from envctl.spec.model import json_schema

    return json_schema()


def config_schema() -> dict[str, Any]:
    from envctl.spec.project_file import ProjectConfig

    return ProjectConfig.model_json_schema()
