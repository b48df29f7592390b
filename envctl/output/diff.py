"""The diff document: one comparison per pair of operands."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from envctl.output import Document, Item
from envctl.output.supply import DatabaseInfo
from envctl.vocabulary import FailOn, Severity


class Location(Item):
    """Where a value is written in a spec."""

    file: str
    line: int


class DiffFinding(Item):
    """One mismatch between the two sides."""

    kind: str = Field(description="Stable finding kind, e.g. package.version.")
    area: str = Field(description="python, os/image, packages, system packages, data or compute.")
    severity: Severity = Field(description="After the project's severity overrides.")
    path: str = Field(description="Dotted spec path, e.g. packages.numpy.")
    left: str | None = Field(description="The left side's value; null when absent there.")
    right: str | None = Field(description="The right side's value; null when absent there.")
    message: str
    left_location: Location | None
    right_location: Location | None
    waived: bool = Field(description="A live waiver covers this finding.")
    waiver_reason: str | None
    waiver_expired: date | None = Field(description="Set when an expired waiver matched.")


class DiffOperand(Item):
    """One side of a comparison."""

    name: str
    kind: Literal["spec", "local", "image"]
    version: int | None = Field(description="Spec version; null when unknown.")
    fingerprint: str | None
    file: str | None


class DiffSummary(Item):
    """Findings counted by severity; waived ones only under `waived`."""

    error: int
    warning: int
    info: int
    waived: int


class StageImageSide(Item):
    """The image one stage runs, as the ledger names it."""

    stage: str
    version: str = Field(description="The model version the stage holds.")
    image: str = Field(description="The recorded digest (REPO@sha256:...), else the image id.")


class PackageChange(Item):
    """A package present on one side only, or at another version."""

    ecosystem: str = Field(description="PyPI or Debian (any Debian release).")
    name: str
    change: Literal["added", "removed", "changed"]
    left: str | None = Field(description="Its version in the left image; null when absent.")
    right: str | None = Field(description="Its version in the right image; null when absent.")


class ImageChanges(Item):
    """diff --images: what the two stages' images hold, from their SBOMs."""

    model: str
    left: StageImageSide
    right: StageImageSide
    same_image: bool = Field(description="Both stages run one image: nothing differs.")
    packages: list[PackageChange]
    database: DatabaseInfo | None = Field(
        description="The vulnerability database the findings come from; null when there is "
        "none (findings are then not compared)."
    )
    only_left: list[dict[str, Any]] = Field(
        description="Findings of the left image the right one does not have (as in scan)."
    )
    only_right: list[dict[str, Any]] = Field(
        description="Findings of the right image the left one does not have."
    )


class DiffComparison(Item):
    """Left (where a model comes from) against right (where it goes)."""

    left: DiffOperand
    right: DiffOperand
    findings: list[DiffFinding]
    summary: DiffSummary
    notes: list[str] = Field(description="E.g. that a lock was stale and not used.")
    images: ImageChanges | None = Field(
        None, description="With --images only (the key is absent otherwise)."
    )


class DiffDocument(Document):
    """envctl diff A B --format json (and diff --path): every mismatch found."""

    fail_on: FailOn = Field(description="The --fail-on threshold of this run.")
    failed: bool = Field(description="Some unwaived finding is at or above fail_on.")
    comparisons: list[DiffComparison] = Field(
        description="One, or with --path one per consecutive pair of stages."
    )

    def to_json(self) -> dict[str, Any]:
        """Without --images the document is what it always was: no `images` key."""
        if any(c.images is not None for c in self.comparisons):
            return super().to_json()
        return self.model_dump(mode="json", exclude={"comparisons": {"__all__": {"images"}}})
