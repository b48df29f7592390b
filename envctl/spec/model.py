"""The environment spec: a strict, frozen pydantic model and its canonical form.

`parse_spec(text, source=...)` is pure; `envctl.project` does the file reading,
`extends` resolution and git revisions.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from envctl.spec import indexes, plain, rates, types, values
from envctl.spec.fields import (
    AptName,
    Classification,
    Cpu,
    Engine,
    ImageRef,
    Memory,
    Packages,
    Platform,
    PythonVersion,
    RelPath,
    SafeText,
    SafeToken,
    Strict,
    UrlPath,
)
from envctl.spec.rules import (
    EVALUATION_METRICS,
    LOAD_METRICS,
    SCORE_METRICS,
)
from envctl.spec.types import (
    SCHEMA_ID,
    WEEKDAYS,
    BuildNetwork,
    RequiresSeverity,
    VulnerabilityRating,
    Weekday,
)
from envctl.spec.yamldoc import AtKeyError
from envctl.vocabulary import GATE_KINDS

_P = TypeVar("_P", bound=types.Part)

# The one network a build may ask for, and for what: apt fetching system packages.


class Image(Strict):
    base: ImageRef = Field(description="Base image; pin by digest in production.")
    platform: Platform = Field("linux/amd64", description="Target platform of the image.")
    repository: Annotated[str, AfterValidator(values.image_ref)] | None = Field(
        None, description="Image repository for built images (default envctl/<env>)."
    )
    network: BuildNetwork = Field(
        "none",
        description=(
            "Network for the build. `none` (default): every step is offline; system "
            "packages must already be in the base image. `apt`: envctl's own apt step "
            "(system packages missing from the base) runs with the engine's default "
            "network in a separate layer; the template's steps stay offline. "
            "Recorded in the image's labels."
        ),
    )


IndexName = Annotated[str, AfterValidator(indexes.index_name)]
IndexUrl = Annotated[str, AfterValidator(indexes.index_url)]


class PackageIndex(Strict):
    """A package index (PEP 503 simple API), as uv's `[[tool.uv.index]]`."""

    name: IndexName = Field(
        description="Name used by sources: and in UV_INDEX_<NAME>_USERNAME/_PASSWORD."
    )
    url: IndexUrl = Field(
        description="Simple-API URL, without credentials (they come from the environment)."
    )
    explicit: bool = Field(
        False, description="Only packages routed to it under sources: are fetched from it."
    )
    default: bool = Field(False, description="Replaces PyPI as the index of last resort.")


class Source(Strict):
    """Where one package comes from, as uv's `[tool.uv.sources]`."""

    index: IndexName = Field(description="The name of an index under indexes:.")


Sources = Annotated[dict[str, Source], BeforeValidator(plain.source_keys)]


class EvaluationSet(Strict):
    """A labelled evaluation set the `evaluate` gate sends through the model's serving
    API. It is read where the stage's spec is read (the work tree, or a signed stage's
    trust ref), never at the version's commit: a version cannot change its own exam."""

    file: RelPath | None = Field(
        None,
        description="CSV (with a header) or JSON Lines file, relative to the project root; "
        "keep it outside the model's folder, which is copied into its images.",
    )
    host_file: Annotated[str, AfterValidator(values.host_path)] | None = Field(
        None,
        description="Instead of file: an absolute path on the engine's host, read through "
        "a read-only mount of a container that runs nothing.",
    )
    label: SafeToken = Field(
        "label", description="The column (CSV) or key (JSON Lines) holding the label."
    )
    classification: Classification = Field(
        description="The data's classification: the stage must allow it (data.allowed)."
    )
    sha256: Annotated[str, AfterValidator(values.sha256_hex)] | None = Field(
        None, description="The file's sha256, when pinned: other content is refused."
    )

    @model_validator(mode="after")
    def _one_place(self) -> EvaluationSet:
        if (self.file is None) == (self.host_file is None):
            raise ValueError("give exactly one of file (in the project) and host_file")
        return self


class Data(Strict):
    allowed: list[Classification] = Field(
        default_factory=list, description="Data classifications readable here."
    )
    sources: list[SafeToken] = Field(default_factory=list, description="Allowed data sources.")
    evaluation: dict[
        Annotated[str, AfterValidator(lambda v: values.word(v, "evaluation set name"))],
        EvaluationSet,
    ] = Field(
        default_factory=dict,
        description="Labelled evaluation sets by name, for the evaluate gate.",
    )

    @model_validator(mode="after")
    def _readable_here(self) -> Data:
        for name, held in self.evaluation.items():
            if held.classification not in self.allowed:
                allowed = ", ".join(self.allowed) or "none"
                raise ValueError(
                    f"evaluation.{name}: {held.classification} data is not allowed here "
                    f"(data.allowed: {allowed}); this stage may not read it"
                )
        return self


