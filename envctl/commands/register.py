"""register: a model version as an annotated tag NAME@vX.Y.Z (GTO's grammar)."""

from __future__ import annotations

from envctl import registry as reg
from envctl.errors import InputError
from envctl.output.promotion import RegisterDocument
from envctl.promotion.workspace import pick_model, read_registry, workspace


def register(
    name: str, version: str, *, ref: str = "HEAD", push: bool = False, remote: str = "origin"
) -> RegisterDocument:
    from envctl import vcs

    ws = workspace()
    if not reg.is_valid_model_name(name):
        raise InputError(f"{name!r} is not a model name (letters, digits, '-', '_', '/')")
    reg.require_version(version)
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
    return RegisterDocument(tag=tag, commit=commit, pushed=push)
