"""lock, render, build and verify documents."""

from __future__ import annotations

from pydantic import Field

from envctl.output import Document, Item
from envctl.vocabulary import Severity


class LockDocument(Document):
    """envctl lock ENV --format json: the lock written."""

    environment: str
    lock: str = Field(description="The lock file written, e.g. environments/dev.lock.")
    packages: int = Field(description="Distributions in the lock (the full transitive set).")
    changed: bool = Field(description="False when the lock was already up to date.")
    seconds: float
    input_hash: str = Field(
        description="Hash of the resolver's inputs: packages, Python, platform."
    )
    python: str
    platform: str


class RenderDocument(Document):
    """envctl render ENV --format json: the Dockerfile build would build."""

    environment: str
    image: str = Field(description="The tag `envctl build` would give the image.")
    fingerprint: str = Field(description="The image's content fingerprint.")
    system_install: bool = Field(
        description="The Dockerfile starts from envctl's apt layer (image.network: apt)."
    )
    dockerfile: str


class BuildDocument(Document):
    """envctl build ENV --format json: the image built or reused."""

    environment: str
    image: str = Field(
        description="The image's tag: envctl/ENV:CONTENT12, or for a model image "
        "envctl/model-NAME:vX.Y.Z-CONTENT12 (the same for every stage with the same content)."
    )
    id: str = Field(description="The image id, sha256:...")
    cached: bool = Field(
        description="An image with this content existed (here or in the registry): "
        "nothing was built."
    )
    fingerprint: str = Field(
        description="The content fingerprint: sha256 of what is in the image (not the stage)."
    )
    size_bytes: int
    lock_hash: str = Field(description="sha256 of the lock's resolved body.")
    model: str | None = Field(description="The model version put in the image, NAME@vX.Y.Z.")
    system_install: bool | None = Field(
        description="System packages were apt-installed in envctl's layer; null if cached."
    )
    steps: int
    cached_steps: int
    seconds: float
    pushed: str | None = Field(description="The reference pushed, with --push.")
    digest: str | None = Field(description="The pushed image's digest.")
    log: str | None = Field(
        description="Path of the full build log (engine and pip output); null if nothing ran."
    )
    pulled: str | None = Field(
        description="The registry reference pulled instead of building (registry: set)."
    )
    reference: str | None = Field(
        description="REPO@sha256:... in the project's registry, once pushed or pulled there."
    )


class VerifyFinding(Item):
    """A difference between the spec + lock and the image."""

    kind: str
    severity: Severity
    path: str
    spec: str | None = Field(description="What the spec and lock say; null when absent.")
    image: str | None = Field(description="What the image holds; null when absent.")
    message: str
    waived: str | None = Field(description="The waiver's reason when a live waiver covers it.")


class LabelDifference(Item):
    """A dev.envctl.* label that differs (worth showing, not drift by itself)."""

    expected: str | None
    found: str | None


class VerifyDocument(Document):
    """envctl verify ENV --format json: how an image differs from spec and lock."""

    environment: str
    image: str
    image_id: str | None
    ok: bool = Field(description="No unwaived finding: the image holds what spec and lock say.")
    drifted_packages: list[str]
    findings: list[VerifyFinding]
    labels: dict[str, LabelDifference] = Field(
        description="By label name (fingerprint, lock-hash, python, platform)."
    )
