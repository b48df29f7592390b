"""Rendering Dockerfiles from Jinja2 templates. Pure: no Docker, no network.

Built-in templates ship inside the package (`envctl/templates` in a wheel, the
repository's top-level `templates/` in an editable install). A project's own
`templates/` folder comes first, so it can replace `Dockerfile.j2` outright or
extend the built-in one, which stays reachable as `envctl/Dockerfile.j2`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envctl import paths
from envctl.build.installer import pip_argv
from envctl.errors import InputError
from envctl.spec import values

if TYPE_CHECKING:
    import jinja2

    from envctl.build.lockfile import Lock
    from envctl.spec.loading import Environment
    from envctl.spec.project_file import Serve

TEMPLATE = "Dockerfile.j2"
BUILTIN_PREFIX = "envctl"
VENV = "/opt/venv"
MODEL_DEST = "/opt/model"
WHEELS_DIR = "/tmp/envctl/wheels"
LOCK_IN_CONTEXT = "requirements.lock"
# ensurepip puts these in every venv; they leave it unless the lock asks for them,
# so the image holds exactly the locked distributions and no installer.
INSTALLER_PACKAGES = ("pip", "setuptools")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class ModelSource:
    """A model version as it goes into an image."""

    name: str
    version: str  # "v1.3.0"
    commit: str
    path: str  # folder in the repository
    serve: Serve | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


def builtin_templates() -> Path:
    """Where the built-in templates are: in the wheel, else in the source tree."""
    # The package's own folder (what importlib.resources.files("envctl") is for an
    # installed package), without importing importlib.resources on every build.
    packaged = Path(__file__).resolve().parents[1] / "templates"
    if (packaged / TEMPLATE).is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


def templates_hash(templates_dir: Path | None) -> str:
    """Identity of every template that could be used: a changed template is a
    changed recipe, so it must change the image fingerprint."""
    digest = hashlib.sha256()
    for folder in (builtin_templates(), templates_dir):
        if folder is None or not folder.is_dir():
            continue
        bound = template_bound(folder)
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
                digest.update(paths.inside(path, bound, what="template").read_bytes() + b"\0")
    return digest.hexdigest()


def template_bound(folder: Path) -> Path:
    """Where a template file may resolve to: a project's `templates/` may link
    anywhere in its project (the folder above it), the built-in ones nowhere else."""
    if folder == builtin_templates():
        return folder
    return folder.absolute().parent


class ContainedLoader:
    """Jinja's file loading, but a template (symlinks followed) must stay inside
    its bound: a project's templates/key -> ~/.ssh/id_rsa is refused, never read."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.bound = template_bound(folder)

    def __call__(self, name: str) -> tuple[str, str, Callable[[], bool]] | None:
        parts = name.split("/")
        if any(p in ("", ".", "..") or os.sep in p for p in parts):
            return None  # not a name this folder can hold: Jinja says "not found"
        path = self.folder.joinpath(*parts)
        if not path.is_file():
            return None
        target = paths.inside(path, self.bound, what=f"template {name!r}")
        mtime = target.stat().st_mtime
        text = target.read_text(encoding="utf-8")
        return text, str(path), lambda: target.exists() and target.stat().st_mtime == mtime


def dockerfile_json(value: object) -> str:
    """JSON for exec-form arrays. Not Jinja's tojson: it HTML-escapes, and Docker
    does not decode `\\u0027`."""
    return json.dumps(value, ensure_ascii=False)


def dockerfile_word(value: object) -> str:
    """A double-quoted word for ENV/LABEL, where Docker expands `$VAR`: JSON
    quoting keeps it on one line, `\\$` keeps it literal."""
    return dockerfile_json(str(value)).replace("$", "\\$")


