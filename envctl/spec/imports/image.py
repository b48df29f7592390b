"""A built image, as `envctl.probe.image` saw it: its Python and every installed
distribution become exact pins; installer tooling and unparseable versions are
listed as not carried."""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from envctl.spec import values
from envctl.spec.imports.model import (
    Collector,
    Imported,
    Note,
    Options,
    Pin,
    Target,
    choose_python,
    minor,
)

if TYPE_CHECKING:
    from envctl.probe import Reality

_TOOLING = frozenset({"pip", "setuptools", "wheel"})
_PLATFORMS = frozenset(
    {"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/ppc64le", "linux/s390x"}
)


def from_reality(reality: Reality, *, options: Options) -> Imported:
    """Pins `==version` for each distribution found in the image."""
    source = reality.label
    found = minor(reality.python)
    python, origin, notes = choose_python(options, found, source=source)
    if python == found and reality.python != found:
        notes.append(
            Note(f"python {reality.python}", f"recorded as {found}: the spec names a minor", source)
        )
    platform = reality.platform if reality.platform in _PLATFORMS else options.platform
    if reality.platform is not None and reality.platform != platform:
        notes.append(
            Note(f"platform {reality.platform}", f"not supported; {platform} used", source)
        )
    collector = Collector(Target(python, platform))
    for name, version in sorted(reality.distributions.items()):
        _carry(collector, name, version, source)
    return collector.result(source=source, format="image", python_from=origin, notes=notes)


def _carry(collector: Collector, name: str, version: str, source: str) -> None:
    shown = f"{name} {version}"
    if name in _TOOLING:
        collector.skip(
            shown, "installer tooling; every environment envctl builds has its own", source
        )
        return
    try:
        Version(version)
        key = values.package_key(name)
    except (InvalidVersion, ValueError):
        collector.skip(shown, "not a PEP 440 version or PEP 508 name", source)
        return
    collector.add(Pin(key, f"=={version}", source, text=f"{name}=={version}"))
