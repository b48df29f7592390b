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

from envctl.build.recipe import SYSTEM_REPOSITORY
from envctl.build.render import dockerfile_json
from envctl.errors import InputError
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
