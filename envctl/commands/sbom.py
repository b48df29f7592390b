"""sbom: the CycloneDX document of an image: an environment's, a model version's,
or the one a stage runs now."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from envctl.errors import InputError, UsageError
from envctl.output.supply import SbomWritten
from envctl.supply import sbom as sboms

if TYPE_CHECKING:
    from envctl import probe
    from envctl.build.lockfile import Lock


@dataclass(frozen=True)
class Made:
    sbom: sboms.ImageSbom
    text: str

    def written(self, file: Path) -> SbomWritten:
        return SbomWritten(
            image=self.sbom.image,
            image_id=self.sbom.image_id,
            file=str(file),
            format="cyclonedx-json",
            sha256=sboms.digest(self.text),
            python_packages=len(self.sbom.python_packages()),
            debian_packages=len(self.sbom.debian_packages()),
            hashes_from_lock=self.sbom.hashes_from_lock,
        )


def sbom(
    operand: str | None,
    *,
    model: str | None = None,
    stage: str | None = None,
    image: str | None = None,
) -> Made:
    """SBOM of ENV's image (with `model`: NAME@VERSION's image in ENV), of `image`,
    or (`stage`, operand the model) of what the stage runs now."""
    if sum(x is not None for x in (stage, image)) + (operand is not None and stage is None) != 1:
        raise UsageError("name one of: ENV, --image REF, or MODEL --stage STAGE")
    if image is not None:
        return _of(image, lock=None)
    if stage is not None:
        return _of_stage(operand, stage)
    assert operand is not None
    return _of_environment(operand, model)


def _of(ref: str, lock: Lock | None) -> Made:
    from envctl import probe

    reality = probe.image(ref)
    made = sboms.from_reality(ref, reality, lock or _lock_it_was_built_from(reality))
    return Made(made, sboms.document(made))


def _lock_it_was_built_from(reality: probe.Reality) -> Lock | None:
    """The project's lock whose content the image's lock-hash label names, so that
    an SBOM made from the image alone (--image, --stage) carries the same hashes,
    and so the same bytes, as one made at build or gate time. None when no lock of
    the project is that one (the lock changed since): the SBOM then has no hashes."""
    from envctl.build.lockfile import read_lock
    from envctl.spec.loading import find_project

    wanted = reality.labels.get(sboms.LOCK_HASH_LABEL)
    project = find_project()
    if wanted is None or project is None:
        return None
    for path in sorted(project.env_dir.glob("*.lock")):
        try:
            lock = read_lock(path)
        except InputError:
            continue
        if lock.content_hash == wanted:
            return lock
    return None


def _of_environment(operand: str, model: str | None) -> Made:
    from envctl import engine
    from envctl.build.plan import plan

    the_plan = plan(operand, model=model)
    if not engine.image_exists(the_plan.tag):
        raise InputError(
            f"{the_plan.tag} is not built here; build it first: envctl build {operand}"
            + (f" --model {model}" if model else "")
        )
    return _of(the_plan.tag, the_plan.lock)


def _of_stage(name: str | None, stage: str) -> Made:
    from envctl import engine
    from envctl.ledger.trust import read_verified
    from envctl.promotion.handoff import running_image
    from envctl.registry.workspace import pick_model, require_stage, workspace

    ws = workspace()
    ledger = read_verified(ws)
    require_stage(ws, stage)
    model = pick_model(ws, ledger.registry, name)
    _event, ref = running_image(ledger.trusted, model, stage)
    engine.ensure_image(ref)
    return _of(ref, lock=None)
