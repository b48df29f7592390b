"""An artifact attached to an image in its registry: an OCI 1.1 referrer.

Pushing: the document is one blob, the config is OCI's empty descriptor, and the
manifest names the image's manifest as its `subject` and the document's media
type as its `artifactType`, so `oras discover`, `regctl artifact list` and any
OCI 1.1 client find it beside the image. A registry without the referrers API
(distribution 2.x, older Harbor) gets the spec's fallback too: the index tagged
`sha256-<hex of the image's digest>`, read, extended and put back.

Fetching is by the artifact's manifest digest (what a promotion records), and
every byte is checked against its digest: a registry is a store, not a source
of truth.

Adapter, over the OCI distribution API with `requests`: Bearer-token and Basic
challenges answered with the credentials the caller passes (the engine's, from
`engine.registry_credentials`); loopback registries are spoken to over plain
HTTP, as the Docker Engine does, all others over HTTPS. Failures are
ExternalError (exit 4), message first.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from envctl.errors import ExternalError
from envctl.oci import image_ref

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"
EMPTY_BYTES = b"{}"
MANIFEST_TYPES = (
    OCI_MANIFEST,
    OCI_INDEX,
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
TIMEOUT = 60.0
LOOPBACK = re.compile(r"^(localhost|127\.[0-9.]+|\[::1\])(:[0-9]+)?$")

Credentials = tuple[str, str]  # user, password (or identity token)


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def artifact_manifest(subject: Descriptor, artifact_type: str, layer: Descriptor) -> bytes:
    """The referrer's manifest, canonical bytes (sorted keys, no spaces): the same
    document and subject always give the same manifest digest."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": Descriptor(EMPTY, digest_of(EMPTY_BYTES), len(EMPTY_BYTES)).to_json(),
        "layers": [layer.to_json()],
        "subject": subject.to_json(),
    }
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