def _floor(what: str) -> Any:
    return AfterValidator(lambda v: plain.gpu_floor(v, what))


class Gpu(Strict):
    """A stage's GPUs, and what its nodes guarantee (envctl diff and the compatibility
    gate compare them with the CUDA the lock needs)."""

    count: int = Field(ge=0, description="Number of GPUs.")
    vendor: Literal["nvidia", "amd"] = Field("nvidia", description="nvidia or amd.")
    driver: Annotated[str, _floor("driver")] | None = Field(
        None, description='Least NVIDIA driver on the nodes (">=535.104").'
    )
    cuda: Annotated[str, BeforeValidator(plain.cuda_version)] | None = Field(
        None, description='Newest CUDA the nodes run ("12.2"); implies its driver floor.'
    )
    capability: Annotated[str, _floor("capability")] | None = Field(
        None, description='Least compute capability of the GPUs (">=8.0").'
    )

    @model_serializer(mode="wrap")
    def _plain_count(self, handler: SerializerFunctionWrapHandler) -> Any:
        # A bare count is written as the number it was given as, so the canonical
        # form (and every fingerprint) of a spec that says `gpu: 1` stays what it was.
        return self.count if self == Gpu(count=self.count) else handler(self)


def _count_or_object(schema: dict[str, Any]) -> None:
    """Editors accept both spellings: `gpu: 1` and `gpu: {count: 1, driver: ...}`."""
    target = {"$ref": schema.pop("$ref")} if "$ref" in schema else {"allOf": schema.pop("allOf")}
    schema["anyOf"] = [{"type": "integer", "minimum": 0}, target]


class Compute(Strict):
    cpu: Cpu | None = Field(None, description='Cores (4, 0.5 or "500m").')
    memory: Memory | None = Field(None, description='Memory ("8Gi", "512Mi").')
    gpu: Annotated[Gpu, BeforeValidator(plain.gpu_count)] = Field(
        default_factory=lambda: Gpu(count=0),
        description="Number of GPUs, or {count, driver, cuda, capability, vendor}.",
        json_schema_extra=_count_or_object,
    )
    engines: list[Engine] = Field(
        default_factory=list, description="Compute engines available (spark, ray, dask, ...)."
    )


class TestsGate(Strict):
    paths: list[RelPath] = Field(default_factory=lambda: ["tests"])
    packages: Packages = Field(
        default_factory=dict, description="Test-only packages, added in a layer above the image."
    )
    timeout: int = Field(600, gt=0)


class MetricsGate(Strict):
    file: RelPath
    require: dict[str, str]
    baseline: Literal["no_worse"] | None = None

    @field_validator("require")
    @classmethod
    def _thresholds(cls, raw: dict[str, str]) -> dict[str, str]:
        return plain.thresholds(raw)


class EvaluateGate(Strict):
    """Metrics envctl computes itself from the model's answers, served in the stage's
    image, on a labelled evaluation set whose labels the model never sees."""

    data: str = Field(description="The name of an evaluation set under data.evaluation.")
    require: dict[str, str] = Field(
        min_length=1,
        description='Metric -> threshold, as the metrics gate has them ({accuracy: ">= 0.90"}); '
        f"metrics: {', '.join(EVALUATION_METRICS)}.",
    )
    baseline: Literal["no_worse"] | None = None
    path: UrlPath = Field("/predict", description="The serving API's prediction path (POST).")
    batch: int = Field(64, ge=1, le=10_000, description="Inputs per request.")
    inputs: SafeToken = Field(
        "instances", description="Request key holding a batch of inputs (a list)."
    )
    predictions: SafeToken = Field(
        "predictions", description="Answer key holding one prediction per input."
    )
    scores: SafeToken | None = Field(
        None,
        description="Answer key holding one positive-class score per input "
        "(needed by roc_auc and log_loss).",
    )
    positive: str | int = Field(1, description="The positive class (precision, recall, f1).")
    claims: RelPath | None = Field(
        None,
        description="The model's own metrics file (metrics.json), shown beside the measured "
        "values as a claim; it never decides.",
    )
    timeout: int = Field(300, gt=0, description="Seconds for the whole evaluation.")
    requires: RequiresSeverity | None = Field(
        None,
        description="A measured peak above the model's requires: (memory, cpu): "
        "error, warning or off; default error in the last stage, warning before it.",
    )

    @field_validator("require")
    @classmethod
    def _thresholds(cls, raw: dict[str, str]) -> dict[str, str]:
        return plain.evaluation_thresholds(raw)

    @model_validator(mode="after")
    def _scores_named(self) -> EvaluateGate:
        needing = [m for m in self.require if m in SCORE_METRICS]
        if needing and self.scores is None:
            raise ValueError(f"{', '.join(needing)} needs scores: (the answer key of the scores)")
        return self


