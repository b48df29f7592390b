"""Where a spec says something: its YAML positions as dotted finding paths."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from envctl.spec import values

if TYPE_CHECKING:
    from envctl.spec.loading import Environment

Pos = tuple[str, int]  # file, line


def dotted_positions(env: Environment) -> dict[str, Pos]:
    """yamldoc paths -> dotted finding paths. Package keys become PEP 503 names and
    list items are addressed by value (`data.allowed.research`), as findings are."""
    spec = env.spec
    lists: dict[tuple[str, ...], list[str]] = {
        ("system_packages",): [
            values.package_name(p.split("=", 1)[0]) for p in spec.system_packages
        ],
        ("data", "allowed"): list(spec.data.allowed),
        ("data", "sources"): list(spec.data.sources),
        ("compute", "engines"): list(spec.compute.engines),
    }
    out: dict[str, Pos] = {}
    for path, (file, line, _col) in env.positions.items():
        key = _dotted(path, spec.packages, lists)
        if key is not None:
            out[key] = (file, line)
    return out


def _dotted(
    path: tuple[str | int, ...],
    packages: Mapping[str, str],
    lists: Mapping[tuple[str, ...], list[str]],
) -> str | None:
    if len(path) == 2 and path[0] == "packages":
        raw = str(path[1])
        if raw in packages and "[" not in raw:  # the common case: already canonical
            return "packages." + raw
        name = raw if raw in packages else _package_name_or_none(raw)
        return f"packages.{values.package_name(name)}" if name else None
    if path and isinstance(path[-1], int):
        items = lists.get(tuple(str(p) for p in path[:-1]))
        if items is None or path[-1] >= len(items):
            return None
        return ".".join([*(str(p) for p in path[:-1]), items[path[-1]]])
    return ".".join(str(p) for p in path) or None


def _package_name_or_none(raw: str) -> str | None:
    try:
        return values.package_key(raw)
    except ValueError:
        return None


def canonical_path(path: str | None) -> str | None:
    """`packages.Scikit_Learn` waives the same finding as `packages.scikit-learn`."""
    if path is None or not path.startswith("packages."):
        return path
    name = _package_name_or_none(path.removeprefix("packages."))
    return f"packages.{values.package_name(name)}" if name else path
