"""OSV records and the OSV schema's own matching algorithm. Pure.

A record (https://ossf.github.io/osv-schema/) names affected packages by
ecosystem and name, with ranges of events (`introduced`, `fixed`,
`last_affected`, `limit`) and/or an explicit `versions` list. `is_affected`
follows the schema's `IsVulnerable` pseudocode: a version is affected when it is
listed, or when a range's events, sorted by version, leave it "vulnerable" and it
is below every `limit` of that range. PyPI names are compared PEP 503-normalised;
`withdrawn` records never match; GIT ranges say nothing about a version number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from envctl.supply.versions import Unparsable, compare_key

EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")


@dataclass(frozen=True)
class Event:
    kind: str  # one of EVENT_KINDS
    version: str


@dataclass(frozen=True)
class Range:
    type: str  # SEMVER | ECOSYSTEM | GIT
    events: tuple[Event, ...]


@dataclass(frozen=True)
class Affected:
    ecosystem: str  # as written: "PyPI", "Debian:12"
    name: str  # normalised for PyPI
    ranges: tuple[Range, ...]
    versions: frozenset[str]
    severity: str | None = None  # ecosystem_specific / database_specific severity, if any


@dataclass(frozen=True)
class Advisory:
    id: str
    aliases: tuple[str, ...]
    summary: str
    withdrawn: bool
    affected: tuple[Affected, ...]
    severity: tuple[tuple[str, str], ...]  # (type, vector): CVSS_V2/V3/V4
    database_severity: str | None  # e.g. GHSA's "HIGH", "MODERATE"
    modified: str | None


class RecordError(ValueError):
    """A record that does not follow the OSV schema."""


def normalise(ecosystem: str, name: str) -> str:
    if ecosystem_base(ecosystem) == "PyPI":
        return re.sub(r"[-_.]+", "-", name).lower()
    return name


def ecosystem_base(ecosystem: str) -> str:
    """ "Debian:12" -> "Debian"."""
    return ecosystem.split(":", 1)[0]


def parse_advisory(data: Mapping[str, Any]) -> Advisory:
    """One OSV record as a value; RecordError names what is wrong. The schema's
    required fields (`id`, `modified` as an RFC 3339 time) must be there."""
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
        raise RecordError("an OSV record needs a string `id`")
    ident = data["id"]
    modified = data.get("modified")
    if not isinstance(modified, str) or not _is_time(modified):
        raise RecordError(f"{ident}: `modified` must be an RFC 3339 time")
    try:
        affected = tuple(_affected(a) for a in data.get("affected") or ())
        severity = tuple(
            (str(s["type"]), str(s["score"])) for s in data.get("severity") or () if "score" in s
        )
    except (KeyError, TypeError, AttributeError):
        raise RecordError(f"{ident}: `affected` or `severity` does not follow the schema") from None
    db = data.get("database_specific")
    db_severity = db.get("severity") if isinstance(db, Mapping) else None
    return Advisory(
        id=ident,
        aliases=tuple(str(a) for a in data.get("aliases") or ()),
        summary=str(data.get("summary") or data.get("details") or "")[:200],
        withdrawn=bool(data.get("withdrawn")),
        affected=affected,
        severity=severity,
        database_severity=str(db_severity) if isinstance(db_severity, str) else None,
        modified=modified,
    )


def _is_time(text: str) -> bool:
    from datetime import datetime

    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _affected(raw: Mapping[str, Any]) -> Affected:
    package = raw["package"]
    ecosystem = str(package["ecosystem"])
    ranges = tuple(
        Range(
            type=str(r["type"]),
            events=tuple(
                Event(kind, str(event[kind]))
                for event in r.get("events") or ()
                for kind in EVENT_KINDS
                if kind in event
            ),
        )
        for r in raw.get("ranges") or ()
    )
    specific = raw.get("ecosystem_specific") or raw.get("database_specific") or {}
    severity = specific.get("severity") if isinstance(specific, Mapping) else None
    return Affected(
        ecosystem=ecosystem,
        name=normalise(ecosystem, str(package["name"])),
        ranges=ranges,
        versions=frozenset(str(v) for v in raw.get("versions") or ()),
        severity=severity if isinstance(severity, str) else None,
    )


def ecosystem_matches(record: str, component: str) -> bool:
    """ "Debian:12" matches a Debian 12 component; a bare "Debian" matches any release."""
    if record == component:
        return True
    return ":" not in record and ecosystem_base(component) == record


def is_affected(version: str, affected: Affected) -> bool:
    """The OSV schema's IsVulnerable for one `affected` entry and one version."""
    if version in affected.versions:
        return True
    return any(_in_range(version, r, affected.ecosystem) for r in affected.ranges)


def _in_range(version: str, rng: Range, ecosystem: str) -> bool:
    if rng.type == "GIT" or not rng.events:
        return False
    scheme = "SEMVER" if rng.type == "SEMVER" else ecosystem_base(ecosystem)
    try:
        key = compare_key(scheme, version)
        events = sorted(
            rng.events,
            key=lambda e: (0, ()) if _is_zero(e) else (1, compare_key(scheme, e.version)),
        )
        limits = [compare_key(scheme, e.version) for e in events if e.kind == "limit"]
    except Unparsable:
        return False  # reported by the caller as "could not compare"
    vulnerable = False
    for event in events:
        if event.kind == "introduced" and (
            _is_zero(event) or key >= compare_key(scheme, event.version)
        ):
            vulnerable = True
        elif _ends_before(event, key, scheme):
            vulnerable = False
    if limits and not any(key < limit for limit in limits):
        return False
    return vulnerable


def _ends_before(event: Event, key: object, scheme: str) -> bool:
    """Does `event` end the vulnerable stretch at or before the version `key`?"""
    if event.kind == "fixed":
        return bool(key >= compare_key(scheme, event.version))
    if event.kind == "last_affected":
        return bool(key > compare_key(scheme, event.version))
    return False


def _is_zero(event: Event) -> bool:
    return event.kind == "introduced" and event.version == "0"


def fixed_versions(affected: Affected) -> tuple[str, ...]:
    return tuple(e.version for r in affected.ranges for e in r.events if e.kind == "fixed")


def comparable(version: str, affected: Affected) -> bool:
    """Can `version` be ordered in the schemes this entry's ranges use?"""
    for rng in affected.ranges:
        if rng.type == "GIT":
            continue
        scheme = "SEMVER" if rng.type == "SEMVER" else ecosystem_base(affected.ecosystem)
        try:
            compare_key(scheme, version)
        except Unparsable:
            return False
    return True


def merge_aliases(advisories: Iterable[Advisory]) -> list[list[Advisory]]:
    """Group advisories that name each other (a CVE, its GHSA and PYSEC count once).
    Aliases are symmetric in OSV, but a database may hold only one side: the groups
    are the connected components of 'id or alias in common'."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    items = list(advisories)
    for adv in items:
        for alias in adv.aliases:
            parent[find(alias)] = find(adv.id)
    groups: dict[str, list[Advisory]] = {}
    for adv in items:
        groups.setdefault(find(adv.id), []).append(adv)
    return list(groups.values())
