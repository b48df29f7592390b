"""The diff vocabulary: finding kinds and severities, `Finding`, `WaiverRule` and the
`Side` each operand of a comparison is reduced to."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from envctl.diff.positions import Pos, canonical_path, dotted_positions
from envctl.gpu import Stack
from envctl.output.plain_diff import DiffFinding, Location
from envctl.spec.indexes import PYPI_URL
from envctl.vocabulary import SEVERITIES, Severity

if TYPE_CHECKING:
    from envctl.spec.loading import Environment
    from envctl.spec.types import Spec

RANK: dict[str, int] = {severity: rank for rank, severity in enumerate(reversed(SEVERITIES))}

AREAS = (
    "python", "os/image", "packages", "system packages", "data", "compute", "service level",
    "policy",
)  # fmt: skip

# Every finding kind and its area. Kinds are stable: they appear in JSON output,
# in `waivers:` and in envctl.yaml `policy.severity`.
KINDS: dict[str, str] = {
    "python.version": "python",
    "image.platform": "os/image",
    "image.base": "os/image",
    "image.digest": "os/image",
    "image.unpinned": "os/image",
    "image.network": "os/image",
    "os.release": "os/image",
    "package.missing": "packages",
    "package.extra": "packages",
    "package.version": "packages",
    "package.conflict": "packages",
    "package.specifier": "packages",
    "package.extras": "packages",
    "package.index": "packages",
    "system_package.missing": "system packages",
    "system_package.extra": "system packages",
    "system_package.version": "system packages",
    "data.classification": "data",
    "data.source": "data",
    "data.evaluation": "data",
    "compute.engine": "compute",
    "compute.gpu": "compute",
    "compute.cpu": "compute",
    "compute.memory": "compute",
    "compute.smaller": "compute",
    "compute.runner": "compute",
    "gpu.build": "compute",
    "gpu.cuda": "compute",
    "gpu.driver": "compute",
    "gpu.capability": "compute",
    "gpu.libraries": "compute",
    "load.missing": "service level",
    "load.rate": "service level",
    "load.duration": "service level",
    "load.slo": "service level",
    "policy.changed": "policy",
}
FAMILIES = tuple(sorted({k.split(".", 1)[0] for k in KINDS}))


@dataclass(frozen=True)
class Finding:
    """One mismatch. `left`/`right` are each side's value (None: absent there)."""

    kind: str
    severity: Severity
    path: str
    left: str | None
    right: str | None
    message: str
    left_pos: Pos | None = None
    right_pos: Pos | None = None
    waived: str | None = None  # the waiver's reason when a live waiver covers it
    waiver_expired: date | None = None

    @property
    def area(self) -> str:
        return KINDS.get(self.kind, "other")

    def blocks(self, threshold: str) -> bool:
        """Does this finding fail a run with `--fail-on threshold`?"""
        return self.waived is None and threshold in RANK and RANK[self.severity] >= RANK[threshold]

    def to_json(self) -> dict[str, Any]:
        return self.item().to_json()

    def item(self) -> DiffFinding:
        """This finding as it appears in JSON output."""
        return DiffFinding(
            kind=self.kind,
            area=self.area,
            severity=self.severity,
            path=self.path,
            left=self.left,
            right=self.right,
            message=self.message,
            left_location=_location(self.left_pos),
            right_location=_location(self.right_pos),
            waived=self.waived is not None,
            waiver_reason=self.waived,
            waiver_expired=self.waiver_expired,
        )


def _location(pos: Pos | None) -> Location | None:
    return Location(file=pos[0], line=pos[1]) if pos else None


@dataclass(frozen=True)
class WaiverRule:
    kind: str  # a kind, or a family such as "package"
    path: str | None
    reason: str
    expires: date | None = None

    def covers(self, finding: Finding) -> bool:
        kind_ok = finding.kind == self.kind or finding.kind.startswith(self.kind + ".")
        path_ok = (
            self.path is None
            or finding.path == self.path
            or finding.path.startswith(self.path + ".")
        )
        return kind_ok and path_ok


