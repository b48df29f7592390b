"""The image a promotion gates and records: build once, promote the digest.

An image is named by its content, so a stage whose content is the previous
stage's finds the image that stage tested: here by its tag, else by the digest
the previous stage's record holds (pulled from the registry), else in the
registry by its tag. Only new content is built. The record says which.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from envctl import registry as reg
from envctl.errors import EngineError, InputError
from envctl.progress import Progress
from envctl.registry.records import text_or_none
from envctl.registry.target import Target
from envctl.supply.sbom import MEDIA_TYPES, Made, Recorded

# Diff findings about what goes into an image (not data, compute or gates).
CONTENT_PATHS = ("packages.", "python", "image.", "system_packages.", "env.")


@dataclass(frozen=True)
class StageImage:
    """The image a stage runs, as its promotion record holds it."""

    ref: str  # the content tag, e.g. envctl/model-churn:v1.0.0-<content12>
    id: str
    digest: str | None  # REPO@sha256:... once pushed to (or pulled from) the registry
    content_fingerprint: str
    reused_from: str | None  # the stage whose tested image this is, when it is one
    differences: tuple[str, ...] = ()  # how the content differs from that stage's image
    sbom: Recorded | None = None  # its SBOM's hash, and where it is stored

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ref": self.ref,
            "id": self.id,
            "digest": self.digest,
            "content_fingerprint": self.content_fingerprint,
            "reused_from": self.reused_from,
            "differences": list(self.differences),
        }
        if self.sbom is not None:
            out["sbom"] = self.sbom.to_json()
        return out

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> StageImage | None:
        """The image a record holds; None when it lacks a ref, id or fingerprint."""
        ref, id_, fingerprint = (
            text_or_none(record.get(k)) for k in ("ref", "id", "content_fingerprint")
        )
        if ref is None or id_ is None or fingerprint is None:
            return None
        differences = record.get("differences")
        return cls(
            ref=ref,
            id=id_,
            digest=text_or_none(record.get("digest")),
            content_fingerprint=fingerprint,
            reused_from=text_or_none(record.get("reused_from")),
            differences=tuple(str(d) for d in differences) if isinstance(differences, list) else (),
            sbom=Recorded.from_json(record.get("sbom")),
        )


def recorded_image(event: reg.StageEvent | None) -> Mapping[str, Any] | None:
    """The image object of a promotion record; None for records without one
    (rollbacks, and records written before images were recorded)."""
    image = (event.record or {}).get("image") if event is not None else None
    return image if isinstance(image, dict) else None


def running_image(registry: reg.Registry, model: str, stage: str) -> tuple[reg.StageEvent, str]:
    """The event that put the version now in `stage` there, and the image it runs:
    the registry digest when the record has one (what a deployer pulls), else the
    image id. `registry` is the counted ledger (VerifiedLedger.trusted)."""
    found = registry.model(model)
    event = found.stages.get(stage) if found else None
    if event is None or event.version is None:
        raise InputError(
            f"no version of {model} is in {stage}, so it runs no image: "
            f"promote one there first (envctl promote {model}@VERSION --to {stage})"
        )
    record = recorded_image(event) or {}
    ref = text_or_none(record.get("digest")) or text_or_none(record.get("id"))
    if ref is None:
        raise InputError(f"{event.tag} ({model}@{event.version} in {stage}) records no image")
    return event, ref


def fetch_running_image(event: reg.StageEvent, ref: str) -> None:
    """Have the image `running_image` named in the engine: a recorded digest is
    pulled when missing; an image id cannot be pulled, so it must still be here.
    (Not engine.ensure_image: its errors speak of a spec's base image.)"""
    from envctl import engine

    if engine.image_exists(ref):
        return
    what = f"{event.tag}'s image {ref} ({event.model}@{event.version} in {event.stage})"
    if "@" not in ref:
        raise EngineError(
            f"{what} is not in this engine (removed since, or promoted on another engine) and "
            "its record names no registry digest to pull it by: set registry: in envctl.yaml "
            "so that promotions push their images and record one"
        )
    reason = engine.pull(ref)
    if reason:
        first = reason.strip().splitlines()[0] if reason.strip() else "no reason"
        raise EngineError(
            f"{what} is not in this engine and cannot be pulled ({first}); "
            "check that this engine can reach the registry"
        )


def previous_image(registry: reg.Registry, target: Target) -> Mapping[str, Any] | None:
    """The image the previous stage tested this version in, from its record."""
    if target.from_stage is None:
        return None
    found = registry.model(target.model)
    event = found.stages.get(target.from_stage) if found else None
    if event is None or event.version != target.version:
        return None
    return recorded_image(event)


def content_differences(findings: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The diff findings (previous stage -> target) about image content."""
    out = tuple(
        str(f["message"]) for f in findings if str(f.get("path", "")).startswith(CONTENT_PATHS)
    )
    return out or (
        "the image content differs (lock, templates or model files) though the spec "
        "diff shows no package, Python or image difference",
    )


def stage_image(
    target: Target,
    findings: Iterable[Mapping[str, Any]],
    before: Mapping[str, Any] | None,
    *,
    push: bool,
    on_line: Progress | None,
    say: Progress,
) -> StageImage:
    """The target stage's image: the previous stage's when the content is the same
    (exit 4 if its recorded digest has to be pulled and is gone), else built."""
    from envctl.build import recipe
    from envctl.build.image import build_planned
    from envctl.build.plan import plan

    the_plan = plan(target.stage, model=f"{target.model}@{target.version}")
    same = before is not None and before.get("content_fingerprint") == the_plan.fingerprint
    if same and before is not None:
        _fetch_tested(the_plan.tag, before, target)
    can_push = recipe.push_ref(the_plan.tag, the_plan.project.config.registry) is not None
    say(f"image for {target.model}@{target.version} in {target.stage}: build or reuse")
    built = build_planned(the_plan, push=push and can_push, on_line=on_line)
    say(f"image {built.image} ({'reused, nothing built' if built.cached else 'built'})")
    reused = same and before is not None and before.get("id") == built.id
    digest = built.reference
    if reused and before is not None and digest is None:
        digest = text_or_none(before.get("digest"))
    return StageImage(
        ref=built.image,
        id=built.id,
        digest=digest,
        content_fingerprint=the_plan.fingerprint,
        reused_from=target.from_stage if reused else None,
        differences=() if same or before is None else content_differences(findings),
    )


def _fetch_tested(tag: str, before: Mapping[str, Any], target: Target) -> None:
    """Make `tag` the very image the previous stage tested: when it is missing here
    or is another build of the same content, pull the recorded digest."""
    from envctl import engine

    if engine.image_exists(tag) and engine.inspect_image(tag).get("Id") == before.get("id"):
        return
    digest = text_or_none(before.get("digest"))
    if digest is None:
        return  # never pushed: the content tag is looked up (or built) as usual
    reason = engine.pull(digest)
    if reason:
        gone = "is gone from the registry" if engine.is_not_found(reason) else "cannot be pulled"
        raise EngineError(
            f"image {digest}, which {target.from_stage} tested {target.model}@{target.version} "
            f"in, {gone} ({reason.strip().splitlines()[0] if reason.strip() else 'no reason'}); "
            "push it again from a machine that has it"
        )
    engine.tag_image(digest, tag)


def with_sbom(
    image: StageImage,
    before: Mapping[str, Any] | None,
    make: Callable[[], Made],
    *,
    push: bool,
) -> StageImage:
    """`image` with its SBOM's hash, and with `push` (and a digest: the image is in
    a registry) the SBOM pushed beside it as an OCI referrer. The previous
    stage's record answers for the very image it tested (the document is a
    function of the image), so only a new image, or one first pushed now, is
    probed; `make` is the gate's SBOM when a vulnerabilities gate made one."""
    same = before is not None and before.get("id") == image.id
    previous = Recorded.from_json(before.get("sbom")) if before and same else None
    publish = push and image.digest is not None
    if previous is not None and (previous.artifact is not None or not publish):
        return replace(image, sbom=previous)
    made = make()
    artifact = push_sbom(image.digest, made) if publish and image.digest else None
    return replace(image, sbom=Recorded(made.format, made.sha256, artifact))


def push_sbom(image_digest: str, made: Made) -> str:
    """Attach the document to the image `REPO@sha256:...` in its registry; its
    `REPO@sha256:...` (exit 4 when the registry refuses it)."""
    from envctl import engine, referrers
    from envctl.oci import image_ref

    host = image_ref.parse(image_digest).host or ""
    return referrers.push(
        image_digest,
        made.text.encode(),
        MEDIA_TYPES[made.format],
        engine.registry_credentials(host),
    )
