"""check: the CI step that keeps specs valid and versions honest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from envctl.errors import EnvctlError, SpecError
from envctl.spec.loading import Environment, Project, load_environment, require_project


@dataclass(frozen=True)
class CheckFinding:
    environment: str
    source: str
    kind: str  # invalid | version-not-bumped | lock-stale
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "file": self.source,
            "kind": self.kind,
            "message": self.message,
        }


@dataclass(frozen=True)
class CheckReport:
    base: str
    checked: int
    findings: list[CheckFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "base": self.base,
            "checked": self.checked,
            "ok": self.ok,
            "findings": [f.to_json() for f in self.findings],
        }


def check(*, base: str | None = None) -> CheckReport:
    project = require_project()
    base_rev = base or "HEAD"
    findings: list[CheckFinding] = []
    names = project.env_names()
    for name in names:
        findings.extend(_check_one(project, name, base_rev))
    return CheckReport(base_rev, len(names), findings)


def _check_one(project: Project, name: str, base: str) -> list[CheckFinding]:
    source = project.relative(project.spec_path(name))
    try:
        current = load_environment(name, project)
        from envctl.spec.policy import check_policy

        check_policy(current, project)
    except SpecError as exc:
        return [
            CheckFinding(name, source, "invalid", exc.details[0] if exc.details else exc.message)
        ]
    findings = _version_findings(project, current, name, base, source)
    findings.extend(_lock_findings(project, current, source))
    return findings


def _version_findings(
    project: Project, current: Environment, name: str, base: str, source: str
) -> list[CheckFinding]:
    previous = _at_base(project, name, base)
    if previous is None or previous.fingerprint == current.fingerprint:
        return []
    if current.spec.version > previous.spec.version:
        return []
    return [
        CheckFinding(
            name,
            source,
            "version-not-bumped",
            f"{name} changed since {base} but version is still {current.spec.version} "
            f"(was {previous.spec.version}); set version: {previous.spec.version + 1}",
        )
    ]


def _at_base(project: Project, name: str, base: str) -> Environment | None:
    """The spec at `base`, or None when it did not exist or was invalid there."""
    from envctl import vcs

    if not vcs.is_repo(project.root):
        return None
    try:
        return load_environment(f"{name}@{base}", project)
    except EnvctlError:
        return None


def _lock_findings(project: Project, env: Environment, source: str) -> list[CheckFinding]:
    """Locks are checked when the lock capability is installed (envctl.lockfile)."""
    try:
        from envctl.build import lockfile
    except ImportError:
        return []
    problem = lockfile.staleness(project, env)
    if problem is None:
        return []
    return [CheckFinding(env.name, source, "lock-stale", problem)]
