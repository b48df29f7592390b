"""What an image is made of and how it is named: fingerprint, tag, labels, context.

Pure functions of the resolved spec, its lock and (for model images) a model
version; `envctl.build.image` does the I/O around them.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from envctl.build.lockfile import Lock
from envctl.build.render import LOCK_IN_CONTEXT, ModelSource
from envctl.errors import InputError
from envctl.oci import image_ref
from envctl.spec.loading import Environment

LABEL_PREFIX = "dev.envctl."
# envctl's own layers, named by envctl (system_layer, testlayer); no spec may use them.
SYSTEM_REPOSITORY = "envctl/system"
TESTS_REPOSITORY_PREFIX = "envctl-tests/"


@dataclass(frozen=True)
class ContextFile:
    name: str  # path inside the build context
    data: bytes
    mode: int = 0o644


def content_fingerprint(
    env: Environment, lock: Lock, *, templates: str, model: ModelSource | None = None
) -> str:
    """sha256 of what goes into the image and nothing else: base image, platform,
    Python, the lock's body, system packages, `env`, the templates and (for a model
    image) the model's name, version, commit, folder and serve command. A stage's
    name, description, version, gates, waivers, data and compute are not in it, so
    two stages with the same content name (and share) the same image."""
    spec = env.spec
    data = {
        "base": spec.image.base,
        "platform": spec.image.platform,
        "python": spec.python,
        "lock": lock.content_hash,
        "system_packages": sorted(set(spec.system_packages)),
        "env": dict(sorted(spec.env.items())),
        "templates": templates,
        "model": None if model is None else _model_content(model),
    }
    if spec.image.network != "none":  # absent by default: existing fingerprints stay
        data["network"] = spec.image.network
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _model_content(model: ModelSource) -> dict[str, object]:
    serve = model.serve
    return {
        "name": model.name,
        "version": model.version,
        "commit": model.commit,
        "path": model.path,
        "serve": None
        if serve is None
        else {"command": list(serve.command), "port": int(serve.port), "health": serve.health},
    }


def repository(env: Environment) -> str:
    """Where the image is tagged: the spec's image.repository, else envctl/<env>."""
    repo = env.spec.image.repository or f"envctl/{env.name}"
    if repo == SYSTEM_REPOSITORY or repo.startswith(TESTS_REPOSITORY_PREFIX):
        # envctl reuses images of these names by tag (the apt layer, test layers);
        # a spec must not be able to plant one for another spec's build to reuse.
        raise InputError(f"image.repository {repo!r} is reserved for envctl's own layers")
    parsed = _parsed(repo)
    if parsed.tag or parsed.digest:
        raise InputError(
            f"image.repository {repo!r} must not carry a tag or digest; "
            "envctl tags images by fingerprint"
        )
    return repo


def _parsed(ref: str) -> image_ref.ImageRef:
    try:
        return image_ref.parse(ref)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def image_tag(env: Environment, fp: str, model: ModelSource | None = None) -> str:
    """The image's name: its repository and its content fingerprint. A model image
    is named for the model (`envctl/model-churn:v1.0.0-<content12>`), not for a
    stage, so every stage with the same content finds the same image; an
    environment image stays `envctl/<env>:<content12>`."""
    if model is None:
        return f"{repository(env)}:{fp[:12]}"
    if env.spec.image.repository:
        return f"{repository(env)}:{model.name}-{model.version}-{fp[:12]}"
    return f"envctl/model-{model.name.lower()}:{model.version}-{fp[:12]}"


def push_ref(tag: str, registry: str | None) -> str | None:
    """Where `tag` is pushed: as is when it names a registry host, else under
    envctl.yaml's `registry`; None when neither says where."""
    if _parsed(tag).host:
        return tag
    if registry:
        return f"{registry.rstrip('/')}/{tag}"
    return None


def digest_ref(ref: str, digest: str) -> str:
    """`host/team/img:tag` pushed as `sha256:...` -> `host/team/img@sha256:...`."""
    return f"{_parsed(ref).repository}@{digest}"


def digest_in(repo_digests: Iterable[str], ref: str | None) -> str | None:
    """Of an image's RepoDigests, the one in `ref`'s repository (where envctl
    pushes and pulls it); None when it was never pushed or pulled there."""
    if ref is None:
        return None
    repository = _parsed(ref).repository
    return next((d for d in repo_digests if d.partition("@")[0] == repository), None)


def parse_model_ref(operand: str) -> tuple[str, str]:
    """`churn@v1.3.0` -> ("churn", "v1.3.0"), versions read as the registry reads them."""
    from envctl import registry as reg  # here: an unchanged build reads no ledger

    name, version = reg.split_version_ref(operand)
    if not name or version is None:
        raise InputError(f"{operand!r} is not a model version like churn@v1.3.0")
    return name, version


def labels(
    env: Environment, lock: Lock, fp: str, *, commit: str, model: ModelSource | None = None
) -> dict[str, str]:
    """OCI labels plus dev.envctl.*: what the image holds, enough to compare it with
    a spec from registry metadata alone. Only content: no stage name, spec version
    or spec text, which would make each stage's image a different one. A model
    image's commit is the model's; an environment image's is the commit it was
    first built at (`commit`)."""
    spec = env.spec
    revision = model.commit if model else commit
    out = {
        "org.opencontainers.image.title": model.name if model else "",
        "org.opencontainers.image.version": model.version if model else "",
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.base.name": spec.image.base,
        f"{LABEL_PREFIX}fingerprint": fp,
        f"{LABEL_PREFIX}lock-hash": lock.content_hash,
        f"{LABEL_PREFIX}git-commit": revision,
        f"{LABEL_PREFIX}python": spec.python,
        f"{LABEL_PREFIX}platform": spec.image.platform,
        f"{LABEL_PREFIX}packages": json.dumps(
            lock.versions(), sort_keys=True, separators=(",", ":")
        ),
    }
    if spec.image.network != "none":
        out[f"{LABEL_PREFIX}build-network"] = spec.image.network
    if model is not None:
        out[f"{LABEL_PREFIX}model"] = model.ref
        out[f"{LABEL_PREFIX}model-commit"] = model.commit
    return {k: v for k, v in out.items() if v}


def context_files(
    dockerfile: str, lock: Lock, wheels: Iterable[Path], model_tar: bytes | None
) -> list[ContextFile]:
    files = [
        ContextFile("Dockerfile", dockerfile.encode()),
        ContextFile(LOCK_IN_CONTEXT, lock.body.encode()),
    ]
    files += [ContextFile(f"wheels/{w.name}", w.read_bytes()) for w in sorted(wheels)]
    if model_tar is not None:
        files += model_files(model_tar)
    return files


def model_files(archive: bytes) -> list[ContextFile]:
    """Regular files of a `git archive` tar, under `model/`. Symlinks and other
    special members are dropped: model code is copied, never linked out of it."""
    import tarfile  # here: an unchanged build packs no context

    out: list[ContextFile] = []
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member) if member.isfile() else None
            if handle is None:
                continue
            name = member.name.removeprefix("./")
            out.append(ContextFile(f"model/{name}", handle.read(), member.mode & 0o755))
    return out


def context_tar(files: Iterable[ContextFile]) -> bytes:
    """A build context as an uncompressed tar. Owner, times and order are fixed
    so the engine's layer cache sees the same bytes for the same inputs."""
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for item in sorted(files, key=lambda f: f.name):
            info = tarfile.TarInfo(item.name)
            info.size, info.mode, info.mtime = len(item.data), item.mode, 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(item.data))
    return buffer.getvalue()
