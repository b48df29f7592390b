"""Diff: every mismatch between two environments, or between a spec and reality.

Pure core: a `Side` is what one operand says about an environment (a spec, or
what a probe found installed), `compare(left, right)` lists the `Finding`s.
Direction matters: `left` is where a model comes from (dev), `right` is where
it goes (prod), so "dev has it, prod does not" is graver than the reverse.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Literal

from envctl import values

if TYPE_CHECKING:
    from packaging.version import Version

    from envctl.project import Environment

Severity = Literal["error", "warning", "info"]
RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2}
Pos = tuple[str, int]  # file, line

AREAS = ("python", "os/image", "packages", "system packages", "data", "compute")

# Every finding kind and its area. Kinds are stable: they appear in JSON output,
# in `waivers:` and in envctl.yaml `policy.severity`.
KINDS: dict[str, str] = {
    "python.version": "python",
    "image.platform": "os/image",
    "image.base": "os/image",
    "image.digest": "os/image",
    "image.unpinned": "os/image",
    "os.release": "os/image",
    "package.missing": "packages",
    "package.extra": "packages",
    "package.version": "packages",
    "package.conflict": "packages",
    "package.specifier": "packages",
    "package.extras": "packages",
    "system_package.missing": "system packages",
    "system_package.extra": "system packages",
    "system_package.version": "system packages",
    "data.classification": "data",
    "data.source": "data",
    "compute.engine": "compute",
    "compute.gpu": "compute",
    "compute.cpu": "compute",
    "compute.memory": "compute",
}
FAMILIES = tuple(sorted({k.split(".", 1)[0] for k in KINDS}))

# Installer tooling lives in every venv and is never part of a lock.
_TOOLING = frozenset({"pip", "setuptools", "wheel"})


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
        return {
            "kind": self.kind,
            "area": self.area,
            "severity": self.severity,
            "path": self.path,
            "left": self.left,
            "right": self.right,
            "message": self.message,
            "left_location": _location_json(self.left_pos),
            "right_location": _location_json(self.right_pos),
            "waived": self.waived is not None,
            "waiver_reason": self.waived,
            "waiver_expired": self.waiver_expired.isoformat() if self.waiver_expired else None,
        }


def _location_json(pos: Pos | None) -> dict[str, Any] | None:
    return {"file": pos[0], "line": pos[1]} if pos else None


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
class DataFacts:
    allowed: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class ComputeFacts:
    cpu: float | None = None
    memory: int | None = None
    gpu: int = 0
    engines: tuple[str, ...] = ()


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
    system_packages: tuple[str, ...] | None = ()
    data: DataFacts | None = None
    compute: ComputeFacts | None = None
    waivers: tuple[WaiverRule, ...] = ()
    positions: Mapping[str, Pos] = field(default_factory=dict, compare=False)

    @property
    def is_reality(self) -> bool:
        return self.installed is not None

    @classmethod
    def from_environment(cls, env: Environment, locked: Mapping[str, str] | None = None) -> Side:
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
            system_packages=tuple(spec.system_packages),
            data=DataFacts(tuple(spec.data.allowed), tuple(spec.data.sources)),
            compute=ComputeFacts(
                spec.compute.cpu, spec.compute.memory, spec.compute.gpu, tuple(spec.compute.engines)
            ),
            waivers=tuple(
                WaiverRule(w.kind, _canonical_path(w.path), w.reason, w.expires)
                for w in spec.waivers
            ),
            positions=_dotted_positions(env),
        )

    def locate(self, path: str, *, exact: bool = True) -> Pos | None:
        while True:
            pos = self.positions.get(path)
            if pos is not None or exact or "." not in path:
                return pos
            path = path.rsplit(".", 1)[0]


_LISTS_BY_VALUE = {
    ("system_packages",),
    ("data", "allowed"),
    ("data", "sources"),
    ("compute", "engines"),
}


def _dotted_positions(env: Environment) -> dict[str, Pos]:
    """yamldoc paths -> dotted finding paths. Package keys become PEP 503 names and
    list items are addressed by value (`data.allowed.research`), as findings are."""
    spec = env.spec
    lists: dict[tuple[str, ...], list[str]] = {
        ("system_packages",): [
            values.package_name(p.split("=", 1)[0]) for p in spec.system_packages
        ],
        ("data", "allowed"): list(spec.data.allowed),
        ("data", "sources"): list(spec.data.sources),
        ("compute", "engines"): list(spec.compute.engines),
    }
    out: dict[str, Pos] = {}
    for path, (file, line, _col) in env.positions.items():
        key = _dotted(path, spec.packages, lists)
        if key is not None:
            out[key] = (file, line)
    return out


def _dotted(
    path: tuple[str | int, ...],
    packages: Mapping[str, str],
    lists: Mapping[tuple[str, ...], list[str]],
) -> str | None:
    if len(path) == 2 and path[0] == "packages":
        raw = str(path[1])
        if raw in packages and "[" not in raw:  # the common case: already canonical
            return "packages." + raw
        name = raw if raw in packages else _package_name_or_none(raw)
        return f"packages.{values.package_name(name)}" if name else None
    if path and isinstance(path[-1], int):
        items = lists.get(tuple(str(p) for p in path[:-1]))
        if items is None or path[-1] >= len(items):
            return None
        return ".".join([*(str(p) for p in path[:-1]), items[path[-1]]])
    return ".".join(str(p) for p in path) or None


def _package_name_or_none(raw: str) -> str | None:
    try:
        return values.package_key(raw)
    except ValueError:
        return None


def _canonical_path(path: str | None) -> str | None:
    """`packages.Scikit_Learn` waives the same finding as `packages.scikit-learn`."""
    if path is None or not path.startswith("packages."):
        return path
    name = _package_name_or_none(path.removeprefix("packages."))
    return f"packages.{values.package_name(name)}" if name else path


# ---- compare ----------------------------------------------------------------


def compare(
    left: Side,
    right: Side,
    *,
    severity_overrides: Mapping[str, str] | None = None,
    today: date | None = None,
) -> list[Finding]:
    """Every finding between `left` (source) and `right` (target), ordered by area
    then path, with severity overrides and both sides' waivers applied."""
    raw = [
        *_python(left, right),
        *_image(left, right),
        *_packages(left, right),
        *_system(left, right),
        *_data(left, right),
        *_compute(left, right),
    ]
    rules = left.waivers + right.waivers
    overrides = severity_overrides or {}
    day = today or date.today()
    settled = [_settle(f, overrides, rules, day) for f in raw]
    order = {area: i for i, area in enumerate(AREAS)}
    return sorted(settled, key=lambda f: (order.get(f.area, len(order)), f.path, f.kind))


