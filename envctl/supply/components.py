"""What an image holds, as SBOM components: Python distributions and Debian packages.
Pure: built from a probe of the image (what is really installed), the lock (the
hashes envctl installed with) and dpkg's status file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from packageurl import PackageURL


@dataclass(frozen=True)
class Component:
    ecosystem: str  # "PyPI", "Debian:12"
    name: str  # as installed (a Debian binary package name)
    version: str
    purl: str
    source: str | None = None  # Debian source package, which OSV's Debian records name
    source_version: str | None = None
    hashes: tuple[str, ...] = ()  # sha256 hex of every file the lock accepted

    @property
    def match_name(self) -> str:
        return self.source or self.name

    @property
    def match_version(self) -> str:
        return self.source_version or self.version


@dataclass(frozen=True)
class DpkgPackage:
    name: str
    version: str
    architecture: str | None
    source: str | None
    source_version: str | None


def dpkg_packages(status: str) -> list[DpkgPackage]:
    """Installed packages in dpkg's status format, with their source package
    (`Source: name (version)` when the source's version differs)."""
    found = []
    for paragraph in status.split("\n\n"):
        fields = _fields(paragraph)
        name, version = fields.get("Package"), fields.get("Version")
        if not (name and version and fields.get("Status", "").endswith(" installed")):
            continue
        source, source_version = _source(fields.get("Source"))
        found.append(DpkgPackage(name, version, fields.get("Architecture"), source, source_version))
    return sorted(found, key=lambda p: p.name)


def _fields(paragraph: str) -> dict[str, str]:
    out = {}
    for line in paragraph.splitlines():
        if line[:1].isspace() or ":" not in line:
            continue  # a continuation line of a multi-line field
        key, _, value = line.partition(":")
        out[key.strip()] = value.strip()
    return out


def _source(raw: str | None) -> tuple[str | None, str | None]:
    if not raw:
        return None, None
    name, _, rest = raw.partition(" ")
    version = rest.strip().removeprefix("(").removesuffix(")").strip() or None
    return name, version


def debian_ecosystem(os_release: Mapping[str, str]) -> str | None:
    """ "Debian:12" for a Debian 12 image (OSV's ecosystem name), None for another OS."""
    if os_release.get("ID") != "debian":
        return None
    major = (os_release.get("VERSION_ID") or "").split(".")[0]
    return f"Debian:{major}" if major else "Debian"


def python_components(
    installed: Mapping[str, str], hashes: Mapping[str, tuple[str, ...]]
) -> list[Component]:
    """Distributions really installed (name -> version), with the lock's hashes for
    those the lock pinned at that version."""
    return [
        Component(
            ecosystem="PyPI",
            name=name,
            version=version,
            purl=PackageURL(type="pypi", name=name, version=version).to_string(),
            hashes=hashes.get(f"{name}=={version}", ()),
        )
        for name, version in sorted(installed.items())
    ]


def debian_components(packages: list[DpkgPackage], ecosystem: str) -> list[Component]:
    distro = ecosystem.split(":", 1)[1] if ":" in ecosystem else None
    out = []
    for p in packages:
        qualifiers = {k: v for k, v in (("arch", p.architecture),) if v}
        if distro:
            qualifiers["distro"] = f"debian-{distro}"
        out.append(
            Component(
                ecosystem=ecosystem,
                name=p.name,
                version=p.version,
                purl=PackageURL(
                    type="deb",
                    namespace="debian",
                    name=p.name,
                    version=p.version,
                    qualifiers=qualifiers,
                ).to_string(),
                source=p.source,
                source_version=p.source_version,
            )
        )
    return out
