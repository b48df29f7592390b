"""Package indexes met while importing: requirements options (`--index-url`,
`--extra-index-url`), `[[tool.uv.index]]` + `[tool.uv.sources]`, uv.lock's
registry sources. Each becomes a named index of the spec, its credentials
removed (they belong in UV_INDEX_<NAME>_USERNAME/_PASSWORD), or a note saying
why it could not be carried."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from packaging.utils import canonicalize_name

from envctl.spec import indexes
from envctl.spec.imports.model import Imported, IndexEntry, Note, Target, marker_holds

_WORDS = re.compile(r"[^a-z0-9]+")
_GENERIC = {"simple", "pypi", "whl", "packages", "index", "api", "www", "download", "pkgs"}


@dataclass
class Routing:
    """The indexes an import declares, in source order, and package -> index name."""

    indexes: list[IndexEntry] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # a second name of one URL

    def declare(
        self,
        url: str,
        *,
        source: str,
        line: int | None = None,
        name: str | None = None,
        explicit: bool = False,
        default: bool = False,
    ) -> tuple[IndexEntry | None, list[Note]]:
        """The index at `url` (credentials removed), reusing one already declared."""
        notes: list[Note] = []
        clean = strip_credentials(url)
        if clean != url:
            shown = name or derive_name(clean, set())
            user_var, password_var = indexes.credential_variables(shown)
            notes.append(
                Note(
                    indexes.redact(url),
                    f"credentials removed from the URL; set {user_var} and {password_var} "
                    "where envctl locks and builds",
                    source,
                    line,
                )
            )
        try:
            checked = indexes.index_url(clean)
        except ValueError as exc:
            return None, [*notes, Note(indexes.redact(url), str(exc), source, line)]
        for known in self.indexes:
            if indexes.same_url(known.url, checked):
                return known, notes
        taken = {known.name for known in self.indexes}
        chosen = name if name is not None and name not in taken else derive_name(checked, taken)
        entry = IndexEntry(chosen, checked, explicit=explicit, default=default)
        self.indexes.append(entry)
        return entry, notes

    def route(self, package: str, entry: IndexEntry) -> None:
        self.sources[package] = entry.name

    def without_unused(self, packages: set[str]) -> Routing:
        """Only routes of carried packages; explicit indexes nothing is routed to dropped."""
        sources = {p: i for p, i in self.sources.items() if p in packages}
        used = set(sources.values())
        kept = [i for i in self.indexes if not i.explicit or i.name in used]
        return Routing(kept, sources)


def strip_credentials(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def derive_name(url: str, taken: set[str]) -> str:
    """A readable index name from its URL: `https://download.pytorch.org/whl/cu128`
    -> `pytorch-cu128`, `https://pypi.nvidia.com` -> `nvidia`."""
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    labels = [] if _is_address(hostname) else hostname.split(".")[:-1]
    host = [w for w in labels if w not in _GENERIC]
    path = [w for w in parts.path.split("/") if w and w.lower() not in _GENERIC]
    words = [*host[-1:], *path[-1:]] or ["index"]
    base = _WORDS.sub("-", "-".join(words).lower()).strip("-") or "index"
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    return name


def with_routing(imported: Imported, routing: Routing) -> Imported:
    """`imported` with the indexes and routes of the packages it carries; a
    route of a package that was not carried is noted."""
    carried = {key.split("[", 1)[0] for key, _ in imported.packages}
    kept = routing.without_unused(carried)
    lost = [
        Note(f"{package} -> index {name}", "the package itself was not carried", imported.source)
        for package, name in sorted(routing.sources.items())
        if package not in carried
    ]
    kept_names = {index.name for index in kept.indexes}
    lost += [
        Note(
            f"index {index.name} ({index.url})",
            "explicit, and no carried package is routed to it",
            imported.source,
        )
        for index in routing.indexes
        if index.name not in kept_names
    ]
    return dataclasses.replace(
        imported,
        indexes=tuple(kept.indexes),
        sources=tuple(sorted(kept.sources.items())),
        not_carried=(*imported.not_carried, *lost),
    )


def from_uv_tables(
    tool_uv: dict[str, Any], target: Target, source: str
) -> tuple[Routing, list[Note]]:
    """`[[tool.uv.index]]` and `[tool.uv.sources]` of a pyproject.toml: the
    indexes (by their own names) and the routes whose marker holds on `target`."""
    routing, notes = Routing(), []
    raw_indexes = tool_uv.get("index") or []
    for raw in raw_indexes if isinstance(raw_indexes, list) else []:
        notes += _declare_uv_index(routing, raw, source)
    raw_sources = tool_uv.get("sources") or {}
    for package, entries in (raw_sources if isinstance(raw_sources, dict) else {}).items():
        notes += _route_uv_source(routing, str(package), entries, target, source)
    return routing, notes


def _declare_uv_index(routing: Routing, raw: object, source: str) -> list[Note]:
    if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
        return [Note(str(raw)[:80], "an index without a url", source)]
    name = str(raw.get("name") or "")
    shown = f"tool.uv.index {name or indexes.redact(raw['url'])}"
    if raw.get("format", "simple") != "simple":
        return [Note(shown, "a flat index (format = flat) is not a PEP 503 index", source)]
    try:
        checked_name = indexes.index_name(name) if name else None
    except ValueError as exc:
        return [Note(shown, str(exc), source)]
    entry, notes = routing.declare(
        raw["url"],
        source=source,
        name=checked_name,
        explicit=bool(raw.get("explicit", False)),
        default=bool(raw.get("default", False)),
    )
    if entry is not None and checked_name is not None and entry.name != checked_name:
        # The same URL under a second name: route that name to the first.
        routing.aliases[checked_name] = entry.name
    return notes


def _route_uv_source(
    routing: Routing, package: str, entries: object, target: Target, source: str
) -> list[Note]:
    shown = f"tool.uv.sources.{package}"
    options = entries if isinstance(entries, list) else [entries]
    for option in options:
        if not isinstance(option, dict):
            return [Note(shown, "not a source table", source)]
        if "extra" in option or "group" in option:
            continue  # applies to an extra or group only: not the default install
        marker = option.get("marker")
        if marker is not None and marker_holds(str(marker), target) is not True:
            continue
        if "index" not in option:
            kind = next(iter(option), "unknown")
            return [Note(shown, f"a {kind} source; a spec pins versions from an index", source)]
        name = routing.aliases.get(str(option["index"]), str(option["index"]))
        entry = next((i for i in routing.indexes if i.name == name), None)
        if entry is None:
            return [
                Note(shown, f"names index {name!r}, which no [[tool.uv.index]] declares", source)
            ]
        routing.route(canonicalize_name(package), entry)
        return []
    return [Note(shown, f"no entry applies to {target.describe()}", source)]


def _is_address(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