def _settle(
    finding: Finding, overrides: Mapping[str, str], rules: Iterable[WaiverRule], today: date
) -> Finding:
    severity = severity_for(finding.kind, overrides) or finding.severity
    finding = replace(finding, severity=severity)
    rule = next((r for r in rules if r.covers(finding)), None)
    if rule is None:
        return finding
    if rule.expires is not None and rule.expires < today:
        message = (
            f"{finding.message.rstrip('.')}; its waiver expired on {rule.expires.isoformat()}."
        )
        return replace(finding, message=message, waiver_expired=rule.expires)
    return replace(finding, waived=rule.reason)


def severity_for(kind: str, overrides: Mapping[str, str]) -> Severity | None:
    """The override for `kind`: its own entry first, then its family's."""
    for key in (kind, kind.split(".", 1)[0]):
        value = overrides.get(key)
        if value in RANK:
            return value  # type: ignore[return-value]  # narrowed by the RANK check
    return None


def unknown_kind(name: str) -> str | None:
    """None when `name` is a kind or family; else a message with a did-you-mean."""
    if name in KINDS or name in FAMILIES:
        return None
    near = difflib.get_close_matches(name, [*KINDS, *FAMILIES], n=1, cutoff=0.6)
    hint = f"did you mean {near[0]!r}?" if near else f"kinds are: {', '.join(KINDS)}"
    return f"unknown finding kind {name!r}; {hint}"


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    out = {"error": 0, "warning": 0, "info": 0, "waived": 0}
    for f in findings:
        out["waived" if f.waived is not None else f.severity] += 1
    return out