class Client:
    """One repository of one registry, for the calls of one push or fetch."""

    def __init__(self, repository: str, credentials: Credentials | None = None) -> None:
        ref = image_ref.parse(repository)
        if ref.host is None:
            raise ExternalError(f"{repository} names no registry host")
        # Docker Hub's API is not served at the name images carry.
        host = "registry-1.docker.io" if ref.host in image_ref.DOCKER_HUB else ref.host
        scheme = "http" if LOOPBACK.match(host) else "https"
        self.repository = ref.repository
        self.base = f"{scheme}://{host}/v2/{ref.path}"
        self.credentials = credentials
        self._authorization: str | None = None

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        import requests

        headers = dict(kwargs.pop("headers", {}))
        for attempt in (1, 2):
            if self._authorization:
                headers["Authorization"] = self._authorization
            try:
                reply = requests.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)
            except requests.RequestException as exc:
                raise ExternalError(f"{method} {url}: no answer ({exc})") from None
            if reply.status_code != 401 or attempt == 2:
                return reply
            self._authorization = self._answer(reply.headers.get("WWW-Authenticate", ""))
        raise AssertionError("unreachable")  # pragma: no cover

    def _answer(self, challenge: str) -> str:
        """The Authorization header a 401's challenge asks for."""
        import requests

        scheme, _, params = challenge.partition(" ")
        if scheme.lower() == "basic" and self.credentials:
            user, password = self.credentials
            return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if scheme.lower() != "bearer":
            raise ExternalError(
                f"{self.repository}: the registry wants {scheme or 'credentials'} "
                "credentials the Docker client does not have; docker login to it"
            )
        fields = dict(re.findall(r'(\w+)="([^"]*)"', params))
        realm = fields.pop("realm", None)
        if realm is None:
            raise ExternalError(f"{self.repository}: a Bearer challenge without a realm")
        try:
            got = requests.get(realm, params=fields, auth=self.credentials, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise ExternalError(f"{realm}: no answer ({exc})") from None
        if got.status_code != 200:
            raise ExternalError(f"{self.repository}: the token service says {got.status_code}")
        token = got.json().get("token") or got.json().get("access_token")
        return f"Bearer {token}"

    def _expect(self, reply: Any, what: str, *ok: int) -> Any:
        if reply.status_code not in ok:
            body = reply.text.strip().splitlines()[0][:200] if reply.text.strip() else ""
            raise ExternalError(
                f"{what} in {self.repository}: the registry answered {reply.status_code} {body}"
            )
        return reply

    def manifest(self, reference: str) -> tuple[bytes, str]:
        """A manifest's bytes and media type; an ExternalError when absent."""
        reply = self._call(
            "GET",
            f"{self.base}/manifests/{reference}",
            headers={"Accept": ",".join(MANIFEST_TYPES)},
        )
        self._expect(reply, f"manifest {reference}", 200)
        return reply.content, reply.headers.get("Content-Type", "").split(";")[0]

    def describe(self, digest: str) -> Descriptor:
        """The descriptor of the manifest stored under `digest` (checked)."""
        data, media_type = self.manifest(digest)
        _check(data, digest, f"manifest {digest} of {self.repository}")
        return Descriptor(media_type, digest, len(data))

    def blob(self, digest: str) -> bytes:
        reply = self._call("GET", f"{self.base}/blobs/{digest}")
        data: bytes = self._expect(reply, f"blob {digest}", 200).content
        _check(data, digest, f"blob {digest} of {self.repository}")
        return data

    def put_blob(self, data: bytes) -> Descriptor:
        digest = digest_of(data)
        if self._call("HEAD", f"{self.base}/blobs/{digest}").status_code != 200:
            started = self._call("POST", f"{self.base}/blobs/uploads/")
            location = self._expect(started, "starting an upload", 202).headers["Location"]
            if location.startswith("/"):
                location = self.base.split("/v2/")[0] + location
            joiner = "&" if "?" in location else "?"
            put = self._call(
                "PUT",
                f"{location}{joiner}digest={digest}",
                data=data,
                headers={"Content-Type": "application/octet-stream"},
            )
            self._expect(put, f"blob {digest}", 201)
        return Descriptor("application/octet-stream", digest, len(data))

    def put_manifest(self, data: bytes, media_type: str, reference: str) -> None:
        reply = self._call(
            "PUT",
            f"{self.base}/manifests/{reference}",
            data=data,
            headers={"Content-Type": media_type},
        )
        self._expect(reply, f"manifest {reference}", 201)

    def has_referrers_api(self, digest: str) -> bool:
        reply = self._call("GET", f"{self.base}/referrers/{digest}", headers={"Accept": OCI_INDEX})
        return bool(reply.status_code == 200)

    def add_to_fallback_index(
        self, subject_digest: str, artifact: Descriptor, artifact_type: str
    ) -> None:
        """The referrers tag schema (OCI distribution 1.1, for registries without
        the API): the index tagged `sha256-<hex>` lists every referrer of the image."""
        tag = subject_digest.replace(":", "-")
        manifests: list[Mapping[str, Any]] = []
        reply = self._call("GET", f"{self.base}/manifests/{tag}", headers={"Accept": OCI_INDEX})
        if reply.status_code == 200:
            manifests = list(json.loads(reply.content).get("manifests", []))
        if any(m.get("digest") == artifact.digest for m in manifests):
            return
        manifests.append({**artifact.to_json(), "artifactType": artifact_type})
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        self.put_manifest(json.dumps(index, sort_keys=True).encode(), OCI_INDEX, tag)


def push(
    image_digest_ref: str, document: bytes, media_type: str, credentials: Credentials | None
) -> str:
    """Attach `document` to the image `REPO@sha256:...` as a referrer; returns
    the artifact's `REPO@sha256:...` (the same bytes give the same digest)."""
    repository, _, image_digest = image_digest_ref.partition("@")
    client = Client(repository, credentials)
    subject = client.describe(image_digest)
    client.put_blob(EMPTY_BYTES)
    layer = client.put_blob(document)
    layer = Descriptor(media_type, layer.digest, layer.size)
    manifest = artifact_manifest(subject, media_type, layer)
    digest = digest_of(manifest)
    client.put_manifest(manifest, OCI_MANIFEST, digest)
    if not client.has_referrers_api(image_digest):
        artifact = Descriptor(OCI_MANIFEST, digest, len(manifest))
        client.add_to_fallback_index(image_digest, artifact, media_type)
    return f"{client.repository}@{digest}"


def fetch(artifact_ref: str, media_type: str, credentials: Credentials | None) -> bytes:
    """The document of the referrer `REPO@sha256:...`: its one layer of
    `media_type`, each byte checked against the digests that name it."""
    repository, _, digest = artifact_ref.partition("@")
    client = Client(repository, credentials)
    data, _ = client.manifest(digest)
    _check(data, digest, f"manifest {artifact_ref}")
    layers = [
        lay for lay in json.loads(data).get("layers", []) if lay.get("mediaType") == media_type
    ]
    if len(layers) != 1:
        raise ExternalError(f"{artifact_ref} holds no single {media_type} layer")
    return client.blob(str(layers[0]["digest"]))


def _check(data: bytes, digest: str, what: str) -> None:
    if digest_of(data) != digest:
        raise ExternalError(f"{what}: the registry sent other bytes than the digest names")
