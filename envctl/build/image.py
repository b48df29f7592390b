"""Building (or reusing) an image: cheapest first.

Resolve the content fingerprint and look for an image with that tag (a hit
starts no Docker build and runs no container); then, with `registry:` set in
envctl.yaml, in the registry (a hit is pulled: the registry is the shared
cache, so a second machine builds nothing); only then probe the base image,
fetch wheels on the host and build with networking off.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from envctl.build import recipe, system_layer
from envctl.build.base_image import check_platform, missing_system_packages
from envctl.build.logfile import LogFile
from envctl.build.plan import Plan, dockerfile_for, model_archive, plan
from envctl.errors import EngineError, InputError
from envctl.progress import Progress

if TYPE_CHECKING:
    from envctl.build.wheels import Wheel
    from envctl.output.build import BuildDocument


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
    log: str | None = None  # the full build log, when anything was built or pushed
    pulled: str | None = None  # the registry reference pulled instead of building
    reference: str | None = None  # REPO@sha256:... any machine can pull, once known

    def document(self) -> BuildDocument:
        # Imported here: an unchanged build printed as text defines no model.
        from envctl.output.build import BuildDocument

        return BuildDocument(
            environment=self.environment,
            image=self.image,
            id=self.id,
            cached=self.cached,
            fingerprint=self.fingerprint,
            size_bytes=self.size_bytes,
            lock_hash=self.lock_hash,
            model=self.model,
            system_install=self.system_install,
            steps=self.steps,
            cached_steps=self.cached_steps,
            seconds=round(self.seconds, 3),
            pushed=self.pushed,
            digest=self.digest,
            log=self.log,
            pulled=self.pulled,
            reference=self.reference,
        )


def build_image(
    operand: str,
    *,
    model: str | None = None,
    push: bool = False,
    on_line: Progress | None = None,
    log: Progress | None = None,
) -> BuildResult:
    """Build (or reuse) the image of `operand`; push it with `push`.

    `on_line` gets one concise line per step (base image, wheels, each build
    step, push); every line the engine and pip print goes to a log file (its
    path in the result) and, when given, to `log` (`--verbose`)."""
    started = time.perf_counter()
    the_plan = plan(operand, model=model)
    return build_planned(the_plan, push=push, on_line=on_line, log=log, started=started)


def build_planned(
    the_plan: Plan,
    *,
    push: bool = False,
    on_line: Progress | None = None,
    log: Progress | None = None,
    started: float | None = None,
) -> BuildResult:
    """`build_image` of a plan already made: the local tag, else the registry's,
    else a build."""
    from envctl import engine

    started = time.perf_counter() if started is None else started
    with LogFile(f"build-{the_plan.env.name}", echo=log) as raw:
        if engine.image_exists(the_plan.tag):
            result = _result(
                the_plan, cached=True, system_install=None, steps=0, cached_steps=0, started=started
            )
        elif (pulled := _pull_from_registry(the_plan, on_line, raw)) is not None:
            result = _result(
                the_plan, cached=True, system_install=None, steps=0, cached_steps=0, started=started
            )
            result = replace(result, pulled=pulled)
        else:
            result = _build(the_plan, on_line, raw, started)
        if push:
            result = _push(the_plan, result, on_line, raw)
    return replace(result, log=raw.written)


def _pull_from_registry(the_plan: Plan, on_line: Progress | None, raw: LogFile) -> str | None:
    """The content tag from the registry, tagged locally; None when the registry
    does not have it (or cannot be reached: then the image is built here)."""
    from envctl import engine

    source = recipe.push_ref(the_plan.tag, the_plan.project.settings.registry)
    if source is None:
        return None
    reason = engine.pull(source, on_line=raw)
    if reason:
        if engine.is_not_found(reason):
            raw(f"{source} is not in the registry: building it")
        else:
            why = (reason.strip().splitlines() or ["no reason given"])[0]
            _emit(on_line, f"could not pull {source} ({why}): building it here")
        return None
    if source != the_plan.tag:
        engine.tag_image(source, the_plan.tag)
    _emit(on_line, f"pulled {source} from the registry (nothing built)")
    return source


def _build(the_plan: Plan, on_line: Progress | None, raw: LogFile, started: float) -> BuildResult:
    from envctl import engine

    spec = the_plan.env.spec
    if not engine.image_exists(spec.image.base):
        _emit(on_line, f"pulling base image {spec.image.base}")
    engine.ensure_image(spec.image.base, on_line=raw)
    check_platform(spec.image.base, spec.image.platform)
    missing = missing_system_packages(spec.image.base, spec.system_packages)
    if missing and not system_layer.is_allowed(the_plan.env):
        raise system_layer.refuse_offline(the_plan.env, missing)
    fetched = _fetch_wheels(the_plan, on_line, raw)
    if missing:
        system_layer.build(the_plan.env, missing, on_line=on_line, log=raw)
    dockerfile = dockerfile_for(the_plan, system_install=bool(missing))
    model_tar = model_archive(the_plan.project, the_plan.model) if the_plan.model else None
    context = recipe.context_tar(
        recipe.context_files(dockerfile, the_plan.lock, [w.path for w in fetched], model_tar)
    )
    # Every step of the template runs offline, whatever image.network says.
    _emit(on_line, f"building {the_plan.tag} (network: none)")
    try:
        built = engine.build(
            context,
            tag=the_plan.tag,
            labels={},
            network_mode="none",
            on_line=raw,
            on_step=on_line,
        )
    except EngineError as exc:
        raise EngineError(exc.message + _log_hint(raw), details=exc.details) from None
    return _result(
        the_plan,
        cached=False,
        system_install=bool(missing),
        steps=built.steps,
        cached_steps=built.cached_steps,
        started=started,
    )


def _fetch_wheels(the_plan: Plan, on_line: Progress | None, raw: LogFile) -> list[Wheel]:
    from envctl.build import wheels

    entries = the_plan.lock.entries
    root = wheels.cache_dir()
    to_fetch = [e for e in entries if wheels.cached(e, root) is None]
    if to_fetch:
        _emit(on_line, f"wheels: fetching {len(to_fetch)} of {len(entries)} (the rest are cached)")
    fetched = wheels.fetch(the_plan.lock, on_line=raw, indexes=the_plan.env.spec.indexes)
    fresh = {e.name for e in to_fetch}
    size = sum(w.path.stat().st_size for w in fetched if w.entry.name in fresh)
    _emit(
        on_line,
        f"wheels: {len(fetched)} ready, {len(to_fetch)} fetched ({size / 1e6:.1f} MB), "
        f"{len(fetched) - len(to_fetch)} from the cache",
    )
    return fetched


def _log_hint(raw: LogFile) -> str:
    return system_layer.log_hint(raw)


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
    target = recipe.push_ref(the_plan.tag, the_plan.project.settings.registry)
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
        reference=recipe.digest_in(attrs.get("RepoDigests") or [], target),
    )


def _push(
    the_plan: Plan, result: BuildResult, on_line: Progress | None, raw: LogFile
) -> BuildResult:
    from envctl import engine

    target = recipe.push_ref(the_plan.tag, the_plan.project.settings.registry)
    if target is None:
        raise InputError(
            "nothing says where to push: set `registry:` in envctl.yaml or "
            "image.repository with a registry host in the spec"
        )
    if target != the_plan.tag:
        engine.tag_image(the_plan.tag, target)
    _emit(on_line, f"pushing {target}")
    digest = engine.push(target, on_line=raw)
    reference = recipe.digest_ref(target, digest) if digest else result.reference
    return replace(result, pushed=target, digest=digest or None, reference=reference)


def _emit(on_line: Progress | None, line: str) -> None:
    if on_line is not None:
        on_line(line)
