"""The diff document as plain immutable data: what `envctl diff --format json`
builds and prints. Its models, with descriptions and JSON Schema, are in
envctl.output.diff; building these instead keeps pydantic's model machinery off
`envctl diff` (the part that --images adds, ImageChanges, stays a model: that
path reads images and SBOMs anyway). tests/output/test_plain_diff.py holds
each to its model, field for field.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from envctl.output.plain import document_json, fields_json

if TYPE_CHECKING:
    from envctl.output.diff import ImageChanges
    from envctl.vocabulary import FailOn, Severity


class Location(NamedTuple):
    """Where a value is written in a spec."""

    file: str
    line: int

    def to_json(self) -> dict[str, Any]:
        return fields_json(self)


class DiffFinding(NamedTuple):
    """One mismatch between the two sides."""

    kind: str
    area: str
    severity: Severity
    path: str
    left: str | None
    right: str | None
    message: str
    left_location: Location | None
    right_location: Location | None
    waived: bool
    waiver_reason: str | None
    waiver_expired: date | None

    def to_json(self) -> dict[str, Any]:
        return fields_json(self)


class DiffOperand(NamedTuple):
    """One side of a comparison."""

    name: str
    kind: Literal["spec", "local", "image"]
    version: int | None
    fingerprint: str | None
    file: str | None

    def to_json(self) -> dict[str, Any]:
        return fields_json(self)


class DiffSummary(NamedTuple):
    """Findings counted by severity; waived ones only under `waived`."""

    error: int
    warning: int
    info: int
    waived: int

    def to_json(self) -> dict[str, Any]:
        return fields_json(self)


class DiffComparison(NamedTuple):
    """Left (where a model comes from) against right (where it goes)."""

    left: DiffOperand
    right: DiffOperand
    findings: list[DiffFinding]
    summary: DiffSummary
    notes: list[str]
    images: ImageChanges | None = None

    def to_json(self) -> dict[str, Any]:
        return fields_json(self)


class DiffDocument(NamedTuple):
    """envctl diff A B --format json (and diff --path): every mismatch found."""

    fail_on: FailOn
    failed: bool
    comparisons: list[DiffComparison]
    schema_version: Literal[1] = 1

    def to_json(self) -> dict[str, Any]:
        """Without --images the document is what it always was: no `images` key."""
        fields = document_json(self)
        if not any(c.images is not None for c in self.comparisons):
            for comparison in fields["comparisons"]:
                del comparison["images"]
        return fields