def iter_blocking(findings: Iterable[Finding], threshold: str) -> Iterator[Finding]:
    return (f for f in findings if f.blocks(threshold))


# ---- helpers shared with the rules -----------------------------------------


def grade(a: Version, b: Version) -> str:
    """ "major", "minor" or "patch": the most significant release part that differs."""
    ra = (*a.release, 0, 0, 0)
    rb = (*b.release, 0, 0, 0)
    if a.epoch != b.epoch or ra[0] != rb[0]:
        return "major"
    return "minor" if ra[1] != rb[1] else "patch"


def image_parts(ref: str) -> tuple[str, str | None]:
    """`docker.io/library/python:3.11@sha256:..` -> ("python:3.11", "sha256:..")."""
    name, _, digest = ref.partition("@")
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    if ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name, digest or None


def source_covered(source: str, patterns: Iterable[str]) -> bool:
    """Is `source` (a glob) allowed by any of `patterns`?"""
    return any(source == p or fnmatchcase(source, p) for p in patterns)


# ---- rules ------------------------------------------------------------------
# Each rule yields raw findings (default severity, no waivers) for one area.

_WHY = {
    "major": "a major version apart, so APIs and results can differ",
    "minor": "a minor version apart, so defaults and behaviour may differ",
    "patch": "a patch apart, usually compatible but not what was tested",
}


def _make(
    left: Side,
    right: Side,
    kind: str,
    severity: Severity,
    path: str,
    lval: str | None,
    rval: str | None,
    message: str,
) -> Finding:
    lpos, rpos = left.locate(path), right.locate(path)
    if lpos is None and rpos is None:  # absent on both: point at the enclosing key
        rpos = right.locate(path, exact=False)
        lpos = None if rpos else left.locate(path, exact=False)
    return Finding(kind, severity, path, lval, rval, message, lpos, rpos)


def _python(left: Side, right: Side) -> Iterator[Finding]:
    a, b = left.python, right.python
    if not a or not b:
        return
    pa, pb = a.split("."), b.split(".")
    if [int(x) for x in pa[:2]] != [int(x) for x in pb[:2]]:
        yield _make(
            left,
            right,
            "python.version",
            "error",
            "python",
            a,
            b,
            f"{left.label} runs Python {a} but {right.label} runs Python {b}: "
            "code, pickled models and compiled packages may not carry over.",
        )
    elif len(pa) > 2 and len(pb) > 2 and int(pa[2]) != int(pb[2]):
        yield _make(
            left,
            right,
            "python.version",
            "warning",
            "python",
            a,
            b,
            f"{left.label} runs Python {a} but {right.label} runs Python {b}: only the "
            "patch release differs, usually safe but not what was tested.",
        )


def _image(left: Side, right: Side) -> Iterator[Finding]:
    if left.platform and right.platform and left.platform != right.platform:
        yield _make(
            left,
            right,
            "image.platform",
            "error",
            "image.platform",
            left.platform,
            right.platform,
            f"{left.label} targets {left.platform} but {right.label} "
            f"targets {right.platform}: compiled packages built for one do not run on "
            "the other.",
        )
    if left.image and right.image:
        yield from _base_image(left, right, left.image, right.image)
    if left.os and right.os and left.os != right.os:
        yield _make(
            left,
            right,
            "os.release",
            "warning",
            "os",
            left.os,
            right.os,
            f"{left.label} runs {left.os} but {right.label} runs {right.os}: system "
            "libraries may differ.",
        )


