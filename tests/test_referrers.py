"""An SBOM attached to an image in a real registry (Debian's docker-registry, a
distribution 2.x without the referrers API, so the spec's fallback tag is used),
fetched back, and refused when the registry serves other bytes."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from envctl import engine, referrers
from envctl.errors import ExternalError
from tests.conftest import free_port

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


@pytest.fixture
def private_registry(tmp_path: Path) -> Iterator[tuple[str, tuple[str, str]]]:
    """A docker-registry on 127.0.0.1 behind htpasswd (Basic) auth: its address
    and the one account it knows."""
    with warnings.catch_warnings():  # crypt (bcrypt, which htpasswd needs) is deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        crypt = pytest.importorskip("crypt", reason="Python 3.13 has no crypt module")
    binary = shutil.which("docker-registry") or shutil.which("registry")
    if binary is None:
        pytest.skip("no registry binary: apt-get install docker-registry")
    account = ("deployer", uuid.uuid4().hex)
    (tmp_path / "htpasswd").write_text(
        f"{account[0]}:{crypt.crypt(account[1], crypt.mksalt(crypt.METHOD_BLOWFISH))}\n"
    )
    address = f"127.0.0.1:{free_port()}"
    (tmp_path / "private.yml").write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {tmp_path / 'p'}\n"
        f"http:\n  addr: {address}\n"
        f"auth:\n  htpasswd:\n    realm: test\n    path: {tmp_path / 'htpasswd'}\n"
    )
    proc = subprocess.Popen(
        [binary, "serve", str(tmp_path / "private.yml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://{address}/v2/", timeout=1)
            except urllib.error.HTTPError:
                break  # 401: it answers
            except OSError:
                time.sleep(0.1)
        yield address, account
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_private_registry_takes_the_docker_clients_credentials(
    private_registry: tuple[str, tuple[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address, (user, password) = private_registry
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    (tmp_path / "docker-config").mkdir()
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (tmp_path / "docker-config" / "config.json").write_text(
        json.dumps({"auths": {address: {"auth": auth}}})
    )
    credentials = engine.registry_credentials(address)
    assert credentials == (user, password)

    # An image manifest to attach to (no engine login needed: pushed by hand).
    client = referrers.Client(f"{address}/team/app", credentials)
    config = client.put_blob(referrers.EMPTY_BYTES)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": referrers.OCI_MANIFEST,
            "config": {**config.to_json(), "mediaType": referrers.EMPTY},
            "layers": [],
        }
    ).encode()
    client.put_manifest(manifest, referrers.OCI_MANIFEST, "v1")
    image = f"{address}/team/app@{referrers.digest_of(manifest)}"

    artifact = referrers.push(image, b"{}\n", CDX, credentials)
    assert referrers.fetch(artifact, CDX, credentials) == b"{}\n"
    with pytest.raises(ExternalError, match="credentials the Docker client does not have"):
        referrers.fetch(artifact, CDX, None)
    with pytest.raises(ExternalError, match="the registry answered 401"):
        referrers.fetch(artifact, CDX, (user, "wrong"))
