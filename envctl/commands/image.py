"""image: the pullable `REPO@sha256:...` a stage holds, for deploy scripts.

Reads the promotion record only (git, no Docker): what the stage runs is what
its record names, wherever the image is pulled.
"""

from __future__ import annotations

from envctl.errors import InputError
from envctl.output.promotion import ImageDocument
from envctl.promotion.handoff import recorded_image, text_or_none
from envctl.registry.workspace import pick_model, read_registry, require_stage, workspace


def image(name: str | None, *, stage: str) -> ImageDocument:
    """The image the version now in `stage` was promoted with."""
    ws = workspace()
    registry = read_registry(ws)
    require_stage(ws, stage)
    model = pick_model(ws, registry, name)
    found = registry.model(model)
    event = found.stages.get(stage) if found else None
    if event is None or event.version is None:
        raise InputError(f"no version of {model} is in {stage}: nothing to deploy")
    record = recorded_image(event) or {}
    digest = record.get("digest")
    if not isinstance(digest, str) or not digest:
        configured = ws.project is not None and ws.project.config.registry is not None
        how = (
            "promote with --push"
            if configured
            else "set registry: in envctl.yaml and promote with --push"
        )
        raise InputError(
            f"{event.tag} ({model}@{event.version} in {stage}) records no registry digest; {how}"
        )
    return ImageDocument(
        model=model,
        stage=stage,
        version=event.version,
        tag=event.tag,
        digest=digest,
        image=text_or_none(record.get("ref")),
        image_id=text_or_none(record.get("id")),
        content_fingerprint=text_or_none(record.get("content_fingerprint")),
        reused_from=text_or_none(record.get("reused_from")),
    )