def _base_image(left: Side, right: Side, lref: str, rref: str) -> Iterator[Finding]:
    (lname, ldigest), (rname, rdigest) = image_parts(lref), image_parts(rref)
    path = "image.base"
    if lname != rname:
        yield _make(
            left,
            right,
            "image.base",
            "warning",
            path,
            lref,
            rref,
            f"{left.label} builds on {lname} but {right.label} on {rname}: the OS and "
            "system libraries may differ.",
        )
    elif ldigest and rdigest and ldigest != rdigest:
        yield _make(
            left,
            right,
            "image.digest",
            "warning",
            path,
            lref,
            rref,
            f"{left.label} and {right.label} both use {lname} but pin different "
            "digests: they are different builds of it.",
        )
    elif bool(ldigest) != bool(rdigest):
        loose, pinned, digest = (left, right, rdigest) if rdigest else (right, left, ldigest)
        yield _make(
            left,
            right,
            "image.unpinned",
            "warning",
            path,
            lref,
            rref,
            f"{loose.label} uses the tag {lname} without a digest while {pinned.label} "
            f"pins {str(digest)[:19]}…: the tag can move, so {loose.label} may run a "
            "different build.",
        )


def _packages(left: Side, right: Side) -> Iterator[Finding]:
    if left.installed is not None and right.installed is not None:
        yield from _declared(left, right, _as_pins(left.installed), _as_pins(right.installed))
    elif right.installed is not None:
        yield from _installed(left, right, spec_is_left=True)
    elif left.installed is not None:
        yield from _installed(right, left, spec_is_left=False)
    else:
        yield from _declared(left, right, left.packages, right.packages)


def _as_pins(installed: Mapping[str, str]) -> dict[str, str]:
    return {name: f"=={version}" for name, version in installed.items()}


def _show(spec: str) -> str:
    return "any version" if spec == "*" else spec


def _by_distribution(packages: Mapping[str, str]) -> tuple[Mapping[str, str], dict[str, str]]:
    """Key by distribution name; `scikit-learn[alldeps]` is scikit-learn with extras.
    Returns (name -> specifier, name -> extras) and skips the work when no key has extras."""
    if not any("[" in key for key in packages):
        return packages, {}
    specs: dict[str, str] = {}
    extras: dict[str, str] = {}
    for key, spec in packages.items():
        name, _, rest = key.partition("[")
        if rest:
            extras[name] = ",".join(
                sorted({*extras.get(name, "").split(","), *rest.rstrip("]").split(",")} - {""})
            )
        previous = specs.get(name)
        specs[name] = (
            spec if previous in (None, "*") else (previous if spec == "*" else f"{previous},{spec}")
        )
    return specs, extras


def _declared(
    left: Side, right: Side, lpackages: Mapping[str, str], rpackages: Mapping[str, str]
) -> Iterator[Finding]:
    lspecs, lextras = _by_distribution(lpackages)
    rspecs, rextras = _by_distribution(rpackages)
    lname, rname = left.label, right.label
    for name, a in lspecs.items():
        b = rspecs.get(name)
        if b is None:
            yield _make(
                left,
                right,
                "package.missing",
                "error",
                f"packages.{name}",
                a,
                None,
                f"{name} ({_show(a)}) is in {lname} but not in {rname}: code that "
                f"imports it will fail in {rname}.",
            )
        elif a != b:  # the fast path: most packages are written identically on both sides
            yield from _pair(left, right, name, a, b)
    for name, b in rspecs.items():
        if name not in lspecs:
            yield _make(
                left,
                right,
                "package.extra",
                "info",
                f"packages.{name}",
                None,
                b,
                f"{name} ({_show(b)}) is in {rname} but not in {lname}: {rname} runs "
                f"with a package {lname} never tested with.",
            )
    if lextras or rextras:
        yield from _extras(left, right, lextras, rextras, rspecs.keys() & lspecs.keys())


