"""The vulnerabilities gate: the image's SBOM against the local OSV database.

"Could not check" is never a pass: a missing or damaged database is an input
error (exit 3) before anything is decided, and a version that cannot be ordered
in its ecosystem is listed in the evidence. An expired waiver waives nothing and
the gate says which one ran out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from envctl.registry.results import FAILED, PASSED, GateResult
from envctl.spec.types import VulnerabilitiesGate
from envctl.supply import matching
from envctl.supply.components import Component
from envctl.supply.vulndb import Database, open_database


def waivers_of(gate: VulnerabilitiesGate) -> list[matching.Waiver]:
    return [
        matching.Waiver(id=w.id, reason=w.reason, package=w.package, expires=w.expires)
        for w in gate.waivers
    ]


def database_for(gate: VulnerabilitiesGate, root: Path | None) -> Database:
    if gate.database is None:
        return open_database()
    path = Path(gate.database)
    return open_database(path if path.is_absolute() or root is None else root / path)


def evaluate(
    gate: VulnerabilitiesGate,
    components: Sequence[Component],
    db: Database,
    *,
    today: date,
    sbom_digest: str | None = None,
) -> GateResult:
    """The verdict on `components` (an image's SBOM) under the gate's threshold."""
    matched = matching.match(components, db)
    findings = matching.waive(matched.findings, waivers_of(gate), today)
    blocking = matching.blocking(findings, gate.fail_on, unknown_as=gate.unknown)
    expired = sorted({f.id for f in findings if f.waiver_expired is not None})
    age = db.age_days()
    evidence: dict[str, Any] = {
        "database": {
            "imported": db.created,
            "newest_record": db.newest_modified,
            "records": db.records,
            "age_days": round(age, 1),
            "stale": age > gate.max_age / 86400,
        },
        "components": len(components),
        "fail_on": gate.fail_on,
        "findings": [f.to_json() for f in findings],
        "blocking": [f.id for f in blocking],
        "expired_waivers": expired,
        "uncomparable": list(matched.uncomparable),
    }
    if sbom_digest:
        evidence["sbom"] = sbom_digest
    waived = sum(1 for f in findings if f.waived_by is not None)
    if blocking:
        names = ", ".join(f"{f.id} in {f.package} {f.installed} ({f.rating})" for f in blocking[:3])
        more = f" and {len(blocking) - 3} more" if len(blocking) > 3 else ""
        why = f"; expired waiver(s): {', '.join(expired)}" if expired else ""
        return GateResult(
            "vulnerabilities",
            FAILED,
            f"{len(blocking)} finding(s) at or above {gate.fail_on}: {names}{more}{why}",
            evidence,
        )
    stale = f"; the database is {age:.0f} days old" if evidence["database"]["stale"] else ""
    return GateResult(
        "vulnerabilities",
        PASSED,
        f"no unwaived finding at or above {gate.fail_on} in {len(components)} components "
        f"({len(findings)} found, {waived} waived){stale}",
        evidence,
    )
