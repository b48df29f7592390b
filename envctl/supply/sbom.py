"""An image's SBOM: what a probe of the image finds (Python distributions, dpkg's
installed packages), with the lock's hashes, as CycloneDX JSON (or SPDX: spdx.py).

The document is a function of the image alone: the serial number derives from
the image id and no timestamp is written, so the same image always gives the
same bytes and the sha256 a promotion records can be checked by anyone who
regenerates it (`envctl sbom`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from envctl.supply.components import (
    Component,
    debian_components,
    debian_ecosystem,
    dpkg_packages,
    python_components,
)

if TYPE_CHECKING:
    from envctl.build.lockfile import Lock
    from envctl.probe import Reality

SbomFormat = Literal["cyclonedx-json", "spdx-json"]
FORMATS: tuple[SbomFormat, ...] = ("cyclonedx-json", "spdx-json")
# The IANA media types, which an OCI referrer carries as its artifactType.
MEDIA_TYPES: dict[str, str] = {
    "cyclonedx-json": "application/vnd.cyclonedx+json",
    "spdx-json": "application/spdx+json",
}
LOCK_HASH_LABEL = "dev.envctl.lock-hash"
BASE_LABEL = "org.opencontainers.image.base.name"


@dataclass(frozen=True)
class ImageSbom:
    image: str  # the reference it was made for
    image_id: str | None
    base: str | None
    python: str
    platform: str | None
    os: str | None
    components: tuple[Component, ...]
    hashes_from_lock: bool  # the lock's hashes are the ones this image was built with

    def python_packages(self) -> list[Component]:
        return [c for c in self.components if c.ecosystem == "PyPI"]

    def debian_packages(self) -> list[Component]:
        return [c for c in self.components if c.ecosystem.startswith("Debian")]


def from_reality(image: str, reality: Reality, lock: Lock | None) -> ImageSbom:
    """The SBOM of a probed image. Hashes come from `lock` only when the image
    says (its lock-hash label) it was built from exactly that lock."""
    built_from = reality.labels.get(LOCK_HASH_LABEL)
    matches = lock is not None and built_from is not None and lock.content_hash == built_from
    hashes = {f"{e.name}=={e.version}": e.hashes for e in lock.entries} if matches and lock else {}
    components = python_components(reality.distributions, hashes)
    ecosystem = debian_ecosystem(reality.os_release)
    if ecosystem and reality.dpkg_status:
        components += debian_components(dpkg_packages(reality.dpkg_status), ecosystem)
    return ImageSbom(
        image=image,
        image_id=reality.image_id,
        base=reality.labels.get(BASE_LABEL),
        python=reality.python,
        platform=reality.platform,
        os=reality.os,
        components=tuple(components),
        hashes_from_lock=matches,
    )


@dataclass(frozen=True)
class Made:
    """An image's SBOM and its document in one format."""

    sbom: ImageSbom
    text: str
    format: SbomFormat = "cyclonedx-json"

    @property
    def sha256(self) -> str:
        return digest(self.text)


@dataclass(frozen=True)
class Recorded:
    """The SBOM a promotion record names: its format, the sha256 of its bytes, and
    where it is stored beside the image (`REPO@sha256:...` of the OCI referrer),
    null when the image was not pushed by that promotion."""

    format: str
    sha256: str
    artifact: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "sha256": self.sha256, "artifact": self.artifact}

    @classmethod
    def from_json(cls, raw: object) -> Recorded | None:
        if not isinstance(raw, Mapping):
            return None
        fmt, sha, artifact = (raw.get(k) for k in ("format", "sha256", "artifact"))
        if not (isinstance(fmt, str) and isinstance(sha, str) and sha.startswith("sha256:")):
            return None
        return cls(fmt, sha, artifact if isinstance(artifact, str) else None)


