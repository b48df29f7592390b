"""`compare` runs every area's rules, then settles each finding: severity overrides
first, then both sides' waivers. Also the summaries callers build on findings."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import date

from envctl.diff.model import AREAS, FAMILIES, KINDS, RANK, Finding, Side, WaiverRule
from envctl.diff.rules_compute import compare_compute
from envctl.diff.rules_data import compare_data, compare_evaluation
from envctl.diff.rules_gpu import compare_gpu
from envctl.diff.rules_indexes import compare_indexes
from envctl.diff.rules_load import compare_load
from envctl.diff.rules_packages import compare_packages
from envctl.diff.rules_policy import compare_policy
from envctl.diff.rules_runtime import compare_image, compare_python
from envctl.diff.rules_system import compare_build_network, compare_system_packages
from envctl.vocabulary import Severity


def compare(
    left: Side,
    right: Side,
    *,
    severity_overrides: Mapping[str, str] | None = None,
    today: date | None = None,
) -> list[Finding]:
    """Every finding between `left` (source) and `right` (target), ordered by area
    then path, with severity overrides and both sides' waivers applied."""
    raw = [
        *compare_python(left, right),
        *compare_image(left, right),
        *compare_packages(left, right),
        *compare_indexes(left, right),
        *compare_system_packages(left, right),
        *compare_build_network(left, right),
        *compare_data(left, right),
        *compare_evaluation(left, right),
        *compare_compute(left, right),
        *compare_gpu(left, right),
        *compare_load(left, right),
        *compare_policy(left, right),
    ]
    rules = left.waivers + right.waivers
    overrides = severity_overrides or {}
    day = today or date.today()
    settled = [settle(f, overrides, rules, day) for f in raw]
    order = {area: i for i, area in enumerate(AREAS)}
    return sorted(settled, key=lambda f: (order.get(f.area, len(order)), f.path, f.kind))


def settle(
    finding: Finding, overrides: Mapping[str, str], rules: Iterable[WaiverRule], today: date
) -> Finding:
    """`finding` with its severity override and, if a waiver covers it, waived (by
    a live one) or marked expired (when only expired ones cover it)."""
    severity = severity_for(finding.kind, overrides) or finding.severity
    finding = replace(finding, severity=severity)
    covering = [r for r in rules if r.covers(finding)]
    # A live waiver wins over an expired one, wherever each is listed: renewing a
    # waiver on one side must not be undone by an old one on the other.
    live = next((r for r in covering if r.expires is None or r.expires >= today), None)
    if live is not None:
        return replace(finding, waived=live.reason)
    expired = next((r.expires for r in covering if r.expires is not None), None)
    if expired is None:
        return finding
    message = f"{finding.message.rstrip('.')}; its waiver expired on {expired.isoformat()}."
    return replace(finding, message=message, waiver_expired=expired)


def severity_for(kind: str, overrides: Mapping[str, str]) -> Severity | None:
    """The override for `kind`: its own entry first, then its family's."""
    for key in (kind, kind.split(".", 1)[0]):
        value = overrides.get(key)
        if value in RANK:
            return value  # type: ignore[return-value]  # narrowed by the RANK check
    return None


def unknown_kind(name: str) -> str | None:
    """None when `name` is a kind or family; else a message with a did-you-mean."""
    if name in KINDS or name in FAMILIES:
        return None
    near = difflib.get_close_matches(name, [*KINDS, *FAMILIES], n=1, cutoff=0.6)
    hint = f"did you mean {near[0]!r}?" if near else f"kinds are: {', '.join(KINDS)}"
    return f"unknown finding kind {name!r}; {hint}"


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    out = {"error": 0, "warning": 0, "info": 0, "waived": 0}
    for f in findings:
        out["waived" if f.waived is not None else f.severity] += 1
    return out


def iter_blocking(findings: Iterable[Finding], threshold: str) -> Iterator[Finding]:
    return (f for f in findings if f.blocks(threshold))
