"""What the base image is and holds: its architecture and its Debian packages,
asked of the engine with networking off."""

from __future__ import annotations

from envctl import platforms
from envctl.errors import EngineError

PROBE_TIMEOUT = 120.0


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
