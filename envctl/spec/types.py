"""The environment spec as envctl works with it: plain frozen values.

Two readers make them, and both give the same value for the same document:
- envctl.spec.plain reads a document that plainly follows every rule (the common
  case, and every spec a project commits once it is valid) without pydantic;
- envctl.spec.model is the pydantic model: the rules' reference, their error
  messages and the JSON Schema. A document the plain reader cannot vouch for is
  validated there and converted (`from_model`).
tests/spec/test_plain_reader.py holds the two to the same values, and
`canonical()` here to the model's own dump, byte for byte (fingerprints).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from envctl.frozen import Value, field
from envctl.spec import rates, values
from envctl.spec.rules import compares, parse_rule
from envctl.vocabulary import GATE_KINDS, GateKind

SCHEMA_ID = "urn:envctl:schema:environment:v1"
SCHEMA_FILE = "envctl-environment.schema.json"  # what `envctl init` writes beside envctl.yaml

BuildNetwork = Literal["none", "apt"]
RequiresSeverity = Literal["error", "warning", "off"]
VulnerabilityRating = Literal["low", "medium", "high", "critical"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Part(Value):
    """A part of the spec: its JSON form is the model's `model_dump(mode="json")`."""

    # field -> how its value is written in JSON (the model's PlainSerializer)
    _written: ClassVar[dict[str, Any]] = {}
    _aliases: ClassVar[dict[str, str]] = {}

    def to_json(self, *, exclude_none: bool = False, exclude_defaults: bool = False) -> Any:
        out: dict[str, Any] = {}
        for name in self._order:
            value = self.__dict__[name]
            if value is None and exclude_none:
                continue
            if exclude_defaults and _is_default(self, name, value):
                continue
            write = self._written.get(name)
            out[self._aliases.get(name, name)] = (
                write(value)
                if write is not None and value is not None
                else to_json(value, exclude_none, exclude_defaults)
            )
        return out


def _is_default(value: Part, name: str, held: Any) -> bool:
    if name in value._defaults:
        return bool(held == value._defaults[name])
    made = dict(value._factories).get(name)
    return made is not None and bool(held == made())


def to_json(value: Any, exclude_none: bool = False, exclude_defaults: bool = False) -> Any:
    """`value` as the model's JSON mode writes it (plain data for json.dumps)."""
    if isinstance(value, Part):
        return value.to_json(exclude_none=exclude_none, exclude_defaults=exclude_defaults)
    if isinstance(value, list):
        return [to_json(item, exclude_none, exclude_defaults) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item, exclude_none, exclude_defaults) for key, item in value.items()}
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    return value


class Image(Part):
    base: str
    platform: str = "linux/amd64"
    repository: str | None = None
    network: BuildNetwork = "none"


class PackageIndex(Part):
    """A package index (PEP 503 simple API), as uv's `[[tool.uv.index]]`."""

    name: str
    url: str
    explicit: bool = False
    default: bool = False


class Source(Part):
    index: str


class EvaluationSet(Part):
    """A labelled evaluation set for the `evaluate` gate (see the model's docs)."""

    file: str | None = None
    host_file: str | None = None
    label: str = "label"
    classification: str
    sha256: str | None = None

    @property
    def where(self) -> str:
        """The file as envctl names it: project-relative, or `host:/path` on the engine's host."""
        return self.file if self.file is not None else f"host:{self.host_file}"


class Data(Part):
    allowed: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    evaluation: dict[str, EvaluationSet] = field(default_factory=dict)


class Gpu(Part):
    count: int
    vendor: Literal["nvidia", "amd"] = "nvidia"
    driver: str | None = None
    cuda: str | None = None
    capability: str | None = None

    def to_json(self, *, exclude_none: bool = False, exclude_defaults: bool = False) -> Any:
        # A bare count is written as the number it was given as, so the canonical
        # form (and every fingerprint) of a spec that says `gpu: 1` stays what it was.
        if self == Gpu(count=self.count):
            return self.count
        return super().to_json(exclude_none=exclude_none, exclude_defaults=exclude_defaults)


class Compute(Part):
    _written: ClassVar[dict[str, Any]] = {"memory": values.format_bytes}

    cpu: float | None = None
    memory: int | None = None
    gpu: Gpu = field(default_factory=lambda: Gpu(count=0))
    engines: list[str] = field(default_factory=list)


class TestsGate(Part):
    paths: list[str] = field(default_factory=lambda: ["tests"])
    packages: dict[str, str] = field(default_factory=dict)
    timeout: int = 600


class MetricsGate(Part):
    file: str
    require: dict[str, str]
    baseline: Literal["no_worse"] | None = None

    @property
    def compares(self) -> bool:
        """Whether the gate reads the metrics of the version now in the stage."""
        return compares(self.require, self.baseline)


class EvaluateGate(Part):
    """Metrics envctl computes itself from the model's answers on a labelled set."""

    data: str
    require: dict[str, str]
    baseline: Literal["no_worse"] | None = None
    path: str = "/predict"
    batch: int = 64
    inputs: str = "instances"
    predictions: str = "predictions"
    scores: str | None = None
    positive: str | int = 1
    claims: str | None = None
    timeout: int = 300
    requires: RequiresSeverity | None = None

    @property
    def compares(self) -> bool:
        """Whether the gate reads the champion's recorded metrics."""
        return compares(self.require, self.baseline)


