"""What an import produced, and the rules every format shares: which Python,
environment markers evaluated for the target, duplicates reconciled.

Nothing here reads a file. A spec holds no markers or hashes, so an import
either carries an entry as a plain `name -> specifier` pin (and its index, as a
route) or lists it as not carried over, with the reason; nothing is dropped
silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from packaging.markers import InvalidMarker, Marker, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from envctl.errors import InputError, UsageError
from envctl.spec import values

DEFAULT_PLATFORM = "linux/amd64"  # the spec's own default for image.platform
PythonFrom = Literal["source", "--python", "interpreter"]

_MACHINES = {
    "linux/amd64": "x86_64",
    "linux/arm64": "aarch64",
    "linux/arm/v7": "armv7l",
    "linux/ppc64le": "ppc64le",
    "linux/s390x": "s390x",
}
_MINOR = re.compile(r"^3\.[0-9]{1,2}$")
# The newest patch level a marker is tried at when it names the full version.
_LAST_PATCH = 99


@dataclass(frozen=True)
class Note:
    """One entry of the source, where it was, and what happened to it."""

    item: str
    reason: str
    source: str
    line: int | None = None

    def render(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.item}: {self.reason}"


@dataclass(frozen=True)
class Pin:
    """A requirement as read: `key` is a package key (PEP 503 name, sorted extras)."""

    key: str
    specifier: str
    source: str
    line: int | None = None
    marker: str | None = None
    text: str = ""  # the entry as written, for notes


@dataclass(frozen=True)
class Options:
    """`python` is --python; `fallback_python` the running interpreter's X.Y,
    used when the source does not say (None: the source must say)."""

    python: str | None = None
    fallback_python: str | None = None
    platform: str = DEFAULT_PLATFORM


@dataclass(frozen=True)
class IndexEntry:
    """An index the spec will declare (`indexes:`)."""

    name: str
    url: str
    explicit: bool = False
    default: bool = False


@dataclass(frozen=True)
class Imported:
    """An import's result: the pins to write and what was not carried over."""

    source: str
    format: str
    python: str
    python_from: PythonFrom
    platform: str
    packages: tuple[tuple[str, str], ...]  # (package key, specifier), sorted
    not_carried: tuple[Note, ...] = ()
    adjusted: tuple[Note, ...] = ()  # carried, with something the spec cannot hold
    indexes: tuple[IndexEntry, ...] = ()
    sources: tuple[tuple[str, str], ...] = ()  # (package name, index name), sorted

    def package_map(self) -> dict[str, str]:
        return dict(self.packages)


@dataclass(frozen=True)
class Target:
    """The environment markers are evaluated for: the spec's Python and platform."""

    python: str
    platform: str = DEFAULT_PLATFORM

    def environment(self, patch: int) -> dict[str, str]:
        full = f"{self.python}.{patch}"
        return {
            "python_version": self.python,
            "python_full_version": full,
            "implementation_name": "cpython",
            "implementation_version": full,
            "platform_python_implementation": "CPython",
            "os_name": "posix",
            "sys_platform": "linux",
            "platform_system": "Linux",
            "platform_machine": _MACHINES.get(self.platform, ""),
            "platform_release": "",
            "platform_version": "",
            "extra": "",
        }

    def describe(self) -> str:
        return f"Python {self.python} on {self.platform}"


def marker_holds(marker: str, target: Target) -> bool | str:
    """True/False, or the reason it cannot be decided for `target`."""
    try:
        parsed = Marker(marker)
        # The spec names a minor version only: a marker on the patch level must
        # agree at X.Y.0 and at the newest patch, or it cannot be decided.
        results = {parsed.evaluate(target.environment(p)) for p in (0, _LAST_PATCH)}
    except (InvalidMarker, UndefinedEnvironmentName) as exc:
        return f"marker `{marker}` cannot be evaluated ({exc})"
    if len(results) > 1:
        return f"marker `{marker}` depends on the patch level of Python {target.python}"
    return results.pop()


# ---- the Python version ---------------------------------------------------------


def minor(version: str) -> str:
    """`3.11.9` -> `3.11`."""
    return ".".join(version.split(".")[:2])


def check_minor(raw: str, what: str = "--python") -> str:
    if not _MINOR.match(raw):
        raise UsageError(f"{what} takes a minor version such as 3.11, not {raw!r}")
    return raw


def pinned_minor(requires: str) -> str | None:
    """The one minor version a `requires-python` specifier allows, else None."""
    minors = allowed_minors(requires)
    return minors[0] if len(minors) == 1 else None


def allowed_minors(requires: str) -> list[str]:
    try:
        spec = SpecifierSet(requires)
    except InvalidSpecifier:
        raise InputError(f"requires-python {requires!r} is not a PEP 440 specifier") from None
    return [f"3.{m}" for m in range(0, 40) if _allows(spec, m)]


def _allows(spec: SpecifierSet, minor_number: int) -> bool:
    """Whether any 3.M.patch is allowed. The allowed versions are intervals
    bounded by the specifier's own versions, so trying the minor's ends and
    each bound (and its neighbours) decides it."""
    patches = {0, _LAST_PATCH}
    for clause in spec:
        release = Version(clause.version.removesuffix(".*")).release
        if release[:2] == (3, minor_number):
            patch = release[2] if len(release) > 2 else 0
            patches |= {max(patch - 1, 0), patch, patch + 1}
    return any(spec.contains(f"3.{minor_number}.{p}", prereleases=True) for p in patches)


