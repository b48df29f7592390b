"""validate, show, list, schema: reading specs."""

from __future__ import annotations

from typing import Any

from envctl.errors import SpecError
from envctl.output.plain_specs import (
    ListDocument,
    Listed,
    ShowDocument,
    Validated,
    ValidateDocument,
)
from envctl.spec.loading import (
    Environment,
    Project,
    find_project,
    load_environment,
    require_project,
)


def validate(operands: list[str]) -> ValidateDocument:
    """Validate each operand (all project environments when none). Never stops at
    the first invalid spec: every file is reported."""
    project = find_project()
    if not operands:
        project = project or require_project()
        operands = project.env_names()
    return ValidateDocument(results=[_validated(operand, project) for operand in operands])


def _validated(operand: str, project: Project | None) -> Validated:
    try:
        env = _load_checked(operand, project)
    except SpecError as exc:
        source = _own_file(operand, project) or _source_of(exc)
        problems = list(exc.details) or [exc.message]
        return Validated(
            environment=operand,
            file=source,
            valid=False,
            problems=problems,
            location=exc.location,
        )
    return Validated(
        environment=operand,
        file=env.source,
        valid=True,
        version=env.spec.version,
        fingerprint=env.fingerprint,
    )


def _load_checked(operand: str, project: Project | None) -> Environment:
    env = load_environment(operand, project)
    if project is not None:
        from envctl.spec.policy import check_policy

        check_policy(env, project)
    return env


def _own_file(operand: str, project: Project | None) -> str | None:
    """The spec file an operand names (not the parent a problem came from)."""
    from envctl.spec.loading import looks_like_path, split_operand

    base = split_operand(operand)[0]
    if looks_like_path(base):
        return base
    return project.relative(project.spec_path(base)) if project else None


def _source_of(exc: SpecError) -> str:
    first = exc.details[0] if exc.details else exc.message
    return first.split(":", 1)[0]


def show(operand: str) -> ShowDocument:
    env = load_environment(operand, find_project())
    return ShowDocument(
        environment=env.label,
        file=env.source,
        version=env.spec.version,
        fingerprint=env.fingerprint,
        spec=env.spec.canonical(),
    )


def list_environments() -> ListDocument:
    project = require_project()
    rows = []
    stages = project.settings.stages
    for name in project.env_names():
        stage = stages.index(name) + 1 if name in stages else None
        path = project.relative(project.spec_path(name))
        try:
            env = load_environment(name, project)
        except SpecError as exc:
            rows.append(
                Listed(
                    name=name,
                    stage=stage,
                    version=None,
                    fingerprint=None,
                    file=path,
                    error=exc.message,
                )
            )
            continue
        rows.append(
            Listed(
                name=name,
                stage=stage,
                version=env.spec.version,
                fingerprint=env.fingerprint,
                file=path,
            )
        )
    return ListDocument(environments=rows)


def schema() -> dict[str, Any]:
    from envctl.spec.model import json_schema

    return json_schema()


def config_schema() -> dict[str, Any]:
    from envctl.spec.project_file import ProjectConfig

    return ProjectConfig.model_json_schema()