class HttpGate(Part):
    path: str = "/predict"
    method: Literal["GET", "POST"] = "POST"
    request: str | None = None
    expect_status: int = 200
    expect_keys: list[str] = field(default_factory=list)
    timeout: int = 60


class ApprovalsGate(Part):
    required: int = 1


class CommandGate(Part):
    run: list[str]
    timeout: int = 600


class VulnerabilityWaiver(Part):
    id: str
    package: str | None = None
    reason: str
    expires: date | None = None


class VulnerabilitiesGate(Part):
    """The image's SBOM against the local OSV database (`envctl vulndb update`), offline."""

    _written: ClassVar[dict[str, Any]] = {"max_age": values.format_duration}

    fail_on: VulnerabilityRating = "high"
    unknown: VulnerabilityRating = "high"
    database: str | None = None
    max_age: int = 7 * 86400
    waivers: list[VulnerabilityWaiver] = field(default_factory=list)


class LoadGate(Part):
    """An open-loop load at a constant arrival rate against the served model."""

    _written: ClassVar[dict[str, Any]] = {
        "rate": rates.format_rate,
        "duration": rates.format_seconds,
        "timeout": rates.format_seconds,
        "ready_timeout": rates.format_seconds,
    }

    path: str = "/predict"
    method: Literal["GET", "POST"] = "POST"
    request: str | None = None
    expect_status: int = 200
    rate: float
    duration: float
    slo: dict[str, list[str]]
    timeout: float = 10.0
    ready_timeout: float = 60.0
    connections: int = 256
    calibration_p99_ms: float = 100.0
    requires: RequiresSeverity | None = None

    @property
    def compares(self) -> bool:
        """Whether the gate reads the champion's recorded load."""
        return any(parse_rule(r).relative is not None for rs in self.slo.values() for r in rs)


class Gate(Part):
    tests: TestsGate | None = None
    metrics: MetricsGate | None = None
    http: HttpGate | None = None
    approvals: ApprovalsGate | None = None
    command: CommandGate | None = None
    vulnerabilities: VulnerabilitiesGate | None = None
    load: LoadGate | None = None
    evaluate: EvaluateGate | None = None

    @property
    def kind(self) -> GateKind:
        return next(k for k in GATE_KINDS if self.__dict__[k] is not None)


class Waiver(Part):
    kind: str
    path: str | None = None
    reason: str
    expires: date | None = None


class Window(Part):
    days: list[Weekday] = field(default_factory=lambda: list(WEEKDAYS))
    hours: str = "00:00-24:00"


class Freeze(Part):
    _aliases: ClassVar[dict[str, str]] = {"start": "from"}

    start: datetime
    until: datetime
    reason: str | None = None


class LiveMetrics(Part):
    path: str = "/metrics.json"
    require: dict[str, str]
    timeout: int = 30


class LiveChecks(Part):
    url: str | None = None
    metrics: LiveMetrics | None = None
    rollback: Literal["auto", "manual"] = "manual"


class StagePolicy(Part):
    """When a version may enter the stage, besides its gates; and live checks."""

    _written: ClassVar[dict[str, Any]] = {"soak": values.format_duration}

    soak: int | None = None
    auto: bool = True
    timezone: str | None = None
    windows: list[Window] = field(default_factory=list)
    freeze: list[Freeze] = field(default_factory=list)
    live: LiveChecks | None = None


class Spec(Part):
    name: str
    version: int
    extends: str | None = None
    description: str | None = None
    image: Image
    python: str
    packages: dict[str, str] = field(default_factory=dict)
    indexes: list[PackageIndex] = field(default_factory=list)
    sources: dict[str, Source] = field(default_factory=dict)
    system_packages: list[str] = field(default_factory=list)
    data: Data = field(default_factory=Data)
    compute: Compute = field(default_factory=Compute)
    env: dict[str, str] = field(default_factory=dict)
    runner: str | None = None
    gates: list[Gate] = field(default_factory=list)
    waivers: list[Waiver] = field(default_factory=list)
    policy: StagePolicy | None = None

    def index_of(self, package: str) -> PackageIndex | None:
        """The index `package` (a distribution name) is routed to, if any."""
        source = self.sources.get(values.package_name(values.package_key(package)))
        if source is None:
            return None
        return next(index for index in self.indexes if index.name == source.index)

    def canonical(self) -> dict[str, Any]:
        """The resolved spec as plain data in canonical form (no `extends`)."""
        data = self.to_json(exclude_none=True)
        data.pop("extends", None)
        # Absent and empty are the same spec: fingerprints from before indexes stay.
        for key in ("indexes", "sources"):
            if not data[key]:
                del data[key]
        if not data["data"]["evaluation"]:
            del data["data"]["evaluation"]
        if "sources" in data:
            data["sources"] = dict(sorted(data["sources"].items()))
        data["packages"] = dict(sorted(data["packages"].items()))
        data["system_packages"] = sorted(set(data["system_packages"]))
        canonical: dict[str, Any] = data
        return canonical

    def fingerprint(self) -> str:
        blob = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


def from_model(model: Any) -> Any:
    """The plain value of a validated pydantic spec (or part): the class of the
    same name here, field by field."""
    fields = getattr(type(model), "model_fields", None)
    if fields is not None:
        kind = globals()[type(model).__name__]
        return kind(**{name: from_model(getattr(model, name)) for name in fields})
    if isinstance(model, list):
        return [from_model(item) for item in model]
    if isinstance(model, dict):
        return {key: from_model(item) for key, item in model.items()}
    return model
