"""uv.lock: the exact versions of what the project needs on the target.

A uv lock is universal (every platform, every allowed Python), so it is walked
from the project's own packages (editable or virtual: the project itself, never
pinned) along the dependency edges whose markers hold for the spec's Python and
platform; packages only other platforms need are listed as not carried.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from packaging.utils import canonicalize_name

from envctl.errors import InputError
from envctl.spec import indexes, values
from envctl.spec.imports.model import (
    Collector,
    Imported,
    Note,
    Options,
    Pin,
    Target,
    choose_python,
    marker_holds,
    pinned_minor,
)
from envctl.spec.imports.pyproject import load_toml
from envctl.spec.imports.routing import Routing, strip_credentials, with_routing
from envctl.spec.indexes import PYPI_URL

Package = Mapping[str, Any]
_PROJECT_SOURCES = ("editable", "virtual")


def parse_uv_lock(text: str, *, source: str, options: Options) -> Imported:
    """Exact pins of every registry package the project needs on the target."""
    data = load_toml(text, source)
    packages = data.get("package")
    if not isinstance(packages, list) or not all(isinstance(p, dict) for p in packages):
        raise InputError(f"{source}: no [[package]] entries; is it a uv.lock?")
    requires = data.get("requires-python")
    requires = str(requires) if requires is not None else None
    found = pinned_minor(requires) if requires else None
    python, origin, notes = choose_python(options, found, source=source, allowed=requires)
    target = Target(python, options.platform)
    graph = _Graph(packages, target)
    roots = [p for p in packages if is_project(p)]
    collector = Collector(target)
    routing = Routing()
    reached = graph.walk(roots) if roots else list(graph.chosen())
    for package in reached:
        _carry(collector, package, source, routing)
    collector.not_carried.extend(_unreached(packages, reached, target, source))
    collector.not_carried.extend(_groups(roots, source))
    imported = collector.result(source=source, format="uv-lock", python_from=origin, notes=notes)
    return with_routing(imported, routing)


def is_project(package: Package) -> bool:
    source = package.get("source") or {}
    return isinstance(source, dict) and any(kind in source for kind in _PROJECT_SOURCES)


def _carry(collector: Collector, package: Package, source: str, routing: Routing) -> None:
    name, version = str(package.get("name", "")), str(package.get("version", ""))
    shown = f"{name} {version}".strip()
    origin = package.get("source") or {}
    if is_project(package):
        collector.skip(shown, "the project itself (editable or virtual), not a package", source)
    elif "registry" not in origin:
        kind, where = next(iter(origin.items()), ("unknown source", ""))
        collector.skip(
            shown, f"from {kind} {where}; a spec pins versions from an index".strip(), source
        )
    else:
        try:
            key = values.package_key(name)
        except ValueError as exc:
            collector.skip(shown, str(exc), source)
            return
        collector.add(Pin(key, f"=={version}", source, text=f"{name}=={version}"))
        _route(collector, routing, key, str(origin["registry"]), source)


def _route(collector: Collector, routing: Routing, key: str, registry: str, source: str) -> None:
    """A package from another registry than PyPI keeps it: an explicit index
    (named after its URL: a lock has no index names) with the package routed to it."""
    if indexes.same_url(strip_credentials(registry), PYPI_URL):
        return
    entry, notes = routing.declare(registry, source=source, explicit=True)
    if entry is None:
        collector.not_carried.extend(notes)
        return
    collector.adjusted.extend(notes)
    routing.route(key, entry)


@dataclass
class _Graph:
    packages: list[Package]
    target: Target

    def __post_init__(self) -> None:
        self.by_name: dict[str, list[Package]] = {}
        for package in self.packages:
            name = canonicalize_name(str(package.get("name", "")))
            self.by_name.setdefault(name, []).append(package)

    def chosen(self) -> Iterator[Package]:
        """Without a project package: each name once, as the target would get it."""
        for name in self.by_name:
            found = self.resolve({"name": name})
            if found is not None:
                yield found

    def resolve(self, dep: Mapping[str, Any]) -> Package | None:
        candidates = self.by_name.get(canonicalize_name(str(dep.get("name", ""))), [])
        if "version" in dep:
            candidates = [c for c in candidates if c.get("version") == dep["version"]]
        if "source" in dep:
            candidates = [c for c in candidates if c.get("source") == dep["source"]]
        if len(candidates) > 1:
            candidates = [c for c in candidates if self._for_target(c)] or candidates
        return candidates[0] if candidates else None

    def _for_target(self, package: Package) -> bool:
        markers = package.get("resolution-markers") or []
        return not markers or any(marker_holds(m, self.target) is True for m in markers)

    def walk(self, roots: list[Package]) -> list[Package]:
        """Every package reached from `roots` on the target, roots first."""
        queue: deque[tuple[Package, frozenset[str]]] = deque((r, frozenset()) for r in roots)
        seen: set[tuple[int, frozenset[str]]] = set()
        order: dict[int, Package] = {}
        while queue:
            package, extras = queue.popleft()
            if (id(package), extras) in seen:
                continue
            seen.add((id(package), extras))
            order.setdefault(id(package), package)
            for dep in self._edges(package, extras):
                child = self.resolve(dep)
                if child is not None:
                    queue.append((child, frozenset(dep.get("extra") or ())))
        return list(order.values())

    def _edges(self, package: Package, extras: frozenset[str]) -> Iterator[Mapping[str, Any]]:
        edges = list(package.get("dependencies") or [])
        optional = package.get("optional-dependencies") or {}
        for extra in sorted(extras):
            edges.extend(optional.get(extra) or [])
        for dep in edges:
            marker = dep.get("marker")
            if marker is None or marker_holds(str(marker), self.target) is True:
                yield dep


def _unreached(
    packages: list[Package], reached: list[Package], target: Target, source: str
) -> list[Note]:
    ids = {id(p) for p in reached}
    left = sorted(f"{p.get('name')} {p.get('version')}" for p in packages if id(p) not in ids)
    if not left:
        return []
    return [
        Note(
            ", ".join(left),
            f"not needed on {target.describe()} by the lock's dependency markers "
            "(other platforms, Pythons, extras or groups)",
            source,
        )
    ]


def _groups(roots: list[Package], source: str) -> list[Note]:
    notes = []
    for root in roots:
        for key in ("optional-dependencies", "dev-dependencies"):
            for group in sorted(root.get(key) or {}):
                notes.append(
                    Note(
                        f"{root.get('name')} {key}.{group}",
                        "not installed by default; their packages are not carried",
                        source,
                    )
                )
    return notes