class HttpGate(Strict):
    path: UrlPath = "/predict"
    method: Literal["GET", "POST"] = "POST"
    request: RelPath | None = Field(None, description="JSON file with the sample request body.")
    expect_status: int = Field(200, ge=100, le=599)
    expect_keys: list[str] = Field(default_factory=list, description="Keys the JSON answer has.")
    timeout: int = Field(60, gt=0)


class ApprovalsGate(Strict):
    required: int = Field(1, ge=1)


class CommandGate(Strict):
    run: list[SafeText] = Field(min_length=1, description="argv run inside the image.")
    timeout: int = Field(600, gt=0)

    @field_validator("run", mode="before")
    @classmethod
    def _split(cls, raw: Any) -> Any:
        return plain.command_argv(raw)


Duration = Annotated[
    int,
    BeforeValidator(values.duration_seconds),
    PlainSerializer(values.format_duration, return_type=str),
    Field(json_schema_extra={"type": "string", "examples": ["24h", "30m", "2d"]}),
]


class VulnerabilityWaiver(Strict):
    id: SafeToken = Field(description="CVE, GHSA, PYSEC or DSA id: any alias of the finding.")
    package: SafeToken | None = Field(None, description="Only this package; omit for any.")
    reason: SafeText = Field(min_length=3)
    expires: date | None = Field(None, description="After this day the waiver fails the gate.")


class VulnerabilitiesGate(Strict):
    """The image's SBOM against the local OSV database (`envctl vulndb update`), offline."""

    fail_on: VulnerabilityRating = Field("high", description="Lowest CVSS rating that blocks.")
    unknown: VulnerabilityRating = Field(
        "high", description="How a finding with no CVSS vector or rating ranks."
    )
    database: str | None = Field(
        None, description="Folder of an imported database; default: envctl's cache."
    )
    max_age: Duration = Field(
        7 * 86400, description="An older database is named in the gate's evidence."
    )
    waivers: list[VulnerabilityWaiver] = Field(default_factory=list)


Rate = Annotated[
    float,
    BeforeValidator(rates.rate_per_second),
    PlainSerializer(rates.format_rate, return_type=str),
    Field(json_schema_extra={"type": ["string", "number"], "examples": ["50/s", "3000/m"]}),
]
Seconds = Annotated[
    float,
    BeforeValidator(rates.seconds),
    PlainSerializer(rates.format_seconds, return_type=str),
    Field(json_schema_extra={"type": ["string", "number"], "examples": ["30s", "2m"]}),
]


class LoadGate(Strict):
    """Serve the model under the stage's resources and hold an open-loop load at a
    constant arrival rate against it, from a calibrated generator outside its budget."""

    path: UrlPath = "/predict"
    method: Literal["GET", "POST"] = "POST"
    request: RelPath | None = Field(None, description="JSON file with the request body sent.")
    expect_status: int = Field(200, ge=100, le=599, description="Any other answer is an error.")
    rate: Rate = Field(description='Constant arrival rate ("50/s", "3000/m").')
    duration: Seconds = Field(description='How long the rate is held ("30s", "2m").')
    slo: dict[str, list[str]] = Field(
        min_length=1,
        description="Metric -> a rule or a list of rules (k6's thresholds): "
        f'{", ".join(LOAD_METRICS)}; absolute ("<= 100", "<= 0.1%") or relative to '
        'the champion\'s recorded load ("<= baseline * 1.2").',
        json_schema_extra={
            "additionalProperties": {
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
            }
        },
    )
    timeout: Seconds = Field(10.0, description="Seconds one request may take: later is an error.")
    ready_timeout: Seconds = Field(60.0, description="Seconds the server has to become healthy.")
    connections: int = Field(256, ge=1, le=10000, description="Most requests in flight at once.")
    calibration_p99_ms: float = Field(
        100.0,
        gt=0,
        description="Most the generator's own p99 against a trivial server may be; "
        "above it (or below 95% of the rate) the gate cannot check (exit 4).",
    )
    requires: RequiresSeverity | None = Field(
        None,
        description="A measured peak above the model's requires: (memory, cpu): "
        "error, warning or off; default error in the last stage, warning before it.",
    )

    @field_validator("slo", mode="before")
    @classmethod
    def _rules(cls, raw: Any) -> Any:
        return plain.slo_rules(raw)

    @model_validator(mode="after")
    def _some_requests(self) -> LoadGate:
        if round(self.rate * self.duration) < 1:
            raise ValueError(
                f"a rate of {self.rate:g}/s for {self.duration:g}s sends no request: "
                "raise the rate or the duration"
            )
        return self


