"""build: a spec (+ lock [+ model version]) into a tagged, labelled image.

Order of work, cheapest first: resolve the fingerprint and look for an image
with that tag (a hit starts no Docker build and runs no container); only then
probe the base image, fetch wheels on the host and build with networking off.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envctl import lockfile, recipe, render
from envctl.errors import EngineError, GitError, InputError, UnknownNameError
from envctl.lockfile import Lock
from envctl.project import Environment, Project, load_environment, require_project
from envctl.render import ModelSource

LineSink = Callable[[str], None]
PROBE_TIMEOUT = 120.0
_ARCH = {
    "linux/amd64": "amd64",
    "linux/arm64": "arm64",
    "linux/arm/v7": "arm",
    "linux/ppc64le": "ppc64le",
    "linux/s390x": "s390x",
}


@dataclass(frozen=True)
class Plan:
    """Everything that decides an image, resolved without touching Docker."""

    project: Project
    env: Environment
    lock: Lock
    model: ModelSource | None
    fingerprint: str
    tag: str
    commit: str

    def labels(self) -> dict[str, str]:
        return recipe.labels(
            self.env, self.lock, self.fingerprint, commit=self.commit, model=self.model
        )


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


def plan(operand: str, *, model: str | None = None) -> Plan:
    """Spec, fresh lock, model version, fingerprint and tag (exit 3 on a stale lock)."""
    project = require_project()
    env = load_environment(operand, project)
    lock = lockfile.require_fresh(project, env)
    source = resolve_model(project, model) if model else None
    fp = recipe.fingerprint(
        env, lock, templates=render.templates_hash(templates_dir(project)), model=source
    )
    return Plan(
        project, env, lock, source, fp, recipe.image_tag(env, fp, source), head_commit(project)
    )


def build(
    operand: str, *, model: str | None = None, push: bool = False, on_line: LineSink | None = None
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


def _build(the_plan: Plan, on_line: LineSink | None, started: float) -> BuildResult:
    from envctl import engine, wheels

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


def dockerfile_for(the_plan: Plan, *, system_install: bool) -> str:
    return render.render_dockerfile(
        the_plan.env,
        the_plan.lock,
        model=the_plan.model,
        system_install=system_install,
        templates_dir=templates_dir(the_plan.project),
        labels=the_plan.labels(),
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


def _push(the_plan: Plan, result: BuildResult, on_line: LineSink | None) -> BuildResult:
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


def _emit(on_line: LineSink | None, line: str) -> None:
    if on_line is not None:
        on_line(line)


# ---- inputs --------------------------------------------------------------------


def templates_dir(project: Project) -> Path | None:
    folder = project.root / "templates"
    return folder if folder.is_dir() else None


def head_commit(project: Project) -> str:
    from envctl import vcs

    if not vcs.is_repo(project.root):
        return ""
    return vcs.run(project.root, "rev-parse", "--verify", "--quiet", "HEAD", check=False).strip()


def resolve_model(project: Project, operand: str) -> ModelSource:
    """`NAME@vX.Y.Z`: a model of envctl.yaml at its annotated version tag."""
    from envctl import vcs

    name, version = recipe.parse_model_ref(operand)
    model = project.config.models.get(name)
    if model is None:
        known = ", ".join(sorted(project.config.models)) or "none"
        raise UnknownNameError(f"unknown model {name!r} (known: {known}; see envctl.yaml models:)")
    tag = f"{name}@{version}"
    kind = vcs.run(project.root, "cat-file", "-t", f"refs/tags/{tag}", check=False).strip()
    if kind != "tag":
        what = "is a lightweight tag" if kind == "commit" else "does not exist"
        raise UnknownNameError(
            f"model version {tag} {what}; tag versions with git tag -a {tag} -m ..."
        )
    commit = vcs.run(project.root, "rev-parse", f"refs/tags/{tag}^{{commit}}").strip()
    return ModelSource(name, version, commit, model.path, model.serve)


def model_archive(project: Project, model: ModelSource) -> bytes:
    """The model's folder at its version's commit, as a tar (`git archive`)."""
    import tempfile

    from envctl import vcs

    root = vcs.toplevel(project.root)
    relpath = (project.root / model.path).resolve().relative_to(root.resolve()).as_posix()
    with tempfile.TemporaryDirectory(prefix="envctl-model-") as tmp:
        out = Path(tmp) / "model.tar"
        try:
            vcs.run(root, "archive", "--format=tar", "-o", str(out), f"{model.commit}:{relpath}")
        except GitError:
            raise InputError(
                f"{model.path} does not exist at {model.ref} "
                f"({model.commit[:12]}); check models.{model.name}.path"
            ) from None
        return out.read_bytes()


# ---- the base image ----------------------------------------------------------------


def check_platform(base: str, platform: str) -> None:
    from envctl import engine

    arch = str(engine.inspect_image(base).get("Architecture") or "")
    if arch and _ARCH.get(platform) not in (None, arch):
        raise EngineError(
            f"base image {base} is {arch} but the spec's platform is "
            f"{platform}; the wheels would not run there"
        )


def missing_system_packages(base: str, wanted: list[str]) -> list[str]:
    """The requested Debian packages (`name` or `name=version`) the base image lacks,
    read from its dpkg database with networking off."""
    if not wanted:
        return []
    from envctl import engine

    result = engine.run(
        base, ["dpkg-query", "-W", "-f=${Package}\t${Version}\t${Status}\n"], timeout=PROBE_TIMEOUT
    )
    installed = parse_dpkg(result.stdout) if result.ok else {}
    return [p for p in sorted(set(wanted)) if not is_installed(p, installed)]


def parse_dpkg(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[2].endswith(" installed"):
            out[parts[0].split(":", 1)[0]] = parts[1]
    return out


def is_installed(requested: str, installed: dict[str, str]) -> bool:
    name, _, version = requested.partition("=")
    return name in installed and (not version or installed[name] == version)


def load_for_render(operand: str) -> tuple[Project, Environment]:
    project = require_project()
    return project, load_environment(operand, project)