@cache
def _environment(templates_dir: Path | None) -> jinja2.Environment:
    import jinja2

    from envctl.build.sandbox import BoundedSandbox

    builtin = jinja2.FunctionLoader(ContainedLoader(builtin_templates()))
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None and templates_dir.is_dir():
        loaders.append(jinja2.FunctionLoader(ContainedLoader(templates_dir)))
    loaders += [jinja2.PrefixLoader({BUILTIN_PREFIX: builtin}), builtin]
    env = BoundedSandbox(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["json"] = dockerfile_json
    env.filters["dq"] = dockerfile_word
    return env


def render_dockerfile(
    env: Environment,
    lock: Lock,
    *,
    model: ModelSource | None = None,
    system_install: bool,
    templates_dir: Path | None,
    labels: Mapping[str, str] | None = None,
) -> str:
    """The Dockerfile for `env` built from `lock` (and `model`). `system_install`
    says whether the base image lacks a requested system package: then both
    stages start FROM envctl's apt layer (`system_layer.tag`), which has them."""
    import jinja2

    from envctl.build.sandbox import rendered

    context = template_context(
        env, lock, model=model, system_install=system_install, labels=labels or {}
    )
    try:
        template = _environment(templates_dir).get_template(TEMPLATE)
        return rendered(template, context, _shown_template(templates_dir))
    except jinja2.TemplateError as exc:
        raise _template_error(exc, templates_dir) from None


def _shown_template(templates_dir: Path | None) -> str:
    if templates_dir is not None and (templates_dir / TEMPLATE).is_file():
        return paths.shown(templates_dir / TEMPLATE)
    return f"{BUILTIN_PREFIX}/{TEMPLATE}"


def _template_error(exc: Exception, templates_dir: Path | None) -> InputError:
    where = getattr(exc, "filename", None) or getattr(exc, "name", None) or TEMPLATE
    line = getattr(exc, "lineno", None)
    if line is None:  # runtime errors: Jinja maps template lines into the traceback
        import traceback

        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
        if frames:
            where, line = frames[-1].filename, frames[-1].lineno
    location = f"{Path(str(where)).name}:{line}" if line else Path(str(where)).name
    hint = f" (templates from {templates_dir})" if templates_dir else ""
    return InputError(f"template {location}: {exc}{hint}")


def template_context(
    env: Environment,
    lock: Lock,
    *,
    model: ModelSource | None,
    system_install: bool,
    labels: Mapping[str, str],
) -> dict[str, Any]:
    """Plain data for templates; every value checked again here, because a
    template must never be the only thing between a spec and a RUN line."""
    spec = env.spec
    locked = [{"name": e.name, "version": e.version} for e in lock.entries]
    names = {e.name for e in lock.entries}
    system_install = system_install and bool(spec.system_packages)
    base = spec.image.base
    if system_install:
        from envctl.build import system_layer

        base = system_layer.tag(env)
    return {
        "environment": {"name": spec.name, "version": spec.version},
        "base_image": _checked(values.image_ref, base),
        "platform": spec.image.platform,
        "python": spec.python,
        "system_packages": [
            _checked(values.apt_package, p) for p in sorted(set(spec.system_packages))
        ],
        "system_install": system_install,
        "env_vars": {_key(k): v for k, v in spec.env.items()},
        "venv": VENV,
        "pip_install": pip_install_argv() if locked else [],
        "lock": {"packages": locked, "remove": [p for p in INSTALLER_PACKAGES if p not in names]},
        "model": _model_context(model),
        "labels": {_key(k): v for k, v in labels.items()},
    }


def pip_install_argv() -> list[str]:
    return pip_argv(
        f"{VENV}/bin/python", requirements=f"/tmp/envctl/{LOCK_IN_CONTEXT}", wheels=WHEELS_DIR
    )


def _model_context(model: ModelSource | None) -> dict[str, Any] | None:
    if model is None:
        return None
    serve = None
    if model.serve is not None:
        serve = {
            "command": list(model.serve.command),
            "port": int(model.serve.port),
            "health": model.serve.health,
        }
    return {
        "name": model.name,
        "version": model.version,
        "commit": model.commit,
        "dest": MODEL_DEST,
        "serve": serve,
    }


def _checked(check: Any, value: str) -> str:
    try:
        return str(check(value))
    except ValueError as exc:
        raise InputError(f"refusing to render: {exc}") from None


def _key(key: str) -> str:
    if not _KEY.match(key):
        raise InputError(f"refusing to render: {key!r} is not a valid ENV or LABEL key")
    return key
