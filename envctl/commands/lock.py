"""lock: resolve a spec's packages for its image into `<env>.lock`."""

from __future__ import annotations

from envctl.build import lockfile
from envctl.build.lockfile import LockResult
from envctl.spec.loading import load_environment, require_project


def lock(operand: str, *, upgrade: list[str] | bool = False) -> LockResult:
    """Resolve and write the lock of `operand`; `upgrade` re-resolves all (True)
    or the named packages, keeping every other locked version."""
    project = require_project()
    env = load_environment(operand, project)
    return lockfile.lock(project, env, upgrade=upgrade)
