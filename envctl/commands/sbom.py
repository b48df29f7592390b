"""sbom: the SBOM of an image: an environment's, a model version's, or the one a
stage runs now (fetched from beside the image in the registry when its promotion
pushed it there, else made again from the image; checked against the record)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from envctl.errors import CheckFailed, InputError, UsageError
from envctl.output.supply import SbomWritten
from envctl.supply import sbom as sboms

if TYPE_CHECKING:
    from envctl.build.lockfile import Lock

Source = Literal["image", "registry"]


@dataclass(frozen=True)
class Made:
    image: str
    image_id: str | None
    text: str
    format: str
    source: Source  # made from the image here, or fetched from the registry
    recorded: str | None = None  # the sha256 the stage's promotion record holds

    def written(self, file: Path) -> SbomWritten:
        counted = sboms.counts(self.text)
        return SbomWritten(
            image=self.image,
            image_id=self.image_id,
            file=str(file),
            format=self.format,
            sha256=sboms.digest(self.text),
            python_packages=counted.python,
            debian_packages=counted.debian,
            hashes_from_lock=counted.hashed,
            source=self.source,
            recorded_sha256=self.recorded,
        )


def sbom(
    operand: str | None,
    *,
    model: str | None = None,
    stage: str | None = None,
    image: str | None = None,
    fmt: sboms.SbomFormat = "cyclonedx-json",
) -> Made:
    """SBOM of ENV's image (with `model`: NAME@VERSION's image in ENV), of `image`,
    or (`stage`, operand the model) of what the stage runs now, in `fmt`."""
    if sum(x is not None for x in (stage, image)) + (operand is not None and stage is None) != 1:
        raise UsageError("name one of: ENV, --image REF, or MODEL --stage STAGE")
    if image is not None:
        return _of(image, lock=None, fmt=fmt)
    if stage is not None:
        return _of_stage(operand, stage, fmt)
    assert operand is not None
    return _of_environment(operand, model, fmt)


def _of(ref: str, lock: Lock | None, *, fmt: sboms.SbomFormat, recorded: str | None = None) -> Made:
    made = sboms.of_image(ref, lock, fmt)
    return Made(ref, made.sbom.image_id, made.text, made.format, "image", recorded)


def _of_environment(operand: str, model: str | None, fmt: sboms.SbomFormat) -> Made:
    from envctl import engine
    from envctl.build.plan import plan

    the_plan = plan(operand, model=model)
    if not engine.image_exists(the_plan.tag):
        raise InputError(
            f"{the_plan.tag} is not built here; build it first: envctl build {operand}"
            + (f" --model {model}" if model else "")
        )
    return _of(the_plan.tag, the_plan.lock, fmt=fmt)


def _of_stage(name: str | None, stage: str, fmt: sboms.SbomFormat) -> Made:
    from envctl.ledger.trust import read_verified
    from envctl.promotion.handoff import fetch_running_image, recorded_image, running_image
    from envctl.registry.workspace import pick_model, require_stage, workspace

    ws = workspace()
    ledger = read_verified(ws)
    require_stage(ws, stage)
    model = pick_model(ws, ledger.registry, name)
    event, ref = running_image(ledger.trusted, model, stage)
    image = recorded_image(event) or {}
    recorded = sboms.Recorded.from_json(image.get("sbom"))
    if recorded is not None and recorded.format != fmt:
        recorded = None  # the record's hash is of another format's document: nothing to check
    image_id = image.get("id") if isinstance(image.get("id"), str) else None
    if recorded is not None and recorded.artifact is not None:
        made = _fetched(ref, image_id, recorded)
    else:
        fetch_running_image(event, ref)
        made = _of(ref, lock=None, fmt=fmt, recorded=recorded.sha256 if recorded else None)
    if recorded is not None and sboms.digest(made.text) != recorded.sha256:
        raise CheckFailed(
            f"the SBOM of {ref} ({sboms.digest(made.text)}) is not the one {event.tag} "
            f"recorded ({recorded.sha256})"
            + (
                ""
                if made.source == "registry"
                else ": the image differs, or the lock it was built from is no longer in "
                "the project"
            )
        )
    return made


def _fetched(ref: str, image_id: str | None, recorded: sboms.Recorded) -> Made:
    """The document the promotion pushed beside the image (every byte checked
    against the digests that name it, and so against the record)."""
    from envctl import engine, referrers
    from envctl.oci import image_ref

    assert recorded.artifact is not None
    media_type = sboms.MEDIA_TYPES.get(recorded.format)
    if media_type is None:
        raise InputError(
            f"{recorded.artifact}: an SBOM format envctl cannot read ({recorded.format})"
        )
    host = image_ref.parse(recorded.artifact).host or ""
    data = referrers.fetch(recorded.artifact, media_type, engine.registry_credentials(host))
    return Made(ref, image_id, data.decode(), recorded.format, "registry", recorded.sha256)
