"""sbom, scan and vulndb documents."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from envctl.output import Document, Item


class SbomWritten(Document):
    """envctl sbom ... --output FILE --format json: where the SBOM went and its hash."""

    image: str = Field(description="The image reference the SBOM describes.")
    image_id: str | None
    file: str
    format: str = Field(description="cyclonedx-json or spdx-json")
    sha256: str = Field(description="sha256:... of the document's bytes.")
    python_packages: int
    debian_packages: int
    hashes_from_lock: bool = Field(
        description="The lock's hashes are in the SBOM (the image was built from that lock)."
    )
    source: str = Field(
        "image",
        description="image: made from the image here; registry: fetched from beside the "
        "image (--stage, when its promotion pushed it).",
    )
    recorded_sha256: str | None = Field(
        None,
        description="With --stage: the sha256 the promotion record holds (the document's "
        "equals it, else exit 1); null for records without one.",
    )


class DatabaseInfo(Item):
    """The local OSV database a check used."""

    path: str
    imported: str = Field(description="When it was imported (UTC, ISO 8601).")
    newest_record: str | None = Field(description="The newest record's `modified`.")
    records: int
    age_days: float


class VulnDbDocument(Document):
    """envctl vulndb update|status --format json: the local OSV database."""

    database: DatabaseInfo


class StageScan(Item):
    """One stage's image against today's database."""

    model: str
    stage: str
    version: str
    image: str
    fail_on: str
    findings: list[dict[str, Any]]
    blocking: list[str] = Field(description="Ids of unwaived findings at or above fail_on.")


class ScanDocument(Document):
    """envctl scan --format json: what each stage runs now, re-checked."""

    database: DatabaseInfo
    stages: list[StageScan]
    clean: bool
