"""Which stage specs were on the protected branch. A signed stage's event names the
commit its stage spec was read at and that spec's fingerprint; it counts only
when that commit is on the protected branch and the stage's spec there has that
fingerprint. Both facts never change for a commit once true (the protected branch
only grows), so they are kept in the git directory per trust ref and envctl
version; a commit not (yet) on the branch is asked about again every time."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from envctl import __version__
from envctl import registry as reg
from envctl.registry.workspace import Workspace

_CACHE = "envctl-protected-specs.json"


def protected_specs(
    ws: Workspace, registry: reg.Registry, policy: reg.TrustPolicy, ref: str
) -> dict[tuple[str, str], str]:
    """(stage, commit) -> the fingerprint of the stage's spec at that commit, for
    each commit a signed stage's event names that is on the protected branch `ref`
    (a full refname): a spec that never was there does not count."""
    from envctl import vcs

    wanted = {
        (event.stage, commit)
        for model in registry.models.values()
        for event in model.events
        if policy.is_signed(event.stage) and (commit := reg.spec_commit(event.record))
    }
    path = vcs.common_dir(ws.root) / _CACHE
    key = hashlib.sha256(f"{__version__}\0{ref}".encode()).hexdigest()
    known = _load(path, key)
    found = {}
    for stage, commit in sorted(wanted):
        fingerprint = known.get(f"{stage} {commit}") or _fingerprint(ws, stage, commit, ref)
        if fingerprint is not None:
            found[(stage, commit)] = fingerprint
    fresh = {f"{stage} {commit}": fp for (stage, commit), fp in found.items()}
    if fresh.keys() - known.keys():
        write_json(path, {"key": key, "specs": {**known, **fresh}})
    return found


def _fingerprint(ws: Workspace, stage: str, commit: str, ref: str) -> str | None:
    from envctl import vcs
    from envctl.errors import EnvctlError
    from envctl.spec.loading import load_environment

    if not vcs.is_ancestor(ws.root, commit, ref):
        return None
    try:
        return load_environment(f"{stage}@{commit}", ws.project).fingerprint
    except EnvctlError:
        return None  # no valid spec of the stage there: nothing to match


def _load(path: Path, key: str) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        specs = data["specs"] if data.get("key") == key else {}
        return {k: v for k, v in specs.items() if isinstance(k, str) and isinstance(v, str)}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}  # absent or damaged: ask git again


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace `path` atomically; a clone that cannot be written to still reads, it
    only asks git again next time."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
