"""validate, show, list, check and import documents. validate, show and list
build theirs as plain data (envctl.output.plain_specs); these models are their
schema."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from envctl.output import Document, Item


class Validated(Item):
    """One spec's validation."""

    environment: str = Field(description="The operand as given: a name, a file or NAME@REV.")
    file: str = Field(description="The spec file, relative to the project.")
    valid: bool
    version: int | None = Field(None, description="The spec's version; null when invalid.")
    fingerprint: str | None = Field(None, description="sha256 of the resolved spec.")
    problems: list[str] = Field(default_factory=list, description="Every problem, one a line.")


class ValidateDocument(Document):
    """envctl validate --format json: every spec's validation."""

    results: list[Validated] = Field(description="One per spec, in the order asked.")


class ShowDocument(Document):
    """envctl show ENV --format json: the resolved spec, its version and fingerprint."""

    environment: str = Field(description="The operand's label, e.g. prod or prod@v3.")
    file: str = Field(description="Where the spec was read from.")
    version: int
    fingerprint: str = Field(description="sha256 of the canonical JSON of the resolved spec.")
    spec: dict[str, Any] = Field(
        description="The canonical resolved spec: its JSON Schema is `envctl schema environment`."
    )


class Listed(Item):
    """One environment of the project."""

    name: str
    stage: int | None = Field(description="1-based position in envctl.yaml stages; null if none.")
    version: int | None = Field(description="null when the spec is invalid.")
    fingerprint: str | None
    file: str
    error: str | None = Field(None, description="Why the spec is invalid.")


class ListDocument(Document):
    """envctl list --format json: the project's environments."""

    environments: list[Listed] = Field(description="Stages first, in stage order.")


CheckKind = Literal["invalid", "version-not-bumped", "lock-stale"]


class CheckFinding(Item):
    """One thing `check` wants fixed."""

    environment: str
    file: str
    kind: CheckKind
    message: str


class CheckDocument(Document):
    """envctl check --format json: what the CI step wants fixed."""

    base: str | None = Field(
        description="The git revision compared with; null outside git or before the first "
        "commit, where versions were not compared."
    )
    checked: int = Field(description="How many specs were checked.")
    ok: bool = Field(description="True when there are no findings.")
    findings: list[CheckFinding]


class ImportNote(Item):
    """Something the spec could not hold, or held with a change."""

    item: str
    reason: str
    file: str
    line: int | None


class ImportIndex(Item):
    """A package index the spec declares (credentials never included)."""

    name: str
    url: str
    explicit: bool
    default: bool


class ImportDocument(Document):
    """envctl import FILE --format json: the spec written from a pin file or an image."""

    environment: str
    file: str
    version: int
    overwritten: bool
    source: str
    format: str
    python: str
    python_from: Literal["source", "--python", "interpreter"]
    platform: str
    base: str
    packages: dict[str, str]
    indexes: list[ImportIndex] = Field(default_factory=list)
    sources: dict[str, str] = Field(
        default_factory=dict, description="package -> the name of the index it is routed to"
    )
    not_carried_over: list[ImportNote]
    adjusted: list[ImportNote]
    kept: list[str] = Field(
        default_factory=list,
        description="--force: sections of the replaced spec kept as they were (data, gates, ...)",
    )
    dropped: list[str] = Field(
        default_factory=list,
        description="--force: sections of the replaced spec the source left empty (indexes, ...)",
    )