def _extras(
    left: Side,
    right: Side,
    lextras: Mapping[str, str],
    rextras: Mapping[str, str],
    common: Iterable[str],
) -> Iterator[Finding]:
    for name in common:
        a, b = lextras.get(name, ""), rextras.get(name, "")
        if a != b:
            yield _make(
                left,
                right,
                "package.extras",
                "info",
                f"packages.{name}",
                f"[{a}]",
                f"[{b}]",
                f"{name} is installed with extras [{a}] in "
                f"{left.label} but [{b}] in {right.label}: optional features differ.",
            )


def _pair(left: Side, right: Side, name: str, a: str, b: str) -> Iterator[Finding]:
    pa, pb = values.pinned_version(a), values.pinned_version(b)
    if pa is not None and pb is not None:
        yield from _pins(left, right, name, a, b, pa, pb)
    elif pa is not None:
        yield from _pin_vs_range(left, right, name, a, b, pinned_left=True)
    elif pb is not None:
        yield from _pin_vs_range(left, right, name, a, b, pinned_left=False)
    elif _satisfiable(a, b):
        yield _make(
            left,
            right,
            "package.specifier",
            "info",
            f"packages.{name}",
            a,
            b,
            f"{name} may be any version matching {_show(a)} in {left.label} but "
            f"{_show(b)} in {right.label}: they may install different versions.",
        )
    else:
        yield _make(
            left,
            right,
            "package.conflict",
            "error",
            f"packages.{name}",
            a,
            b,
            f"no version of {name} satisfies both {left.label} ({a}) and "
            f"{right.label} ({b}): they cannot run the same version.",
        )


def _pins(
    left: Side, right: Side, name: str, a: str, b: str, pa: str, pb: str
) -> Iterator[Finding]:
    va, vb = _version(pa), _version(pb)
    if va is not None and vb is not None and va == vb:
        return  # `==1.26` and `==1.26.0` are the same version
    how = grade(va, vb) if va is not None and vb is not None else "patch"
    yield _make(
        left,
        right,
        "package.version",
        "error" if how == "major" else "warning",
        f"packages.{name}",
        a,
        b,
        f"{name} is {pa} in {left.label} but {pb} in {right.label}: {_WHY[how]}.",
    )


def _pin_vs_range(
    left: Side, right: Side, name: str, a: str, b: str, *, pinned_left: bool
) -> Iterator[Finding]:
    pin_side, range_side = (left, right) if pinned_left else (right, left)
    pin_spec, range_spec = (a, b) if pinned_left else (b, a)
    pin = pin_spec.lstrip("=")
    if _allows(range_spec, pin):
        yield _make(
            left,
            right,
            "package.specifier",
            "info",
            f"packages.{name}",
            a,
            b,
            f"{range_side.label} accepts {name} {_show(range_spec)} while "
            f"{pin_side.label} pins {pin}: {range_side.label} may run a different "
            "version.",
        )
    else:
        yield _make(
            left,
            right,
            "package.conflict",
            "error",
            f"packages.{name}",
            a,
            b,
            f"{pin_side.label} pins {name} {pin}, which {range_side.label}'s "
            f"{range_spec} does not allow: the two cannot run the same version.",
        )


def _installed(spec: Side, real: Side, *, spec_is_left: bool) -> Iterator[Finding]:
    """A spec's packages (and lock) against what a probe found installed."""
    installed = real.installed or {}
    wanted, _ = _by_distribution(spec.packages)
    left, right = (spec, real) if spec_is_left else (real, spec)
    reported: set[str] = set()
    for name, want in wanted.items():
        finding = _check_installed(left, right, spec, real, name, want, installed.get(name))
        if finding is not None:
            reported.add(name)
            yield finding
    locked = spec.locked or {}
    for name, version in locked.items():
        if name in reported or values.pinned_version(wanted.get(name, "")) is not None:
            continue
        finding = _check_installed(
            left,
            right,
            spec,
            real,
            name,
            f"=={version}",
            installed.get(name),
            what=f"{spec.label}'s lock",
        )
        if finding is not None:
            yield finding
    if locked:
        yield from _unlocked(left, right, spec, real, installed, locked, wanted)


