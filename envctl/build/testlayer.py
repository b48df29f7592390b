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

from envctl.build.installer import pip_argv
from envctl.build.render import LOCK_IN_CONTEXT, VENV, dockerfile_json
from envctl.spec.loading import Environment
from envctl.spec.types import TestsGate

_WORK = "/tmp/envctl-tests"
_PYTHON = f"{VENV}/bin/python"
# The target image's venv may have had pip removed; ensurepip brings it back here only.
_ENSURE_PIP = (
    f"{_PYTHON} -m pip --version >/dev/null 2>&1 || {_PYTHON} -m ensurepip --default-pip >/dev/null"
)


def dockerfile(image_id: str) -> str:
    """The test layer: the lock's wheels installed offline above `image_id`."""
    install = pip_argv(_PYTHON, requirements=f"{_WORK}/{LOCK_IN_CONTEXT}", wheels=f"{_WORK}/wheels")
    lines = [
        f"FROM {image_id}",
        f"COPY {dockerfile_json([LOCK_IN_CONTEXT, f'{_WORK}/{LOCK_IN_CONTEXT}'])}",
        f"COPY {dockerfile_json(['wheels/', f'{_WORK}/wheels/'])}",
        f"RUN {dockerfile_json(['/bin/sh', '-c', _ENSURE_PIP])}",
        f"RUN {dockerfile_json(install)}",
    ]
    return "".join(f"{line}\n" for line in lines)


def test_image(env: Environment, image: str, gate: TestsGate) -> str:
    """The image the tests gate runs in: `image` itself, or a cached test layer on it."""
    if not gate.packages:
        return image
    from envctl import engine
    from envctl.build import lockfile, recipe, wheels

    spec = env.spec.replace(packages={**env.spec.packages, **gate.packages})
    seed = _lock_text(env)
    with tempfile.TemporaryDirectory(prefix="envctl-testlock-") as tmp:
        body = lockfile._compile(spec, Path(tmp), seed, False)
    lock = lockfile.parse_lock(lockfile.header(spec) + body, Path("tests.lock"))
    image_id = engine.inspect_image(image)["Id"]
    digest = hashlib.sha256(f"{image_id}\n{body}".encode()).hexdigest()[:12]
    tag = f"{recipe.TESTS_REPOSITORY_PREFIX}{env.name}:{digest}"
    if engine.image_exists(tag):
        return tag
    files = recipe.context_files(
        dockerfile(image_id), lock, [w.path for w in wheels.fetch(lock, indexes=spec.indexes)], None
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

    project = find_project()
    path = lockfile.lock_path(project, env)
    return (
        lockfile.read_lock_text(path, lockfile.lock_bound(project, path))
        if path.is_file()
        else None
    )
