"""What the base image is and holds: its architecture and its Debian packages,
asked of the engine with networking off."""

from __future__ import annotations

from envctl.errors import EngineError
from envctl.oci import platforms

PROBE_TIMEOUT = 120.0
# dpkg's database written in its status file's format, so the probe's parser reads it.
DPKG_QUERY = [
    "dpkg-query",
    "-W",
    "-f=Package: ${Package}\nVersion: ${Version}\nStatus: ${Status}\n\n",
]


def check_platform(base: str, platform: str) -> None:
    from envctl import engine

    arch = str(engine.inspect_image(base).get("Architecture") or "")
    if arch and arch != platforms.target(platform).arch:
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
    from envctl.probe import dpkg_installed  # here: an unchanged build probes nothing

    result = engine.run(base, DPKG_QUERY, timeout=PROBE_TIMEOUT)
    installed = dict(dpkg_installed(result.stdout)) if result.ok else {}
    return [p for p in sorted(set(wanted)) if not is_installed(p, installed)]


def is_installed(requested: str, installed: dict[str, str]) -> bool:
    name, _, version = requested.partition("=")
    return name in installed and (not version or installed[name] == version)