def _check_installed(
    left: Side,
    right: Side,
    spec: Side,
    real: Side,
    name: str,
    want: str,
    have: str | None,
    what: str | None = None,
) -> Finding | None:
    what = what or spec.label
    path = f"packages.{name}"
    lv, rv = (want, have) if left is spec else (have, want)
    if have is None:
        return _make(
            left,
            right,
            "package.missing",
            "error",
            path,
            lv,
            rv,
            f"{what} requires {name} {_show(want)} but it is not installed in {real.label}.",
        )
    pin = values.pinned_version(want)
    if pin is not None:
        vpin, vhave = _version(pin), _version(have)
        if (vpin == vhave) if vpin is not None and vhave is not None else pin == have:
            return None
        how = grade(vpin, vhave) if vpin is not None and vhave is not None else "patch"
        return _make(
            left,
            right,
            "package.version",
            "error" if how == "major" else "warning",
            path,
            lv,
            rv,
            f"{what} pins {name} {pin} but {real.label} has {have} installed: {_WHY[how]}.",
        )
    if _allows(want, have):
        return None
    return _make(
        left,
        right,
        "package.conflict",
        "error",
        path,
        lv,
        rv,
        f"{real.label} has {name} {have} installed, which {what}'s {want} does not allow.",
    )


def _unlocked(
    left: Side,
    right: Side,
    spec: Side,
    real: Side,
    installed: Mapping[str, str],
    locked: Mapping[str, str],
    wanted: Mapping[str, str],
) -> Iterator[Finding]:
    for name, have in installed.items():
        if name in locked or name in wanted or name in _TOOLING:
            continue
        lv, rv = (None, have) if left is spec else (have, None)
        yield _make(
            left,
            right,
            "package.extra",
            "info",
            f"packages.{name}",
            lv,
            rv,
            f"{name} {have} is installed in {real.label} but is not in {spec.label}'s lock.",
        )


def _version(text: str) -> Version | None:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(text)
    except InvalidVersion:
        return None


def _allows(spec: str, version: str) -> bool:
    """Does specifier `spec` admit `version`? Pre-releases count: a pin names one."""
    if spec == "*":
        return True
    from packaging.specifiers import SpecifierSet

    parsed = _version(version)
    return parsed is not None and SpecifierSet(spec).contains(parsed, prereleases=True)


def _satisfiable(*specs: str) -> bool:
    """Can one version satisfy every specifier set? Intersects them as intervals
    (PEP 440 versions are dense, so a non-empty open interval holds a version)."""
    from packaging.specifiers import SpecifierSet

    lo: tuple[Version, bool] | None = None
    hi: tuple[Version, bool] | None = None
    excluded: list[Version] = []
    for text in specs:
        for item in SpecifierSet("" if text == "*" else text):
            for bound, version, inclusive in _bounds(item.operator, item.version):
                if bound == "ne":
                    excluded.append(version)
                elif bound == "lo" and (lo is None or _tighter_lo((version, inclusive), lo)):
                    lo = (version, inclusive)
                elif bound == "hi" and (hi is None or _tighter_hi((version, inclusive), hi)):
                    hi = (version, inclusive)
    if lo is None or hi is None or lo[0] < hi[0]:
        return True
    return lo[0] == hi[0] and lo[1] and hi[1] and lo[0] not in excluded


def _tighter_lo(new: tuple[Version, bool], old: tuple[Version, bool]) -> bool:
    # at the same version an exclusive bound (`>`) is the tighter one
    return (new[0], not new[1]) > (old[0], not old[1])


def _tighter_hi(new: tuple[Version, bool], old: tuple[Version, bool]) -> bool:
    return (new[0], new[1]) < (old[0], old[1])