def choose_python(
    options: Options,
    found: str | None,
    *,
    source: str,
    allowed: str | None = None,
    allowed_as: str | None = None,
) -> tuple[str, PythonFrom, list[Note]]:
    """--python, else what the source says, else the running interpreter's;
    `allowed` is a PEP 440 range the choice must satisfy, `allowed_as` how the
    source wrote it (default: a requires-python)."""
    notes: list[Note] = []
    origin: PythonFrom
    if options.python is not None:
        chosen, origin = check_minor(options.python), "--python"
        if found is not None and found != chosen:
            notes.append(Note(f"python {found}", f"replaced by --python {chosen}", source))
    elif found is not None:
        chosen, origin = found, "source"
    elif options.fallback_python is not None:
        chosen, origin = options.fallback_python, "interpreter"
    else:
        said = f" (requires-python {allowed!r} allows several)" if allowed else ""
        raise UsageError(f"{source} does not pin a Python minor version{said}; pass --python X.Y")
    said = allowed_as or f"requires-python {allowed!r}"
    if allowed is not None and chosen not in allowed_minors(allowed):
        if origin == "interpreter":
            raise UsageError(
                f"{source} requires Python {allowed} and this interpreter is {chosen}; "
                "pass --python X.Y"
            )
        raise InputError(f"Python {chosen} is outside {source}'s {said}")
    if allowed is not None and origin != "source":
        # A range was met, not a pin: say which Python was chosen within it.
        notes.append(Note(said, f"allows several Pythons; {chosen} chosen ({origin})", source))
    return chosen, origin, notes


# ---- collecting pins --------------------------------------------------------------


@dataclass
class Collector:
    """Pins in source order -> one specifier per distribution, with notes."""

    target: Target
    not_carried: list[Note] = field(default_factory=list)
    adjusted: list[Note] = field(default_factory=list)
    _pins: dict[str, tuple[set[str], str, Pin]] = field(default_factory=dict)

    def skip(self, item: str, reason: str, source: str, line: int | None = None) -> None:
        self.not_carried.append(Note(item, reason, source, line))

    def add(self, pin: Pin) -> None:
        if pin.marker is not None and not self._marker_allows(pin):
            return
        name, extras = _split_key(pin.key)
        held = self._pins.get(name)
        if held is None:
            self._pins[name] = (extras, pin.specifier, pin)
            return
        self._merge(name, held, extras, pin)

    def _marker_allows(self, pin: Pin) -> bool:
        assert pin.marker is not None
        holds = marker_holds(pin.marker, self.target)
        if holds is True:
            self.adjusted.append(
                Note(
                    pin.text,
                    f"marker holds for {self.target.describe()}; "
                    "carried without it (a spec has no markers)",
                    pin.source,
                    pin.line,
                )
            )
            return True
        reason = holds or f"marker does not hold for {self.target.describe()}"
        self.skip(pin.text, reason, pin.source, pin.line)
        return False

    def _merge(
        self, name: str, held: tuple[set[str], str, Pin], extras: set[str], pin: Pin
    ) -> None:
        old_extras, old_spec, first = held
        where = f"{first.source}:{first.line}" if first.line else first.source
        merged = merge_specifiers(old_spec, pin.specifier)
        if merged is None:
            self.skip(
                pin.text,
                f"conflicts with {name}{old_spec} ({where}); kept that",
                pin.source,
                pin.line,
            )
            return
        self._pins[name] = (old_extras | extras, merged, first)
        if merged != old_spec or not extras <= old_extras:
            reason = f"merged with {name}{old_spec} ({where}) into {name}{merged}"
        else:
            reason = f"repeats {name}{old_spec} ({where})"
        self.adjusted.append(Note(pin.text, reason, pin.source, pin.line))

    def packages(self) -> tuple[tuple[str, str], ...]:
        out = []
        for name, (extras, spec, _) in self._pins.items():
            key = f"{name}[{','.join(sorted(extras))}]" if extras else name
            out.append((key, spec))
        return tuple(sorted(out))

    def result(
        self, *, source: str, format: str, python_from: PythonFrom, notes: Sequence[Note] = ()
    ) -> Imported:
        return Imported(
            source=source,
            format=format,
            python=self.target.python,
            python_from=python_from,
            platform=self.target.platform,
            packages=self.packages(),
            not_carried=tuple(self.not_carried),
            adjusted=tuple([*notes, *self.adjusted]),
        )


def _split_key(key: str) -> tuple[str, set[str]]:
    name, _, rest = key.partition("[")
    return name, {e for e in rest.rstrip("]").split(",") if e}


def merge_specifiers(a: str, b: str) -> str | None:
    """One specifier both allow, or None when they conflict: an exact pin that
    the other allows wins; two ranges intersect."""
    if a == b or b == "*":
        return a
    if a == "*":
        return b
    pin_a, pin_b = values.pinned_version(a), values.pinned_version(b)
    if pin_a is not None and pin_b is not None:
        return a if _same_version(pin_a, pin_b) else None
    if pin_a is not None or pin_b is not None:
        exact, other, version = (a, b, pin_a) if pin_a is not None else (b, a, pin_b)
        assert version is not None
        return exact if SpecifierSet(other).contains(version, prereleases=True) else None
    return str(SpecifierSet(a) & SpecifierSet(b))


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def pin_from_requirement(text: str, *, source: str, line: int | None) -> Pin | Note:
    """One PEP 508 requirement -> a Pin, or the Note saying why it is not one."""
    try:
        req = Requirement(text)
    except InvalidRequirement:
        return Note(
            text, "not a PEP 508 requirement (a path or URL?); add it by hand", source, line
        )
    if req.url:
        return Note(
            text, "a direct URL reference; a spec pins versions from an index", source, line
        )
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    try:
        key = values.package_key(f"{req.name}{extras}")
        spec = values.specifier(str(req.specifier))
    except ValueError as exc:
        return Note(text, str(exc), source, line)
    marker = str(req.marker) if req.marker is not None else None
    return Pin(key, spec, source, line, marker, text)
