"""register: a model version as an annotated tag NAME@vX.Y.Z (GTO's grammar).

A version is what its commit holds, so registering refuses a model folder with
uncommitted or untracked changes (unless --allow-dirty) and a commit that is
already another version of the model (unless --force --reason): GTO finds a
stage event's version by its commit (envctl reads it from the event's record).
Both overrides are recorded in the tag message.
"""

from __future__ import annotations

from typing import Any

from envctl import registry as reg
from envctl.errors import InputError, UsageError
from envctl.ledger.trust import read_verified
from envctl.output.promotion import RegisterDocument
from envctl.progress import Progress, silent
from envctl.registry.workspace import Workspace, pick_model, workspace


def register(
    name: str,
    version: str,
    *,
    ref: str = "HEAD",
    push: bool = False,
    remote: str = "origin",
    allow_dirty: bool = False,
    force: bool = False,
    reason: str | None = None,
    warn: Progress = silent,
) -> RegisterDocument:
    from envctl import vcs

    if force and not (reason and reason.strip()):
        raise UsageError("--force needs --reason TEXT: registering a commit twice is recorded")
    ws = workspace()
    if not reg.is_valid_model_name(name):
        raise InputError(f"{name!r} is not a model name (letters, digits, '-', '_', '/')")
    reg.require_version(version)
    registry = read_verified(ws).trusted
    if ws.project and ws.project.config.models and name not in ws.project.config.models:
        pick_model(ws, registry, name)  # raises with a did-you-mean
    commit = vcs.resolve_commit(ws.root, ref)
    tag = reg.registration_tag(name, version)
    if vcs.tag_exists(ws.root, tag):
        raise InputError(f"{tag} already exists; versions are immutable: register a new one")
    record: dict[str, Any] = {}
    changes = _dirty(ws, name, commit, allow_dirty=allow_dirty)
    if changes:
        record["allow_dirty"] = {"changes": changes[:50], "count": len(changes)}
    same = _same_commit(registry, name, commit, force=force)
    if same:
        record["force"] = {"reason": reason, "also_registered_as": same}
    _warn_if_lower(registry, name, version, warn)
    # GTO's own default message, so GTO users see what they expect.
    summary = f"Registering artifact {name} version {version}"
    message = reg.format_record(summary, {"kind": "registration", **record}) if record else summary
    vcs.create_annotated_tag(ws.root, tag, commit, message)
    if push:
        vcs.push_tag(ws.root, remote, tag)
    return RegisterDocument(tag=tag, commit=commit, pushed=push)


def _dirty(ws: Workspace, name: str, commit: str, *, allow_dirty: bool) -> list[str]:
    """Uncommitted or untracked changes in the model's folder when registering the
    checked-out commit (a commit other than HEAD is what it is)."""
    from envctl import vcs
    from envctl.build.plan import model_relpath

    if commit != vcs.head_commit(ws.root):
        return []
    project = ws.project
    folder = (
        model_relpath(project, name, ws.root)
        if project is not None and name in project.config.models
        else ""
    )
    changes = vcs.uncommitted(ws.root, folder)
    if changes and not allow_dirty:
        where = f"the model folder {folder}/" if folder else "the repository"
        raise InputError(
            f"{where} has {len(changes)} uncommitted or untracked change(s) "
            f"(first: {changes[0].strip()}); the version would not be what the commit holds: "
            "commit them first, or --allow-dirty to register the commit anyway"
        )
    return changes


def _same_commit(registry: reg.Registry, name: str, commit: str, *, force: bool) -> list[str]:
    model = registry.model(name)
    same = [v.version for v in model.versions if v.commit == commit] if model else []
    if same and not force:
        raise InputError(
            f"commit {commit[:12]} is already registered as {name}@{same[-1]}; a commit holds "
            "one version (stage events find their version by commit): commit the new version, "
            "or --force --reason TEXT to register it anyway"
        )
    return same


def _warn_if_lower(registry: reg.Registry, name: str, version: str, warn: Progress) -> None:
    model = registry.model(name)
    latest = model.latest if model else None
    if latest is not None and reg.semver_key(version) < reg.semver_key(latest.version):
        warn(f"{name}@{version} is lower than {latest.version}, the latest registered version")
