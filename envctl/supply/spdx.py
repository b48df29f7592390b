"""An image's SBOM as SPDX 2.3 JSON, through the SPDX project's own library
(spdx-tools), with the content of the CycloneDX document: the image as the
described package, every Python and Debian package with its PURL as an external
reference, the lock's sha256 hashes as checksums, and `CONTAINS` relationships.

The bytes are a function of the image alone, as for CycloneDX: the namespace
derives from the image id, the SPDX ids from each PURL, and `created` is fixed
(SPDX requires one; a clock reading would make every run differ), so the
sha256 of the document can be checked by anyone who regenerates it.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spdx_tools.spdx.model.package import Package

    from envctl.supply.components import Component
    from envctl.supply.sbom import ImageSbom

# SOURCE_DATE_EPOCH's convention for a build that carries no date of its own.
CREATED = datetime(1970, 1, 1, tzinfo=timezone.utc)
ROOT_ID = "SPDXRef-image"


def spdx_json(sbom: ImageSbom) -> str:
    """SPDX 2.3 JSON; spdx-tools validates the document as it writes it (a
    ValueError names what is wrong)."""
    from spdx_tools.spdx.model.actor import Actor, ActorType
    from spdx_tools.spdx.model.document import CreationInfo, Document
    from spdx_tools.spdx.model.package import Package, PackagePurpose
    from spdx_tools.spdx.model.relationship import Relationship, RelationshipType
    from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion
    from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

    name = sbom.image_id or sbom.image
    serial = uuid.uuid5(uuid.NAMESPACE_URL, f"envctl-sbom:{name}")
    info = CreationInfo(
        spdx_version="SPDX-2.3",
        spdx_id="SPDXRef-DOCUMENT",
        name=f"envctl SBOM of {name}",
        document_namespace=f"https://spdx.org/spdxdocs/envctl-image-{serial}",
        creators=[Actor(ActorType.TOOL, "envctl")],
        created=CREATED,
        creator_comment="created is fixed: the same image gives the same bytes",
    )
    root = Package(
        spdx_id=ROOT_ID,
        name=name,
        version=sbom.image_id or "unknown",
        download_location=SpdxNoAssertion(),
        files_analyzed=False,
        primary_package_purpose=PackagePurpose.CONTAINER,
        comment=_properties(sbom) or None,
    )
    packages = [_package(c) for c in sbom.components]
    relationships = [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, ROOT_ID)]
    relationships += [Relationship(ROOT_ID, RelationshipType.CONTAINS, p.spdx_id) for p in packages]
    document = Document(info, packages=[root, *packages], relationships=relationships)
    stream = io.StringIO()
    write_document_to_stream(document, stream, validate=True)
    return json.dumps(json.loads(stream.getvalue()), indent=2, sort_keys=True) + "\n"


def _properties(sbom: ImageSbom) -> str:
    """The image's base, Python, platform and OS, as CycloneDX's envctl: properties."""
    pairs = (
        ("base-image", sbom.base),
        ("python", sbom.python),
        ("platform", sbom.platform),
        ("os", sbom.os),
    )
    return "; ".join(f"envctl:{k}={v}" for k, v in pairs if v)


def package_id(purl: str) -> str:
    """A stable SPDX id per PURL (SPDX ids allow only letters, digits, `.`, `-`)."""
    return "SPDXRef-Package-" + hashlib.sha256(purl.encode()).hexdigest()[:16]


def _package(c: Component) -> Package:
    from spdx_tools.spdx.model.checksum import Checksum, ChecksumAlgorithm
    from spdx_tools.spdx.model.package import (
        ExternalPackageRef,
        ExternalPackageRefCategory,
        Package,
        PackagePurpose,
    )
    from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion

    source = (
        f"Debian source package {c.source} {c.source_version or c.version}" if c.source else None
    )
    return Package(
        spdx_id=package_id(c.purl),
        name=c.name,
        version=c.version,
        download_location=SpdxNoAssertion(),
        files_analyzed=False,
        checksums=[Checksum(ChecksumAlgorithm.SHA256, h) for h in c.hashes],
        source_info=source,
        external_references=[
            ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", c.purl)
        ],
        primary_package_purpose=(
            PackagePurpose.LIBRARY if c.ecosystem == "PyPI" else PackagePurpose.APPLICATION
        ),
    )
