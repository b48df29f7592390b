"""check: the CI step that keeps specs valid and versions honest."""

from __future__ import annotations

from envctl.errors import CheckFailed, EnvctlError, InputError, SpecError
from envctl.output.specs import CheckDocument, CheckFinding, CheckKind
from envctl.spec.loading import Environment, Project, load_environment, require_project


def check(*, base: str | None = None) -> CheckDocument:
    """Every spec valid, policy-clean, its lock current, and its version bumped where
    it changed since `base` (default HEAD). A `base` given that names no commit, or
    given outside git, is an input error: a check that compared nothing must not pass."""
    project = require_project()
    if base is not None:
        _require_base(project, base)
    base_rev = base or _head(project)
    findings: list[CheckFinding] = []
    names = project.env_names()
    for name in names:
        findings.extend(_check_one(project, name, base_rev))
    return CheckDocument(base=base_rev, checked=len(names), ok=not findings, findings=findings)


def _head(project: Project) -> str | None:
    """HEAD, when there is one to compare with: outside git, or before the first
    commit, the version check has nothing to compare and the report says so
    (base null) rather than claiming a comparison it did not make."""
    from envctl import vcs

    if not vcs.is_repo(project.root):
        return None
    try:
        vcs.resolve_commit(project.root, "HEAD")
    except InputError:
        return None
    return "HEAD"


def failure(report: CheckDocument) -> CheckFailed | None:
    """The exit-1 error when a spec needs attention."""
    if report.ok:
        return None
    return CheckFailed(f"{len(report.findings)} spec(s) need attention; see above")


def _require_base(project: Project, base: str) -> None:
    from envctl import vcs

    if not vcs.is_repo(project.root):
        raise InputError(
            f"--base {base}: {project.root} is not in a git repository, so there is nothing "
            "to compare the specs with; run envctl check without --base, or inside the clone"
        )
    try:
        vcs.resolve_commit(project.root, base)
    except InputError:
        raise InputError(
            f"--base {base}: no such commit in this repository (a typo, or a ref not "
            f"fetched yet: git fetch origin {base.removeprefix('origin/')})"
        ) from None


def _finding(name: str, source: str, kind: CheckKind, message: str) -> CheckFinding:
    return CheckFinding(environment=name, file=source, kind=kind, message=message)


def _check_one(project: Project, name: str, base: str | None) -> list[CheckFinding]:
    source = project.relative(project.spec_path(name))
    try:
        current = load_environment(name, project)
        from envctl.spec.policy import check_policy

        check_policy(current, project)
    except SpecError as exc:
        return [_finding(name, source, "invalid", exc.details[0] if exc.details else exc.message)]
    findings = _version_findings(project, current, name, base, source)
    findings.extend(_lock_findings(project, current, source))
    return findings


def _version_findings(
    project: Project, current: Environment, name: str, base: str | None, source: str
) -> list[CheckFinding]:
    previous = _at_base(project, name, base) if base is not None else None
    if previous is None or previous.fingerprint == current.fingerprint:
        return []
    if current.spec.version > previous.spec.version:
        return []
    return [
        _finding(
            name,
            source,
            "version-not-bumped",
            f"{name} changed since {base} but version is still {current.spec.version} "
            f"(was {previous.spec.version}); set version: {previous.spec.version + 1}",
        )
    ]


def _at_base(project: Project, name: str, base: str) -> Environment | None:
    """The spec at `base`, or None when it did not exist or was invalid there."""
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
    return [_finding(env.name, source, "lock-stale", problem)]
