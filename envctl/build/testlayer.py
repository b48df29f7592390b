"""The tests gate's image: test-only packages in a layer ABOVE the target image.

The target image is never changed. Test packages are resolved with the same
resolver as environment locks, seeded with the environment's lock so nothing
already installed moves, downloaded hash-checked on the host, and installed
with no network from the build context.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from envctl.spec.loading import Environment
from envctl.spec.model import TestsGate

_DOCKERFILE = """\
FROM {image}
COPY ["requirements.lock", "/tmp/envctl-tests/requirements.lock"]
COPY ["wheels/", "/tmp/envctl-tests/wheels/"]
RUN ["/bin/sh", "-c", "/opt/venv/bin/python -m pip --version >/dev/null 2>&1 || /opt/venv/bin/python -m ensurepip --default-pip >/dev/null"]
RUN ["/opt/venv/bin/python", "-m", "pip", "install", "--no-index", "--no-deps", "--require-hashes", "--no-cache-dir", "--disable-pip-version-check", "--find-links", "/tmp/envctl-tests/wheels", "-r", "/tmp/envctl-tests/requirements.lock"]
"""


def test_image(env: Environment, image: str, gate: TestsGate) -> str:
    """The image the tests gate runs in: `image` itself, or a cached test layer on it."""
    if not gate.packages:
        return image
    from envctl import engine
    from envctl.build import lockfile, recipe, wheels

    spec = env.spec.model_copy(update={"packages": {**env.spec.packages, **gate.packages}})
    seed = _lock_text(env)
    with tempfile.TemporaryDirectory(prefix="envctl-testlock-") as tmp:
        body = lockfile._compile(spec, Path(tmp), seed, False)
    lock = lockfile.parse_lock(lockfile.header(spec) + body, Path("tests.lock"))
    image_id = engine.inspect_image(image)["Id"]
    digest = hashlib.sha256(f"{image_id}\n{body}".encode()).hexdigest()[:12]
    tag = f"envctl-tests/{env.name}:{digest}"
    if engine.image_exists(tag):
        return tag
    files = recipe.context_files(
        _DOCKERFILE.format(image=image_id), lock, [w.path for w in wheels.fetch(lock)], None
    )
    engine.build(
        recipe.context_tar(files),
        tag=tag,
        labels={"dev.envctl.owner": "envctl", "dev.envctl.purpose": "tests"},
    )
    return tag


def _lock_text(env: Environment) -> str | None:
    from envctl.build import lockfile
    from envctl.spec.loading import find_project

    path = lockfile.lock_path(find_project(), env)
    return path.read_text(encoding="utf-8") if path.is_file() else None
