"""Waivers as properties: which findings a waiver covers, and that expired ones never apply."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from envctl.diff.comparison import settle
from envctl.diff.model import FAMILIES, KINDS, Finding, WaiverRule

TODAY = date(2026, 6, 1)
COMPONENTS = ["packages", "numpy", "numpyx", "image", "base", "compute", "cpu", "jupyterlab"]
PATH = st.lists(st.sampled_from(COMPONENTS), min_size=1, max_size=3).map(".".join)
KIND = st.sampled_from(sorted(KINDS))
FINDING = st.builds(
    lambda kind, path: Finding(kind, "error", path, "a", None, f"{path} differs."), KIND, PATH
)
RULE = st.builds(
    WaiverRule,
    kind=st.sampled_from([*KINDS, *FAMILIES, "pack", "package.miss", "image.base.x"]),
    path=st.none() | PATH,
    reason=st.sampled_from(["accepted", "known", "tracked"]),
    expires=st.none() | st.integers(-3, 3).map(lambda days: TODAY + timedelta(days=days)),
)


def is_prefix(prefix: str, dotted: str) -> bool:
    """`package` of `package.missing`, `packages.numpy` of `packages.numpy.extra`."""
    want, have = prefix.split("."), dotted.split(".")
    return have[: len(want)] == want


def matches(rule: WaiverRule, finding: Finding) -> bool:
    return is_prefix(rule.kind, finding.kind) and (
        rule.path is None or is_prefix(rule.path, finding.path)
    )


def is_live(rule: WaiverRule) -> bool:
    return rule.expires is None or rule.expires >= TODAY


@settings(max_examples=300, deadline=None)
@given(RULE, FINDING)
def test_a_waiver_covers_exactly_the_findings_of_its_kind_and_path(
    rule: WaiverRule, finding: Finding
) -> None:
    assert rule.covers(finding) == matches(rule, finding)


@st.composite
def near_rules(draw: st.DrawFn, finding: Finding) -> WaiverRule:
    """A rule that is likely, but not sure, to match `finding`."""
    family = finding.kind.split(".")[0]
    parent = finding.path.rsplit(".", 1)[0]
    return WaiverRule(
        kind=draw(st.sampled_from([finding.kind, family]) | RULE.map(lambda r: r.kind)),
        path=draw(st.sampled_from([None, finding.path, parent]) | PATH),
        reason=draw(st.sampled_from(["accepted", "known", "tracked"])),
        expires=draw(RULE.map(lambda r: r.expires)),
    )


@settings(max_examples=100, deadline=None)
@given(FINDING.flatmap(lambda f: st.tuples(st.just(f), st.lists(near_rules(f), max_size=4))))
def test_a_finding_is_waived_by_a_live_matching_waiver_only(
    case: tuple[Finding, list[WaiverRule]],
) -> None:
    finding, rules = case
    settled = settle(finding, {}, rules, TODAY)

    live = [r for r in rules if matches(r, finding) and is_live(r)]
    expired = [r for r in rules if matches(r, finding) and not is_live(r)]
    assert settled.waived == (live[0].reason if live else None)
    assert settled.waiver_expired == (expired[0].expires if expired and not live else None)
    assert settled.blocks("error") == (not live)
    assert (settled.message != finding.message) == bool(expired and not live)


def test_a_renewed_waiver_is_not_undone_by_an_expired_one_listed_first() -> None:
    finding = Finding("package.missing", "error", "packages.numpy", "1", None, "missing.")
    old = WaiverRule("package", None, "old", TODAY - timedelta(days=1))
    renewed = WaiverRule("package.missing", "packages.numpy", "renewed", TODAY)

    settled = settle(finding, {}, [old, renewed], TODAY)

    assert (settled.waived, settled.waiver_expired, settled.message) == (
        "renewed",
        None,
        "missing.",
    )