def _bounds(op: str, text: str) -> list[tuple[str, Version, bool]]:
    if text.endswith(".*"):
        prefix = _version(text[:-2])
        if prefix is None or op != "==":
            return []  # `!=1.4.*` removes a slice; it rarely decides satisfiability
        return [
            ("lo", _dev0(prefix.epoch, prefix.release), True),
            ("hi", _dev0(prefix.epoch, _bump(prefix.release)), False),
        ]
    version = _version(text)
    if version is None:
        return []
    if op == "<" and not (version.is_prerelease or version.is_postrelease or version.local):
        # `<1.4` excludes 1.4's pre-releases too (PEP 440), so it ends below 1.4.dev0
        return [("hi", _dev0(version.epoch, version.release), False)]
    if op == "~=":
        return [
            ("lo", version, True),
            ("hi", _dev0(version.epoch, _bump(version.release[:-1])), False),
        ]
    table: dict[str, list[tuple[str, Version, bool]]] = {
        "==": [("lo", version, True), ("hi", version, True)],
        "===": [("lo", version, True), ("hi", version, True)],
        "!=": [("ne", version, True)],
        ">=": [("lo", version, True)],
        ">": [("lo", version, False)],
        "<=": [("hi", version, True)],
        "<": [("hi", version, False)],
    }
    return table.get(op, [])


def _bump(release: tuple[int, ...]) -> tuple[int, ...]:
    return (*release[:-1], release[-1] + 1) if release else (1,)


def _dev0(epoch: int, release: tuple[int, ...]) -> Version:
    from packaging.version import Version

    return Version(f"{epoch}!{'.'.join(map(str, release))}.dev0")


