"""image: the pullable `REPO@sha256:...` a stage holds, for deploy scripts.

Reads the promotion record only (git, no Docker): what the stage runs is what
its record names, wherever the image is pulled. The ledger is read as every
command reads it (`read_verified`): the stage's version is that of the last event
that counts there, so a hand-made event in a signed stage is never what a
deployer pulls. Exit 3: nothing to answer from (no version in the stage, or the
event in force records no digest); exit 1: that event records something that is
not a pinned `REPO@sha256:<hex>`. Never an earlier or an uncounted event's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from envctl import registry as reg
from envctl.errors import CheckFailed, InputError
from envctl.ledger.trust import read_verified
from envctl.oci import image_ref
from envctl.output.registry import ImageDocument
from envctl.promotion.handoff import recorded_image
from envctl.registry.records import text_or_none
from envctl.registry.workspace import Workspace, pick_model, require_stage, workspace
from envctl.supply.sbom import Recorded


def image(name: str | None, *, stage: str) -> ImageDocument:
    """The image the version now in `stage` was promoted with."""
    ws = workspace()
    ledger = read_verified(ws)
    require_stage(ws, stage)
    model = pick_model(ws, ledger.registry, name)
    found = ledger.registry.model(model)
    event = ledger.audit.stages(found).get(stage) if found else None  # counted events only
    if event is None or event.version is None:
        raise InputError(f"no version of {model} is in {stage}: nothing to deploy")
    record = recorded_image(event) or {}
    digest = _digest(ws, event, ledger.audit.verdict(event.tag), record)
    sbom = Recorded.from_json(record.get("sbom"))
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
        sbom=sbom.sha256 if sbom else None,
        sbom_artifact=sbom.artifact if sbom else None,
    )


def _digest(
    ws: Workspace, event: reg.StageEvent, verdict: reg.Verdict, record: Mapping[str, Any]
) -> str:
    """The event's recorded digest, when it records one that pins an image; refuses
    otherwise, naming the tag. The event counts (`read_verified`): in a signed
    stage it is signed by an allowed promoter, elsewhere it counts as GTO reads it."""
    where = f"{event.tag} ({event.model}@{event.version} in {event.stage})"
    digest = record.get("digest")
    if not isinstance(digest, str) or not digest:
        configured = ws.project is not None and ws.project.settings.registry is not None
        # The version is already in the stage, so promoting it again with --push
        # would do nothing: only the stage's next promotion can record a digest.
        next_push = f"{event.stage}'s next promotion made with --push records one"
        how = (
            f"it was promoted without --push; {next_push}"
            if configured
            else f"set registry: in envctl.yaml; {next_push}"
        )
        made = " (no envctl record: made by GTO or by hand)" if verdict.evidence == "none" else ""
        raise InputError(f"{where} records no registry digest{made}; {how}")
    if not _is_pinned(digest):
        raise CheckFailed(f"{where} records {digest!r}, which is not REPO@sha256:<64 hex>")
    return digest


def _is_pinned(digest: str) -> bool:
    try:
        return image_ref.parse(digest).digest is not None
    except ValueError:
        return False
