"""Building (or reusing) an image: cheapest first.

Resolve the fingerprint and look for an image with that tag (a hit starts no
Docker build and runs no container); only then probe the base image, fetch
wheels on the host and build with networking off.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from envctl.build import recipe
from envctl.build.base_image import check_platform, missing_system_packages
from envctl.build.plan import Plan, dockerfile_for, model_archive, plan
from envctl.errors import InputError
from envctl.progress import Progress


@dataclass(frozen=True)
class BuildResult:
    environment: str
    image: str
    id: str
    cached: bool
    fingerprint: str
    size_bytes: int
    lock_hash: str
    model: str | None
    system_install: bool | None
    steps: int
    cached_steps: int
    seconds: float
    pushed: str | None = None
    digest: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "environment": self.environment,
            "image": self.image,
            "id": self.id,
            "cached": self.cached,
            "fingerprint": self.fingerprint,
            "size_bytes": self.size_bytes,
            "lock_hash": self.lock_hash,
            "model": self.model,
            "system_install": self.system_install,
            "steps": self.steps,
            "cached_steps": self.cached_steps,
            "seconds": round(self.seconds, 3),
            "pushed": self.pushed,
            "digest": self.digest,
        }


def build_image(
    operand: str, *, model: str | None = None, push: bool = False, on_line: Progress | None = None
) -> BuildResult:
    """Build (or reuse) the image of `operand`; push it with `push`."""
    from envctl import engine

    started = time.perf_counter()
    the_plan = plan(operand, model=model)
    if engine.image_exists(the_plan.tag):
        result = _result(
            the_plan, cached=True, system_install=None, steps=0, cached_steps=0, started=started
        )
    else:
        result = _build(the_plan, on_line, started)
    return _push(the_plan, result, on_line) if push else result


def _build(the_plan: Plan, on_line: Progress | None, started: float) -> BuildResult:
    from envctl import engine
    from envctl.build import wheels

    spec = the_plan.env.spec
    _emit(on_line, f"base image {spec.image.base}")
    engine.ensure_image(spec.image.base, on_line=on_line)
    check_platform(spec.image.base, spec.image.platform)
    missing = missing_system_packages(spec.image.base, spec.system_packages)
    _emit(on_line, f"fetching {len(the_plan.lock.entries)} locked wheels")
    cached = wheels.fetch(the_plan.lock, on_line=on_line)
    dockerfile = dockerfile_for(the_plan, system_install=bool(missing))
    model_tar = model_archive(the_plan.project, the_plan.model) if the_plan.model else None
    context = recipe.context_tar(
        recipe.context_files(dockerfile, the_plan.lock, [w.path for w in cached], model_tar)
    )
    # The network is on only for the apt layer's sake, and only when it is needed.
    network = "default" if missing else "none"
    _emit(on_line, f"building {the_plan.tag} (network: {network})")
    built = engine.build(
        context, tag=the_plan.tag, labels={}, network_mode=network, on_line=on_line
    )
    return _result(
        the_plan,
        cached=False,
        system_install=bool(missing),
        steps=built.steps,
        cached_steps=built.cached_steps,
        started=started,
    )


def _result(
    the_plan: Plan,
    *,
    cached: bool,
    system_install: bool | None,
    steps: int,
    cached_steps: int,
    started: float,
) -> BuildResult:
    from envctl import engine

    attrs = engine.inspect_image(the_plan.tag)
    return BuildResult(
        the_plan.env.name,
        the_plan.tag,
        str(attrs.get("Id", "")),
        cached,
        the_plan.fingerprint,
        int(attrs.get("Size") or 0),
        the_plan.lock.content_hash,
        the_plan.model.ref if the_plan.model else None,
        system_install,
        steps,
        cached_steps,
        time.perf_counter() - started,
    )


def _push(the_plan: Plan, result: BuildResult, on_line: Progress | None) -> BuildResult:
    from dataclasses import replace

    from envctl import engine

    target = recipe.push_ref(the_plan.tag, the_plan.project.config.registry)
    if target is None:
        raise InputError(
            "nothing says where to push: set `registry:` in envctl.yaml or "
            "image.repository with a registry host in the spec"
        )
    if target != the_plan.tag:
        engine.tag_image(the_plan.tag, target)
    _emit(on_line, f"pushing {target}")
    digest = engine.push(target, on_line=on_line)
    return replace(result, pushed=target, digest=digest or None)


def _emit(on_line: Progress | None, line: str) -> None:
    if on_line is not None:
        on_line(line)
