"""Target platforms: the one table of what envctl builds images for.

A spec's `image.platform` is validated against it, `lock` resolves with its uv
target, wheels are downloaded with its pip tags, a base image's architecture is
checked against it, and the probe names the host's machine with it. A platform
that is not here cannot be locked for, so a spec cannot name it.
"""

from __future__ import annotations

from dataclasses import dataclass

# The glibc floor is what uv calls "manylinux_2_28": any Debian/Ubuntu base newer
# than buster satisfies it.
GLIBC_FLOOR = 28
# Older manylinux aliases (glibc 2.17, 2.12, 2.5); only manylinux2014 exists for aarch64.
_LEGACY_TAGS = ("manylinux2014", "manylinux2010", "manylinux1")


@dataclass(frozen=True)
class Platform:
    name: str  # "linux/amd64", as Docker spells it
    arch: str  # the Architecture the engine reports for an image of it
    wheel_arch: str  # the machine part of a wheel's platform tag
    machines: tuple[str, ...]  # what `uname -m` says on a host of it

    @property
    def uv_platform(self) -> str:
        """uv's `--python-platform` target."""
        return f"{self.wheel_arch}-manylinux_2_{GLIBC_FLOOR}"

    @property
    def pip_platforms(self) -> tuple[str, ...]:
        """Every manylinux tag a glibc-2.28 system of this platform accepts, newest
        first, for `pip download --platform` (pip does not expand manylinux_x_y tags)."""
        tags = [f"manylinux_2_{minor}_{self.wheel_arch}" for minor in range(GLIBC_FLOOR, 4, -1)]
        tags += [
            f"{alias}_{self.wheel_arch}"
            for alias in _LEGACY_TAGS
            if self.wheel_arch == "x86_64" or alias == "manylinux2014"
        ]
        return tuple(tags)


PLATFORMS = {
    p.name: p
    for p in (
        Platform("linux/amd64", "amd64", "x86_64", ("x86_64", "amd64")),
        Platform("linux/arm64", "arm64", "aarch64", ("aarch64", "arm64")),
    )
}


def supported() -> str:
    """The platform names, for messages."""
    return ", ".join(PLATFORMS)


def target(name: str) -> Platform:
    """The table entry of `name`; ValueError naming the supported ones otherwise."""
    try:
        return PLATFORMS[name]
    except KeyError:
        raise ValueError(
            f"{name!r} is not a platform envctl can lock for; use one of {supported()}"
        ) from None


def of_machine(machine: str) -> str | None:
    """The platform of a host whose `uname -m` is `machine`, or None if not in the table."""
    wanted = machine.lower()
    return next((p.name for p in PLATFORMS.values() if wanted in p.machines), None)
