"""An SBOM attached to an image in a real registry (Debian's docker-registry, a
distribution 2.x without the referrers API, so the spec's fallback tag is used),
fetched back, and refused when the registry serves other bytes."""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from pathlib import Path

import pytest

from envctl import engine, referrers
from envctl.errors import ExternalError

pytestmark = pytest.mark.docker

CDX = "application/vnd.cyclonedx+json"


def pushed_image(registry: str) -> str:
    """A one-file image of its own, pushed: its REPO@sha256:..."""
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, data in (
            ("Dockerfile", b"FROM scratch\nCOPY f /f\n"),
            ("f", uuid.uuid4().hex.encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    ref = f"{registry}/team/tiny:{uuid.uuid4().hex[:8]}"
    engine.client().images.build(fileobj=context, custom_context=True, tag=ref, rm=True)
    digest = engine.push(ref)
    engine.remove_image(ref)
    return f"{registry}/team/tiny@{digest}"


def test_an_sbom_is_pushed_as_a_referrer_and_fetched_back(image_registry: str) -> None:
    image = pushed_image(image_registry)
    document = b'{"bomFormat": "CycloneDX"}\n'
    artifact = referrers.push(image, document, CDX, None)
    assert artifact.startswith(f"{image_registry}/team/tiny@sha256:")
    assert referrers.push(image, document, CDX, None) == artifact  # same bytes, same digest
    assert referrers.fetch(artifact, CDX, None) == document

    client = referrers.Client(f"{image_registry}/team/tiny")
    manifest = json.loads(client.manifest(artifact.partition("@")[2])[0])
    image_digest = image.partition("@")[2]
    assert (manifest["artifactType"], manifest["subject"]["digest"]) == (CDX, image_digest)
    assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    # No referrers API here: the fallback index lists it once, however often pushed.
    index = json.loads(client.manifest(image_digest.replace(":", "-"))[0])
    assert [(m["digest"], m["artifactType"]) for m in index["manifests"]] == [
        (artifact.partition("@")[2], CDX)
    ]


def test_other_bytes_from_the_registry_are_refused(image_registry: str, tmp_path: Path) -> None:
    """An attacker who can write the registry's storage swaps the document."""
    image = pushed_image(image_registry)
    document = b'{"bomFormat": "CycloneDX", "components": []}\n'
    artifact = referrers.push(image, document, CDX, None)
    blob = referrers.digest_of(document).partition(":")[2]
    stored = tmp_path / "r" / "docker/registry/v2/blobs/sha256" / blob[:2] / blob / "data"
    stored.write_bytes(document.replace(b"[]", b"[{}]"))
    with pytest.raises(ExternalError, match="the registry sent other bytes than the digest"):
        referrers.fetch(artifact, CDX, None)


def test_an_image_not_in_the_registry_is_an_external_error(image_registry: str) -> None:
    missing = f"{image_registry}/team/tiny@sha256:{'0' * 64}"
    with pytest.raises(ExternalError, match="the registry answered 404"):
        referrers.push(missing, b"{}", CDX, None)