class Gate(Strict):
    tests: TestsGate | None = None
    metrics: MetricsGate | None = None
    http: HttpGate | None = None
    approvals: ApprovalsGate | None = None
    command: CommandGate | None = None
    vulnerabilities: VulnerabilitiesGate | None = None
    load: LoadGate | None = None
    evaluate: EvaluateGate | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Gate:
        kinds = [k for k in GATE_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"each gate has exactly one of: {', '.join(GATE_KINDS)}")
        return self


class Waiver(Strict):
    kind: str = Field(description="Finding kind to waive, e.g. package.version.")
    path: str | None = Field(None, description="Spec path, e.g. packages.numpy; omit for all.")
    reason: SafeText = Field(min_length=3)
    expires: date | None = None


class Window(Strict):
    days: list[Weekday] = Field(
        default_factory=lambda: list(WEEKDAYS), min_length=1, description="Weekdays (mon ... sun)."
    )
    hours: Annotated[str, AfterValidator(lambda v: values.hour_range(v) and v)] = Field(
        "00:00-24:00", description='"HH:MM-HH:MM" in the policy\'s timezone; the end excluded.'
    )


class Freeze(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    start: datetime = Field(alias="from", description="ISO 8601; without offset: in timezone.")
    until: datetime = Field(description="ISO 8601, excluded; without offset: in timezone.")
    reason: SafeText | None = None

    @model_validator(mode="after")
    def _forward(self) -> Freeze:
        if (self.start.tzinfo is None) != (self.until.tzinfo is None):
            raise ValueError("give both from and until with an offset, or neither")
        if self.until <= self.start:
            raise ValueError("a freeze ends (until) after it starts (from)")
        return self


class LiveMetrics(Strict):
    path: UrlPath = Field(
        "/metrics.json", description="Path of a JSON object of metric -> number on the service."
    )
    require: dict[str, str] = Field(
        min_length=1,
        description='Thresholds, absolute ({error_rate: "<= 0.02"}) or relative to the '
        "recorded metrics of the version a rollback would restore "
        '({latency_p95_ms: "<= baseline * 1.10"}).',
    )
    timeout: int = Field(30, gt=0, description="Seconds to wait for the answer.")

    @field_validator("require")
    @classmethod
    def _thresholds(cls, raw: dict[str, str]) -> dict[str, str]:
        return plain.thresholds(raw)


class LiveChecks(Strict):
    """`envctl check-live`: the stage's http gates (and a metrics endpoint) run
    against the service the stage already serves."""

    url: Annotated[str, AfterValidator(values.service_url)] | None = Field(
        None, description="Base URL of the running service; --url overrides it."
    )
    metrics: LiveMetrics | None = Field(
        None, description="A metrics endpoint of the service, and thresholds it must meet."
    )
    rollback: Literal["auto", "manual"] = Field(
        "manual",
        description="On a failed check: auto records a rollback to the previous version; "
        "manual only reports.",
    )


class StagePolicy(Strict):
    """When a version may enter the stage, besides its gates; and how the version
    it serves is checked once it runs (`live`)."""

    soak: Duration | None = Field(
        None, description="Least time the version spent in the previous stage (24h, 2d)."
    )
    auto: bool = Field(
        True, description="Whether envctl advance may promote into the stage unattended."
    )
    timezone: Annotated[str, AfterValidator(values.time_zone)] | None = Field(
        None, description="IANA time zone of windows and freeze times (Europe/Berlin)."
    )
    windows: list[Window] = Field(
        default_factory=list, description="When promotions are allowed; none: any time."
    )
    freeze: list[Freeze] = Field(default_factory=list, description="When they are not.")
    live: LiveChecks | None = Field(
        None, description="Checks of the running service (envctl check-live), and rollback."
    )

    @model_validator(mode="after")
    def _zone_stated(self) -> StagePolicy:
        if (self.windows or self.freeze) and self.timezone is None:
            raise ValueError("windows and freeze need timezone: (an IANA name such as UTC)")
        return self


class Spec(Strict):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="envctl environment",
        json_schema_extra={"$id": SCHEMA_ID},
    )

    name: Annotated[str, AfterValidator(lambda v: values.word(v, "environment name"))]
    version: Annotated[int, BeforeValidator(values.spec_version)] = Field(
        ge=1, description="Bump on every change; `envctl check` enforces it."
    )
    extends: SafeToken | None = Field(None, description="Spec this one inherits from.")
    description: SafeText | None = None
    image: Image
    python: PythonVersion = Field(json_schema_extra={"type": "string", "pattern": r"^3\.\d+"})
    packages: Packages = Field(
        default_factory=dict, description='PEP 508 name -> PEP 440 specifier ("==1.26.4").'
    )
    indexes: list[PackageIndex] = Field(
        default_factory=list,
        description="Package indexes besides (or, with default: true, instead of) PyPI.",
    )
    sources: Sources = Field(
        default_factory=dict,
        description="Package name -> {index: NAME}: where a package is fetched from.",
    )
    system_packages: Annotated[list[AptName], Field(default_factory=list)]
    data: Data = Field(default_factory=lambda: Data())
    compute: Compute = Field(default_factory=lambda: Compute())
    env: dict[str, str] = Field(default_factory=dict, description="Environment variables.")
    runner: Annotated[str, AfterValidator(values.engine_url)] | None = Field(
        None,
        description="The Docker Engine this stage's gates run on (unix://, tcp://, ssh://); "
        "default: the one envctl uses (DOCKER_HOST).",
    )
    gates: list[Gate] = Field(default_factory=list, description="Gates to ENTER this stage.")
    waivers: list[Waiver] = Field(default_factory=list)
    policy: StagePolicy | None = Field(
        None,
        description="When a version may enter this stage (soak, windows, freeze, auto); "
        "live checks of what it serves.",
    )

    @field_validator("env", mode="before")
    @classmethod
    def _env(cls, raw: Any) -> Any:
        return plain.env_values(raw)

    @model_validator(mode="after")
    def _evaluation_declared(self) -> Spec:
        for index, gate in enumerate(self.gates):
            if gate.evaluate is not None and gate.evaluate.data not in self.data.evaluation:
                declared = ", ".join(self.data.evaluation) or "none declared"
                raise AtKeyError(
                    f"{gate.evaluate.data!r} is not a set under data.evaluation ({declared}): "
                    "name one of those, or declare it there",
                    ("gates", index, "evaluate", "data"),
                )
        return self

    @model_validator(mode="after")
    def _routing(self) -> Spec:
        names = [index.name for index in self.indexes]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"indexes: {', '.join(twice)} named more than once")
        defaults = [index.name for index in self.indexes if index.default]
        if len(defaults) > 1:
            raise ValueError(f"indexes: only one default index, not {', '.join(defaults)}")
        declared = {values.package_name(key) for key in self.packages}
        for package, source in self.sources.items():
            if source.index not in names:
                known = ", ".join(names) or "none declared"
                raise ValueError(
                    f"sources.{package}: no index named {source.index!r} under indexes: ({known})"
                )
            if package not in declared:
                raise ValueError(f"sources.{package}: {package} is not under packages:")
        return self

    def canonical(self) -> dict[str, Any]:
        """The resolved spec as plain data in canonical form (no `extends`)."""
        data = self.model_dump(mode="json", by_alias=True, exclude={"extends"}, exclude_none=True)
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
        return data

    def fingerprint(self) -> str:
        blob = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


def json_schema() -> dict[str, Any]:
    schema = Spec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def validated(kind: type[_P], data: Any) -> _P:
    """`data` validated by the model of `kind`'s name and made the plain value `kind`
    (tests and fixtures write a part of a spec as a dict)."""
    model: type[Strict] = globals()[kind.__name__]
    value: _P = types.from_model(model.model_validate(data))
    return value