@dataclass(frozen=True)
class EvaluationFacts:
    """An evaluation set as a spec declares it; two specs that say the same file,
    label, classification and pin measure on the same data."""

    file: str
    label: str
    classification: str
    sha256: str | None = None

    def shown(self) -> str:
        pin = f" sha256:{self.sha256[:12]}" if self.sha256 else " (no sha256 pinned)"
        return f"{self.file}{pin}, label {self.label}, {self.classification}"


@dataclass(frozen=True)
class DataFacts:
    allowed: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    # The sets the spec's evaluate gates measure on, by name; empty: no evaluate gate.
    evaluated: Mapping[str, EvaluationFacts] = field(default_factory=dict)


@dataclass(frozen=True)
class ComputeFacts:
    cpu: float | None = None
    memory: int | None = None
    gpu: int = 0
    engines: tuple[str, ...] = ()
    runner: str | None = None  # the engine its gates run on; None: envctl's own


@dataclass(frozen=True)
class GpuFacts:
    """A side's GPUs: declared by a spec (floors), or `measured` on a host (exact)."""

    count: int = 0
    vendor: str = "nvidia"
    driver: str | None = None  # least driver version, without ">="
    cuda: str | None = None
    capability: str | None = None  # least compute capability, without ">="
    measured: bool = False