def _apt(entries: Iterable[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for entry in entries:
        name, _, version = entry.partition("=")
        out[name] = version or None
    return out


def _system(left: Side, right: Side) -> Iterator[Finding]:
    if left.system_packages is None or right.system_packages is None:
        return
    lapt, rapt = _apt(left.system_packages), _apt(right.system_packages)
    if left.is_reality != right.is_reality:
        yield from _system_installed(left, right, lapt, rapt)
        return
    for name, lv in lapt.items():
        path = f"system_packages.{name}"
        if name not in rapt:
            yield _make(
                left,
                right,
                "system_package.missing",
                "warning",
                path,
                _apt_show(name, lv),
                None,
                f"{left.label} installs the system package {name} but "
                f"{right.label} does not: native libraries code relies on may be missing in "
                f"{right.label}.",
            )
        elif lv and rapt[name] and lv != rapt[name]:
            yield _system_version(left, right, name, lv, str(rapt[name]))
    for name, rv in rapt.items():
        if name not in lapt:
            yield _make(
                left,
                right,
                "system_package.extra",
                "info",
                f"system_packages.{name}",
                None,
                _apt_show(name, rv),
                f"{right.label} installs the system package {name} but {left.label} does not.",
            )


def _system_installed(
    left: Side, right: Side, lapt: Mapping[str, str | None], rapt: Mapping[str, str | None]
) -> Iterator[Finding]:
    spec, real = (right, left) if left.is_reality else (left, right)
    wanted, have = (rapt, lapt) if left.is_reality else (lapt, rapt)
    for name, version in wanted.items():
        path = f"system_packages.{name}"
        if name not in have:
            shown = _apt_show(name, version)
            lv, rv = (shown, None) if spec is left else (None, shown)
            yield _make(
                left,
                right,
                "system_package.missing",
                "error",
                path,
                lv,
                rv,
                f"{spec.label} requires the system package {name} but it is not "
                f"installed in {real.label}.",
            )
        elif version and have[name] and version != have[name]:
            lv, rv = (version, str(have[name])) if spec is left else (str(have[name]), version)
            yield _system_version(left, right, name, lv, rv)


def _system_version(left: Side, right: Side, name: str, lv: str, rv: str) -> Finding:
    return _make(
        left,
        right,
        "system_package.version",
        "warning",
        f"system_packages.{name}",
        f"{name}={lv}",
        f"{name}={rv}",
        f"the system package {name} is {lv} in {left.label} but {rv} in {right.label}.",
    )


def _apt_show(name: str, version: str | None) -> str:
    return f"{name}={version}" if version else name


def _data(left: Side, right: Side) -> Iterator[Finding]:
    a, b = left.data, right.data
    if a is None or b is None:
        return
    ln, rn = left.label, right.label
    for c in a.allowed:
        if c not in b.allowed:
            yield _make(
                left,
                right,
                "data.classification",
                "error",
                f"data.allowed.{c}",
                c,
                None,
                f"{ln} may read {c} data but {rn} may not: features the model "
                f"was built on may be missing at inference in {rn}.",
            )
    for c in b.allowed:
        if c not in a.allowed:
            yield _make(
                left,
                right,
                "data.classification",
                "warning",
                f"data.allowed.{c}",
                None,
                c,
                f"{rn} may read {c} data but {ln} may not: {rn} has data "
                "access that was never part of development.",
            )
    for s in a.sources:
        if not source_covered(s, b.sources):
            yield _make(
                left,
                right,
                "data.source",
                "warning",
                f"data.sources.{s}",
                s,
                None,
                f"{ln} reads {s} but {rn} may not: features built from it may be "
                f"missing at inference in {rn}.",
            )
    for s in b.sources:
        if not source_covered(s, a.sources):
            yield _make(
                left,
                right,
                "data.source",
                "warning",
                f"data.sources.{s}",
                None,
                s,
                f"{rn} may read {s} but {ln} does not: check that {rn} is meant to "
                "have this access.",
            )


_EXCEEDS = "development must not exceed what production permits"


def _compute(left: Side, right: Side) -> Iterator[Finding]:
    a, b = left.compute, right.compute
    if a is None or b is None:
        return
    ln, rn = left.label, right.label
    for e in a.engines:
        if e not in b.engines:
            yield _make(
                left,
                right,
                "compute.engine",
                "error",
                f"compute.engines.{e}",
                e,
                None,
                f"{ln} has {e} but {rn} does not: pipelines that use {e} cannot run in {rn}.",
            )
    for e in b.engines:
        if e not in a.engines:
            yield _make(
                left,
                right,
                "compute.engine",
                "info",
                f"compute.engines.{e}",
                None,
                e,
                f"{rn} has {e} but {ln} does not.",
            )
    yield from _gpu(left, right, a.gpu, b.gpu)
    if a.cpu is not None and b.cpu is not None and a.cpu > b.cpu:
        yield _make(
            left,
            right,
            "compute.cpu",
            "warning",
            "compute.cpu",
            f"{a.cpu:g}",
            f"{b.cpu:g}",
            f"{ln} has {a.cpu:g} CPUs but {rn} permits {b.cpu:g}: {_EXCEEDS}.",
        )
    if a.memory is not None and b.memory is not None and a.memory > b.memory:
        lm, rm = values.format_bytes(a.memory), values.format_bytes(b.memory)
        yield _make(
            left,
            right,
            "compute.memory",
            "warning",
            "compute.memory",
            lm,
            rm,
            f"{ln} has {lm} of memory but {rn} permits {rm}: {_EXCEEDS}, or the model "
            f"may not fit in {rn}.",
        )


def _gpu(left: Side, right: Side, a: int, b: int) -> Iterator[Finding]:
    if a > 0 and b == 0:
        yield _make(
            left,
            right,
            "compute.gpu",
            "error",
            "compute.gpu",
            str(a),
            str(b),
            f"{left.label} has {a} GPU{'s' if a > 1 else ''} but {right.label} has "
            f"none: code or models that expect a GPU will fail or crawl in "
            f"{right.label}.",
        )
    elif a > b:
        yield _make(
            left,
            right,
            "compute.gpu",
            "warning",
            "compute.gpu",
            str(a),
            str(b),
            f"{left.label} has {a} GPUs but {right.label} permits {b}: {_EXCEEDS}.",
        )
