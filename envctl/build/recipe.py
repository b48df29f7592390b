"""What an image is made of and how it is named: fingerprint, tag, labels, context.

Pure functions of the resolved spec, its lock and (for model images) a model
version; `envctl.commands.build` does the I/O around them.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from envctl import registry as reg
from envctl.build.lockfile import Lock
from envctl.build.render import LOCK_IN_CONTEXT, ModelSource
from envctl.errors import InputError
from envctl.oci import image_ref
from envctl.spec.loading import Environment

LABEL_PREFIX = "dev.envctl."


@dataclass(frozen=True)
class ContextFile:
    name: str  # path inside the build context
    data: bytes
    mode: int = 0o644


def fingerprint(
    env: Environment, lock: Lock, *, templates: str, model: ModelSource | None = None
) -> str:
    """sha256 of the canonical spec + lock body + templates [+ model version and commit].
    Key order, comments and the lock header do not change it; a new template does."""
    data = {
        "spec": env.spec.canonical(),
        "lock": lock.content_hash,
        "templates": templates,
        "model": None
        if model is None
        else {"name": model.name, "version": model.version, "commit": model.commit},
    }
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def repository(env: Environment) -> str:
    """Where the image is tagged: the spec's image.repository, else envctl/<env>."""
    repo = env.spec.image.repository or f"envctl/{env.name}"
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
    tag = fp[:12] if model is None else f"{model.name}-{model.version}-{fp[:12]}"
    return f"{repository(env)}:{tag}"


def push_ref(tag: str, registry: str | None) -> str | None:
    """Where `tag` is pushed: as is when it names a registry host, else under
    envctl.yaml's `registry`; None when neither says where."""
    if _parsed(tag).host:
        return tag
    if registry:
        return f"{registry.rstrip('/')}/{tag}"
    return None


def parse_model_ref(operand: str) -> tuple[str, str]:
    """`churn@v1.3.0` -> ("churn", "v1.3.0"), versions read as the registry reads them."""
    name, version = reg.split_version_ref(operand)
    if not name or version is None:
        raise InputError(f"{operand!r} is not a model version like churn@v1.3.0")
    return name, version


def labels(
    env: Environment, lock: Lock, fp: str, *, commit: str, model: ModelSource | None = None
) -> dict[str, str]:
    """OCI labels plus dev.envctl.*: enough to compare an image with a spec from
    registry metadata alone (spec and locked versions are in them)."""
    spec = env.spec
    revision = model.commit if model else commit
    out = {
        "org.opencontainers.image.title": repository(env),
        "org.opencontainers.image.version": model.version if model else f"v{spec.version}",
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.base.name": spec.image.base,
        f"{LABEL_PREFIX}environment": spec.name,
        f"{LABEL_PREFIX}spec-version": str(spec.version),
        f"{LABEL_PREFIX}fingerprint": fp,
        f"{LABEL_PREFIX}lock-hash": lock.content_hash,
        f"{LABEL_PREFIX}git-commit": commit,
        f"{LABEL_PREFIX}python": spec.python,
        f"{LABEL_PREFIX}platform": spec.image.platform,
        f"{LABEL_PREFIX}packages": json.dumps(
            lock.versions(), sort_keys=True, separators=(",", ":")
        ),
        f"{LABEL_PREFIX}spec": json.dumps(spec.canonical(), sort_keys=True, separators=(",", ":")),
    }
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
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for item in sorted(files, key=lambda f: f.name):
            info = tarfile.TarInfo(item.name)
            info.size, info.mode, info.mtime = len(item.data), item.mode, 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(item.data))
    return buffer.getvalue()