@dataclass(frozen=True)
class LoadFacts:
    """One load gate of a spec: what it asks, and where (its index in `gates:`)."""

    index: int
    path: str
    rate: float
    duration: float
    # metric -> (op, threshold) of each absolute rule
    bounds: Mapping[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Side:
    """What one operand says. `None` means unknown (a probe cannot see data access),
    which is never a finding; an empty value means "none"."""

    label: str
    version: int | None = None
    fingerprint: str | None = None
    file: str | None = None
    python: str | None = None
    image: str | None = None
    platform: str | None = None
    os: str | None = None
    packages: Mapping[str, str] = field(default_factory=dict)  # canonical key -> specifier
    installed: Mapping[str, str] | None = None  # reality: canonical name -> version
    locked: Mapping[str, str] | None = None  # the spec's lock: name -> exact version
    # package name -> the index URL it is routed to; None: unknown (reality)
    indexes: Mapping[str, str] | None = field(default_factory=dict)
    default_index: str = PYPI_URL  # where unrouted packages come from
    system_packages: tuple[str, ...] | None = ()
    build_network: str | None = None  # image.network; None: unknown (reality)
    data: DataFacts | None = None
    compute: ComputeFacts | None = None
    gpu: GpuFacts | None = None  # None: unknown (an image cannot show its host's GPUs)
    gpu_stack: Stack | None = None  # the CUDA its lock (or installation) needs; None: unknown
    # `policy:` field -> its value as compact JSON; None: no policy to speak of (reality)
    policy: Mapping[str, str] | None = None
    waivers: tuple[WaiverRule, ...] = ()
    positions: Mapping[str, Pos] = field(default_factory=dict, compare=False)
    load: tuple[LoadFacts, ...] | None = None  # its load gates; None: unknown (reality)
    gated: bool = False  # whether it declares gates at all

    @property
    def is_reality(self) -> bool:
        return self.installed is not None

    @classmethod
    def from_environment(
        cls,
        env: Environment,
        locked: Mapping[str, str] | None = None,
        gpu_stack: Stack | None = None,
    ) -> Side:
        spec = env.spec
        return cls(
            label=env.label,
            version=spec.version,
            fingerprint=env.fingerprint,
            file=env.source,
            python=spec.python,
            image=spec.image.base,
            platform=spec.image.platform,
            packages=spec.packages,
            locked=locked,
            indexes=_routes(spec),
            default_index=_default_index(spec),
            system_packages=tuple(spec.system_packages),
            build_network=spec.image.network,
            data=DataFacts(tuple(spec.data.allowed), tuple(spec.data.sources), _evaluated(spec)),
            compute=ComputeFacts(
                spec.compute.cpu,
                spec.compute.memory,
                spec.compute.gpu.count,
                tuple(spec.compute.engines),
                spec.runner,
            ),
            gpu=_gpu_facts(spec),
            gpu_stack=gpu_stack,
            policy=_policy_facts(spec),
            waivers=tuple(
                WaiverRule(w.kind, canonical_path(w.path), w.reason, w.expires)
                for w in spec.waivers
            ),
            positions=dotted_positions(env),
            load=_load_facts(spec),
            gated=bool(spec.gates),
        )

    def index_for(self, package: str) -> str:
        """The index a package (distribution name) is fetched from here."""
        return (self.indexes or {}).get(package, self.default_index)

    def locate(self, path: str, *, exact: bool = True) -> Pos | None:
        while True:
            pos = self.positions.get(path)
            if pos is not None or exact or "." not in path:
                return pos
            path = path.rsplit(".", 1)[0]


def _evaluated(spec: Spec) -> dict[str, EvaluationFacts]:
    used = [g.evaluate.data for g in spec.gates if g.evaluate is not None]
    declared = spec.data.evaluation
    return {
        name: EvaluationFacts(
            declared[name].where,
            declared[name].label,
            declared[name].classification,
            declared[name].sha256,
        )
        for name in used
    }


def _routes(spec: Spec) -> dict[str, str]:
    by_name = {index.name: index.url for index in spec.indexes}
    return {package: by_name[source.index] for package, source in spec.sources.items()}


def _default_index(spec: Spec) -> str:
    """Where an unrouted package is looked for: the non-explicit indexes in
    order (uv's first-index strategy), then the default (PyPI unless replaced)."""
    default = next((i.url for i in spec.indexes if i.default), PYPI_URL)
    extra = [i.url for i in spec.indexes if not i.explicit and not i.default]
    return " then ".join([*extra, default])


def _load_facts(spec: Spec) -> tuple[LoadFacts, ...]:
    from envctl.spec.rules import parse_rule

    found = []
    for index, gate in enumerate(spec.gates):
        if gate.load is None:
            continue
        bounds = {
            metric: tuple(
                (rule.op, rule.threshold)
                for rule in map(parse_rule, rules)
                if rule.threshold is not None
            )
            for metric, rules in gate.load.slo.items()
        }
        found.append(LoadFacts(index, gate.load.path, gate.load.rate, gate.load.duration, bounds))
    return tuple(found)


def _gpu_facts(spec: Spec) -> GpuFacts:
    gpu = spec.compute.gpu
    return GpuFacts(
        gpu.count,
        gpu.vendor,
        gpu.driver.removeprefix(">=") if gpu.driver else None,
        gpu.cuda,
        gpu.capability.removeprefix(">=") if gpu.capability else None,
    )


def _policy_facts(spec: Spec) -> dict[str, str]:
    """The fields a stage's policy sets (defaults left out), each as compact JSON."""
    if spec.policy is None:
        return {}
    data = spec.policy.to_json(exclude_defaults=True)
    return {
        key: value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        for key, value in data.items()
    }


def make_finding(
    left: Side,
    right: Side,
    kind: str,
    severity: Severity,
    path: str,
    lval: str | None,
    rval: str | None,
    message: str,
) -> Finding:
    """A raw finding (default severity, no waiver), located in both sides' files.
    Every area's rules build their findings with it."""
    lpos, rpos = left.locate(path), right.locate(path)
    if lpos is None and rpos is None:  # absent on both: point at the enclosing key
        rpos = right.locate(path, exact=False)
        lpos = None if rpos else left.locate(path, exact=False)
    return Finding(kind, severity, path, lval, rval, message, lpos, rpos)