def of_image(ref: str, lock: Lock | None = None, fmt: SbomFormat = "cyclonedx-json") -> Made:
    """Probe image `ref` (one container, networking off) and write its SBOM. The
    lock's hashes are `lock`'s, else those of the project's lock the image's
    lock-hash label names, so the same image gives the same bytes whichever way
    it was reached (a gate, a promotion, `envctl sbom --stage`)."""
    from envctl import probe

    reality = probe.image(ref)
    made = from_reality(ref, reality, lock or project_lock(reality.labels.get(LOCK_HASH_LABEL)))
    return Made(made, document(made, fmt), fmt)


def project_lock(content_hash: str | None) -> Lock | None:
    """The project's lock whose content hash is `content_hash`; None when no lock
    of the project is that one (it changed since the image was built)."""
    from envctl.build.lockfile import read_lock
    from envctl.errors import InputError
    from envctl.spec.loading import find_project

    project = find_project()
    if content_hash is None or project is None:
        return None
    for path in sorted(project.env_dir.glob("*.lock")):
        try:
            lock = read_lock(path)
        except InputError:
            continue
        if lock.content_hash == content_hash:
            return lock
    return None


@dataclass(frozen=True)
class Counts:
    python: int
    debian: int
    hashed: bool  # some Python package carries the lock's hashes


def counts(text: str) -> Counts:
    """What a document envctl wrote lists (CycloneDX or SPDX; for one fetched,
    not made here)."""
    data = json.loads(text)
    if "spdxVersion" in data:
        packages = data.get("packages", [])
        purls = [
            str(ref.get("referenceLocator", ""))
            for p in packages
            for ref in p.get("externalRefs", [])
            if ref.get("referenceType") == "purl"
        ]
        hashed = any(p.get("checksums") for p in packages)
    else:
        purls = [str(c.get("purl", "")) for c in data.get("components", [])]
        hashed = any(c.get("hashes") for c in data.get("components", []))
    return Counts(
        python=sum(p.startswith("pkg:pypi/") for p in purls),
        debian=sum(p.startswith("pkg:deb/") for p in purls),
        hashed=hashed,
    )


def document(sbom: ImageSbom, fmt: SbomFormat = "cyclonedx-json") -> str:
    if fmt == "spdx-json":
        from envctl.supply.spdx import spdx_json

        return spdx_json(sbom)
    return cyclonedx_json(sbom)


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _serial(sbom: ImageSbom) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"envctl-sbom:{sbom.image_id or sbom.image}")


def cyclonedx_json(sbom: ImageSbom) -> str:
    """CycloneDX 1.6 JSON through cyclonedx-python-lib."""
    import warnings

    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component as CdxComponent
    from cyclonedx.model.component import ComponentType
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    bom = Bom(serial_number=_serial(sbom))
    bom.metadata.timestamp = None  # type: ignore[assignment]  # the same image, the same bytes
    # Named by its id, not by the reference it was asked for (a tag, a digest):
    # the same image gives the same bytes however it was named.
    root = CdxComponent(
        name=sbom.image_id or sbom.image,
        version=sbom.image_id or "unknown",
        type=ComponentType.CONTAINER,
        bom_ref="image",
        properties=[
            Property(name=f"envctl:{k}", value=v)
            for k, v in (
                ("base-image", sbom.base),
                ("python", sbom.python),
                ("platform", sbom.platform),
                ("os", sbom.os),
            )
            if v
        ],
    )
    bom.metadata.component = root
    parts = []
    for c in sbom.components:
        part = CdxComponent(
            name=c.name,
            version=c.version,
            type=ComponentType.LIBRARY if c.ecosystem == "PyPI" else ComponentType.APPLICATION,
            purl=PackageURL.from_string(c.purl),
            bom_ref=c.purl,
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=h) for h in c.hashes],
            properties=[Property(name="envctl:debian-source", value=c.source)] if c.source else [],
        )
        bom.components.add(part)
        parts.append(part)
    bom.register_dependency(root, parts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the library warns about optional fields
        text = JsonV1Dot6(bom).output_as_string(indent=2)
    return _canonical(text)


def _canonical(text: str) -> str:
    data: Mapping[str, object] = json.loads(text)
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
