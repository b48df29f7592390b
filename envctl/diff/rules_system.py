"""Rules for the system packages area (apt packages, `name` or `name=version`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from envctl.diff.model import Finding, Side, make_finding


def _apt(entries: Iterable[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for entry in entries:
        name, _, version = entry.partition("=")
        out[name] = version or None
    return out


def compare_system_packages(left: Side, right: Side) -> Iterator[Finding]:
    if left.system_packages is None or right.system_packages is None:
        return
    lapt, rapt = _apt(left.system_packages), _apt(right.system_packages)
    if left.is_reality != right.is_reality:
        yield from _system_installed(left, right, lapt, rapt)
        return
    for name, lv in lapt.items():
        path = f"system_packages.{name}"
        if name not in rapt:
            yield make_finding(
                left,
                right,
                "system_package.missing",
                "warning",
                path,
                _apt_show(name, lv),
                None,
                f"{left.label} installs the system package {name} but "
                f"{right.label} does not: native libraries code relies on may be missing in "
                f"{right.label}.",
            )
        elif lv and rapt[name] and lv != rapt[name]:
            yield _system_version(left, right, name, lv, str(rapt[name]))
    for name, rv in rapt.items():
        if name not in lapt:
            yield make_finding(
                left,
                right,
                "system_package.extra",
                "info",
                f"system_packages.{name}",
                None,
                _apt_show(name, rv),
                f"{right.label} installs the system package {name} but {left.label} does not.",
            )


def _system_installed(
    left: Side, right: Side, lapt: Mapping[str, str | None], rapt: Mapping[str, str | None]
) -> Iterator[Finding]:
    spec, real = (right, left) if left.is_reality else (left, right)
    wanted, have = (rapt, lapt) if left.is_reality else (lapt, rapt)
    for name, version in wanted.items():
        path = f"system_packages.{name}"
        if name not in have:
            shown = _apt_show(name, version)
            lv, rv = (shown, None) if spec is left else (None, shown)
            yield make_finding(
                left,
                right,
                "system_package.missing",
                "error",
                path,
                lv,
                rv,
                f"{spec.label} requires the system package {name} but it is not "
                f"installed in {real.label}.",
            )
        elif version and have[name] and version != have[name]:
            lv, rv = (version, str(have[name])) if spec is left else (str(have[name]), version)
            yield _system_version(left, right, name, lv, rv)


def _system_version(left: Side, right: Side, name: str, lv: str, rv: str) -> Finding:
    return make_finding(
        left,
        right,
        "system_package.version",
        "warning",
        f"system_packages.{name}",
        f"{name}={lv}",
        f"{name}={rv}",
        f"the system package {name} is {lv} in {left.label} but {rv} in {right.label}.",
    )


def _apt_show(name: str, version: str | None) -> str:
    return f"{name}={version}" if version else name


def compare_build_network(left: Side, right: Side) -> Iterator[Finding]:
    """`image.network: apt` on one side only: that side's apt step reached a
    network while the build ran, the other side's build was offline throughout."""
    if left.build_network is None or right.build_network is None:
        return
    if left.build_network == right.build_network:
        return
    online, offline = (left, right) if left.build_network != "none" else (right, left)
    yield make_finding(
        left,
        right,
        "image.network",
        "warning",
        "image.network",
        left.build_network,
        right.build_network,
        f"{online.label} builds with network for apt (image.network: "
        f"{online.build_network}) but {offline.label} builds offline: its system "
        "packages come from whatever the mirror served at build time.",
    )
