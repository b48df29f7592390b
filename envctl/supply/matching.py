"""An SBOM's components against the OSV database: findings, waivers, the verdict. Pure
but for the database's lazy reads.

One finding per vulnerability and package: advisories that alias each other (a
CVE, its GHSA, its PYSEC or DSA) are merged, with the most severe rating among
them. Matching is by ecosystem and name only (PyPI names PEP 503-normalised,
Debian by source package), never by a CPE guess, so PyPI's `docker` is never
Docker Engine's CVE.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from envctl.supply import osv
from envctl.supply.components import Component
from envctl.supply.severity import Rating, at_or_above, rate
from envctl.supply.vulndb import Database


@dataclass(frozen=True)
class Waiver:
    id: str  # any of the vulnerability's ids or aliases
    reason: str
    package: str | None = None  # only this package (else any)
    expires: date | None = None

    def covers(self, finding: Finding) -> bool:
        ids = {finding.id, *finding.aliases}
        if self.id not in ids:
            return False
        return self.package is None or osv.normalise(finding.ecosystem, self.package) == (
            osv.normalise(finding.ecosystem, finding.package)
        )


@dataclass(frozen=True)
class Finding:
    id: str
    aliases: tuple[str, ...]
    ecosystem: str
    package: str
    installed: str
    fixed: tuple[str, ...]
    rating: Rating
    score: float | None
    summary: str
    waived_by: str | None = None  # the waiver's reason
    waiver_expired: date | None = None  # a waiver matched but ran out on this day

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "aliases": list(self.aliases),
            "ecosystem": self.ecosystem,
            "package": self.package,
            "installed": self.installed,
            "fixed": list(self.fixed),
            "severity": self.rating,
            "score": self.score,
            "summary": self.summary,
            "waived_by": self.waived_by,
            "waiver_expired": self.waiver_expired.isoformat() if self.waiver_expired else None,
        }


@dataclass(frozen=True)
class Matched:
    findings: tuple[Finding, ...]
    uncomparable: tuple[str, ...]  # "pkg 1.0!x: not a PEP 440 version": could not check


def match(components: Iterable[Component], db: Database) -> Matched:
    findings: list[Finding] = []
    uncomparable: list[str] = []
    for comp in components:
        hits: list[tuple[osv.Advisory, osv.Affected]] = []
        for adv in db.advisories_for(comp.ecosystem, comp.match_name):
            if adv.withdrawn:
                continue
            for aff in adv.affected:
                if not osv.ecosystem_matches(aff.ecosystem, comp.ecosystem):
                    continue
                if aff.name != osv.normalise(comp.ecosystem, comp.match_name):
                    continue
                if not osv.comparable(comp.match_version, aff):
                    uncomparable.append(f"{comp.name} {comp.version} ({adv.id})")
                elif osv.is_affected(comp.match_version, aff):
                    hits.append((adv, aff))
        findings.extend(_merged(comp, hits))
    return Matched(tuple(sorted(findings, key=_order)), tuple(sorted(set(uncomparable))))


def _merged(comp: Component, hits: Sequence[tuple[osv.Advisory, osv.Affected]]) -> list[Finding]:
    by_id = {adv.id: (adv, aff) for adv, aff in hits}
    out = []
    for group in osv.merge_aliases(adv for adv, _ in by_id.values()):
        ids = sorted({a.id for a in group} | {x for a in group for x in a.aliases})
        primary = _primary(ids)
        affected = [by_id[a.id][1] for a in group]
        rating, score = rate(
            (v for a in group for v in a.severity),
            [a.database_severity for a in group] + [f.severity for f in affected],
        )
        out.append(
            Finding(
                id=primary,
                aliases=tuple(i for i in ids if i != primary),
                ecosystem=comp.ecosystem,
                package=comp.name,
                installed=comp.version,
                fixed=tuple(sorted({v for f in affected for v in osv.fixed_versions(f)})),
                rating=rating,
                score=score,
                summary=next((a.summary for a in group if a.summary), ""),
            )
        )
    return out


def _primary(ids: Sequence[str]) -> str:
    """The id people search for: a CVE when there is one."""
    cves = [i for i in ids if i.startswith("CVE-")]
    return (cves or list(ids))[0]


def _order(f: Finding) -> tuple[int, str, str]:
    return (-["unknown", "low", "medium", "high", "critical"].index(f.rating), f.package, f.id)


def waive(
    findings: Iterable[Finding], waivers: Sequence[Waiver], today: date
) -> tuple[Finding, ...]:
    """Each finding with the waiver that covers it; an expired waiver is recorded as
    expired and waives nothing."""
    out = []
    for f in findings:
        covering = [w for w in waivers if w.covers(f)]
        live = [w for w in covering if w.expires is None or w.expires >= today]
        if live:
            out.append(replace(f, waived_by=live[0].reason))
        elif covering:
            expired = max(w.expires for w in covering if w.expires is not None)
            out.append(replace(f, waiver_expired=expired))
        else:
            out.append(f)
    return tuple(out)


def blocking(findings: Iterable[Finding], fail_on: Rating, *, unknown_as: Rating) -> list[Finding]:
    """Unwaived findings at or above the threshold; an unknown severity ranks as `unknown_as`."""
    return [
        f
        for f in findings
        if f.waived_by is None
        and at_or_above(unknown_as if f.rating == "unknown" else f.rating, fail_on)
    ]
