"""System packages the base image lacks, installed by apt in a layer of their own.

A build is offline: every step of the (project's) template runs with networking
off. The one exception a spec may ask for is `image.network: apt`: then envctl
builds, from its own fixed Dockerfile (no template code runs in it), the base
image plus the spec's system packages with the engine's default network, and the
template's build starts FROM that layer, offline. Without the opt-in a package
missing from the base image stops the build before anything runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from envctl.build.logfile import LogFile
from envctl.build.recipe import SYSTEM_REPOSITORY
from envctl.build.render import dockerfile_json
from envctl.errors import EngineError, InputError
from envctl.progress import Progress
from envctl.spec import values
from envctl.spec.loading import Environment

REPOSITORY = SYSTEM_REPOSITORY
_APT = (
    "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install --yes "
    '--no-install-recommends "$@" && rm -rf /var/lib/apt/lists/*'
)


def is_allowed(env: Environment) -> bool:
    return env.spec.image.network == "apt"


def refuse_offline(env: Environment, missing: list[str]) -> InputError:
    """Packages the base lacks, in a spec that did not opt in to the network."""
    return InputError(
        f"system package(s) {', '.join(missing)} are not in the base image "
        f"{env.spec.image.base} and this build has no network (image.network: none); "
        "use a base image that already has them (install them into it once and pin "
        f"that image), or set image.network: apt in {env.source} to let envctl's apt "
        "step reach a mirror"
    )


def packages(env: Environment) -> list[str]:
    return [_checked(values.apt_package, p) for p in sorted(set(env.spec.system_packages))]


def _checked(check: Callable[[str], str], value: str) -> str:
    try:
        return check(value)
    except ValueError as exc:
        raise InputError(f"refusing to render: {exc}") from None


def tag(env: Environment) -> str:
    """Named for what it holds: the base image, the platform and the packages."""
    spec = env.spec
    data = {"base": spec.image.base, "platform": spec.image.platform, "apt": packages(env)}
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    return f"{REPOSITORY}:{digest[:12]}"


def dockerfile(env: Environment) -> str:
    run = ["/bin/sh", "-c", _APT, "envctl-apt", *packages(env)]
    lines = [
        f"FROM {_checked(values.image_ref, env.spec.image.base)}",
        "# Built by envctl with the engine's default network (image.network: apt).",
        f"RUN {dockerfile_json(run)}",
    ]
    return "".join(f"{line}\n" for line in lines)


def labels(env: Environment) -> dict[str, str]:
    return {
        "dev.envctl.owner": "envctl",
        "dev.envctl.purpose": "system-packages",
        "dev.envctl.build-network": "apt",
    }


_NO_NETWORK = ("Temporary failure resolving", "Could not resolve", "Network is unreachable")


def build(env: Environment, missing: list[str], *, on_line: Progress | None, log: LogFile) -> None:
    """The base image plus its missing system packages, built from `dockerfile`
    with the engine's default network; reused when an image of that name exists."""
    from envctl import engine
    from envctl.build import recipe

    name = tag(env)
    if engine.image_exists(name):
        _emit(on_line, f"system packages: {name} (cached)")
        return
    _emit(on_line, f"system packages: building {name} (network: default, image.network: apt)")
    context = recipe.context_tar([recipe.ContextFile("Dockerfile", dockerfile(env).encode())])
    try:
        engine.build(
            context,
            tag=name,
            labels=labels(env),
            network_mode="default",
            on_line=log,
            on_step=on_line,
        )
    except EngineError as exc:
        raise _explained(exc, missing, env.spec.image.base, log) from None


def log_hint(log: LogFile) -> str:
    return f"; full log: {log.written}" if log.written else ""


def _explained(exc: EngineError, missing: list[str], base: str, log: LogFile) -> EngineError:
    """Which packages, whether apt reached a mirror at all, and the ways out."""
    offline = any(marker in line for line in exc.details for marker in _NO_NETWORK)
    why = (
        "the engine's default network does not reach a Debian mirror"
        if offline
        else "apt could not install them (see the log)"
    )
    return EngineError(
        f"system package(s) {', '.join(missing)} are not in the base image {base} and "
        f"envctl's apt layer failed: {why}; use a base image that already has them "
        "(install them into it once and pin that image), or build on an engine whose "
        f"default network reaches a mirror{log_hint(log)}",
        details=exc.details,
    )


def _emit(on_line: Progress | None, line: str) -> None:
    if on_line is not None:
        on_line(line)
