"""The ledger replayed (pure): record checks, the order rule as it stood, bypasses,
rollbacks, counters, approvals, and what counts in a signed stage."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envctl import registry as reg
from envctl.registry.state import parse_registry
from envctl.vcs import RawTag, Signature

C1, C2 = "1" * 40, "2" * 40
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
STAGES = ["dev", "staging", "prod"]
ADA, BOB = "ada@example.com", "bob@example.com"
SPEC_COMMIT = "5" * 40  # prod's spec on the protected branch, fingerprint "f"
SIGNED = reg.TrustPolicy({"prod": reg.StageTrust(frozenset({ADA}), frozenset({BOB}))})


def raw(
    name: str, commit: str = C1, *, message: str = "", email: str = ADA, header: str | None = None
) -> RawTag:
    """A tag object named `header` (default: `name`) found at ref `name`; a promotion
    record is bound to that name as envctl writes it (fields it gives are kept)."""
    return RawTag(
        name, "tag", "o" * 40, "commit", commit, "A", email, T0, bound(message, name, commit),
        name if header is None else header,
    )  # fmt: skip


def bound(message: str, name: str, commit: str) -> str:
    data, parsed = reg.parse_record(message), reg.parse_tag_name(name)
    if data is None or data.get("kind") != "promotion" or parsed is None:
        return message
    version = {C1: "v1.0.0", C2: "v2.0.0"}.get(commit)
    names = {"model": parsed.model, "stage": parsed.stage, "n": parsed.counter, "version": version}
    return reg.format_record("x", {**{k: v for k, v in names.items() if v}, **data})


def promotion(
    who: str = ADA, *, gates: tuple[str, ...] = ("passed",), bypass: str | None = None, **kw: Any
) -> str:
    data = reg.promotion_record(
        who_name="A", who_email=who, when=T0, from_stage=None,
        env=kw.pop("env", {"commit": SPEC_COMMIT, "fingerprint": "f"}), image=None,
        gates=[{"kind": "tests", "status": s} for s in gates], bypass=bypass, **kw,
    )  # fmt: skip
    return reg.format_record("x", data)


def audit(
    tags: list[RawTag],
    *,
    trust: reg.TrustPolicy | None = None,
    signatures: Mapping[str, Signature] | None = None,
) -> reg.Audit:
    return reg.audit_registry(
        parse_registry(tags),
        tags,
        stages=STAGES,
        trust=trust or reg.TrustPolicy(),
        signatures=signatures or {},
        specs={("prod", SPEC_COMMIT): "f"},
    )


def kinds(result: reg.Audit) -> list[tuple[str, str]]:
    return [(v.tag, v.kind) for v in result.violations]


VERSIONS = [raw("m@v1.0.0"), raw("m@v2.0.0", C2)]


def test_a_ledger_written_stage_by_stage_is_clean() -> None:
    tags = [*VERSIONS, raw("m#dev#1", message=promotion()), raw("m#staging#2", message=promotion())]
    result = audit(tags)
    assert kinds(result) == []
    assert result.verdict("m#staging#2") == reg.Verdict("recorded", True)


def test_skipping_a_stage_needs_a_recorded_bypass() -> None:
    tags = [
        *VERSIONS,
        raw("m#staging#1", message=promotion()),
        raw("m#staging#2", C2, message=promotion(bypass="hotfix")),
    ]
    assert kinds(audit(tags)) == [("m#staging#1", "skipped-stage")]


def test_the_order_rule_is_judged_at_that_point_of_the_ledger() -> None:
    """Entering dev after staging does not make the staging event legitimate."""
    tags = [*VERSIONS, raw("m#staging#1", message=promotion()), raw("m#dev#2", message=promotion())]
    assert kinds(audit(tags)) == [("m#staging#1", "skipped-stage")]


def test_a_rollback_to_a_version_once_in_the_stage_keeps_the_order() -> None:
    tags = [
        *VERSIONS,
        raw("m#dev#1", message=promotion()),
        raw("m#dev#2", C2, message=promotion()),
        raw("m#staging#3", message=promotion()),
        raw("m#staging#4", C2, message=promotion()),
        raw("m#staging#5", message=promotion(rollback_of="v2.0.0")),
        raw(
            "m#staging#6",
            C2,
            message=promotion(
                gates=(), rollback_of="v1.0.0", cause={"reason": "check-live failed", "checks": []}
            ),
        ),
    ]
    assert kinds(audit(tags)) == []


@pytest.mark.parametrize(
    ("message", "email", "expected"),
    [
        ("manual", ADA, "no-record"),
        ("x\n\nenvctl-record: v1\n{not json", ADA, "invalid-record"),
        (reg.format_record("x", {"kind": "promotion", "who": "me"}), ADA, "invalid-record"),
        (promotion(BOB), ADA, "invalid-record"),
        (promotion(gates=("passed", "failed")), ADA, "gate-not-passed"),
        (promotion(rollback_of="v2.0.0", cause={"checks": []}), ADA, "invalid-record"),
    ],
)
def test_a_bad_record_is_reported(message: str, email: str, expected: str) -> None:
    result = audit([*VERSIONS, raw("m#dev#1", message=message, email=email)])
    assert ("m#dev#1", expected) in kinds(result)
    verdict = result.verdict("m#dev#1")
    assert verdict.evidence == ("none" if expected == "no-record" else "invalid")
    assert verdict.counts  # outside signed stages GTO's reading stands


def test_a_record_naming_a_version_not_at_its_commit_is_a_name_mismatch() -> None:
    tags = [*VERSIONS, raw("m#dev#1", message=promotion(version="v2.0.0"))]
    result = audit(tags)
    assert kinds(result) == [("m#dev#1", "name-mismatch")]
    assert result.violations[0].message == "the record names version 'v2.0.0', not this tag's"
    assert not result.verdict("m#dev#1").counts
    assert kinds(audit([*VERSIONS, raw("m#dev#1", message=promotion(version="v1.0.0"))])) == []


def test_counters_repeat_or_skip() -> None:
    tags = [
        *VERSIONS,
        raw("m#dev#1", message=promotion()),
        raw("m#dev!#1", message=promotion()),
        raw("m#dev#4", C2, message=promotion()),
    ]
    assert kinds(audit(tags)) == [
        ("m#dev#1", "counter-duplicate"),
        ("m#dev#4", "counter-gap"),
    ]
    gap = next(v for v in audit(tags).violations if v.kind == "counter-gap")
    assert gap.message == "#2..#3 missing before it (a tag was deleted?)"


def test_an_event_for_an_unregistered_commit_is_an_unknown_version() -> None:
    assert kinds(audit([*VERSIONS, raw("m#dev#1", "9" * 40, message=promotion())])) == [
        ("m#dev#1", "unknown-version")
    ]


def signed_prod(signature: Signature, who: str = ADA) -> reg.Audit:
    tags = [
        *VERSIONS,
        raw("m#dev#1", message=promotion()),
        raw("m#staging#2", message=promotion()),
        raw("m#prod#3", message=promotion(who), email=who),
    ]
    return audit(tags, trust=SIGNED, signatures={"m#prod#3": signature})


@pytest.mark.parametrize(
    ("signature", "kind"),
    [
        (Signature("none"), "unsigned"),
        (Signature("bad", detail="does not verify"), "bad-signature"),
        (Signature("unknown", detail="key not in allowed_signers"), "unknown-signer"),
        (Signature("good", (BOB,)), "signer-not-allowed"),
    ],
)
def test_in_a_signed_stage_only_an_allowed_signature_counts(
    signature: Signature, kind: str
) -> None:
    result = signed_prod(signature)
    assert kinds(result) == [("m#prod#3", kind)]
    assert result.verdict("m#prod#3").counts is False


def test_the_trusted_registry_leaves_out_what_does_not_count() -> None:
    tags = [*VERSIONS, raw("m#dev#1", message=promotion()), raw("m#prod#2", message="manual")]
    registry = parse_registry(tags)
    result = audit(tags, trust=SIGNED)
    trusted = result.trusted(registry).models["m"]
    assert sorted(registry.models["m"].stages) == ["dev", "prod"]
    assert sorted(trusted.stages) == ["dev"]
    assert [e.tag for e in trusted.events] == ["m#dev#1"]


def test_a_good_signature_by_an_allowed_promoter_counts() -> None:
    result = signed_prod(Signature("good", (ADA,)))
    assert kinds(result) == []
    assert result.verdict("m#prod#3") == reg.Verdict("signed", True, (), ADA)


def test_the_signer_must_be_whom_the_record_names() -> None:
    """Signed by Ada, but a record naming Bob, tagged as Bob."""
    result = signed_prod(Signature("good", (ADA,)), who=BOB)
    assert kinds(result) == [("m#prod#3", "invalid-record")]


def test_status_shows_the_last_event_that_counts() -> None:
    tags = [
        *VERSIONS,
        raw("m#dev#1", message=promotion()),
        raw("m#staging#2", message=promotion()),
        raw("m#prod#3", message=promotion()),
        raw("m#prod#4", C2, message="manual"),
    ]
    result = audit(tags, trust=SIGNED, signatures={"m#prod#3": Signature("good", (ADA,))})
    model = parse_registry(tags).models["m"]
    assert model.stages["prod"].tag == "m#prod#4"
    assert result.stages(model)["prod"].tag == "m#prod#3"


def approval(stage: str, who: str, *, email: str | None = None) -> RawTag:
    data = {"kind": "approval", "who": {"name": "B", "email": who}, "when": T0.isoformat(),
            "model": "m", "version": "v1.0.0", "stage": stage}  # fmt: skip
    name = reg.approval_tag("m", "v1.0.0", stage, who)
    return raw(name, message=reg.format_record("ok", data), email=email or who)


def test_approvals_in_a_signed_stage_count_only_signed_by_an_allowed_approver() -> None:
    good, spoofed = approval("prod", BOB), approval("prod", "carol@example.com")
    signatures = {good.name: Signature("good", (BOB,)), spoofed.name: Signature("good", (ADA,))}
    result = audit([*VERSIONS, good, spoofed], trust=SIGNED, signatures=signatures)
    assert result.approvals == {("m", "v1.0.0", "prod"): frozenset({BOB})}
    assert sorted(v.kind for v in result.violations) == [
        "invalid-approval", "self-approval", "signer-not-allowed",
    ]  # fmt: skip


def test_the_promoters_own_approval_is_a_self_approval() -> None:
    tags = [
        *VERSIONS,
        approval("dev", BOB),
        raw("m#dev#1", message=promotion(BOB), email=BOB),
    ]
    assert kinds(audit(tags)) == [(tags[2].name, "self-approval")]


def test_a_recorded_approvals_gate_must_name_approvals_that_count() -> None:
    gate = {"kind": "approvals", "status": "passed", "evidence": {"approvers": [BOB]}}
    data = reg.promotion_record(
        who_name="A", who_email=ADA, when=T0, from_stage=None, env={}, image=None, gates=[gate]
    )
    tags = [*VERSIONS, raw("m#dev#1", message=reg.format_record("x", data))]
    assert kinds(audit(tags)) == [("m#dev#1", "uncounted-approval")]
    assert kinds(audit([*tags, approval("dev", BOB)])) == []


@pytest.mark.parametrize(
    "env",
    [{}, {"commit": "6" * 40, "fingerprint": "f"}, {"commit": SPEC_COMMIT, "fingerprint": "g"}],
)
def test_a_signed_event_counts_only_on_the_protected_spec(env: dict[str, str]) -> None:
    """No spec commit, a commit not on the protected branch, another spec there."""
    tags = [
        *VERSIONS,
        raw("m#dev#1", message=promotion()),
        raw("m#staging#2", message=promotion()),
        raw("m#prod#3", message=promotion(env=env)),
    ]
    result = audit(tags, trust=SIGNED, signatures={"m#prod#3": Signature("good", (ADA,))})
    assert kinds(result) == [("m#prod#3", "spec-not-protected")]
    assert result.verdict("m#prod#3").counts is False


# ---- a signature covers the name it is read under ------------------------------------


def test_a_signed_event_copied_under_another_name_is_a_name_mismatch() -> None:
    """The object of m#prod#3, signed by Ada, pushed again as m#prod#9: the signature
    still verifies, the name it was signed under does not match."""
    tags = [
        *VERSIONS,
        raw("m#dev#1", message=promotion()),
        raw("m#staging#2", message=promotion()),
        raw("m#prod#3", message=promotion()),
    ]
    copy = replace(tags[-1], name="m#prod#9")
    good = Signature("good", (ADA,))
    result = audit([*tags, copy], trust=SIGNED, signatures={"m#prod#3": good, "m#prod#9": good})
    assert ("m#prod#9", "name-mismatch") in kinds(result)
    assert result.verdict("m#prod#9").counts is False
    assert result.verdict("m#prod#3").counts is True


@pytest.mark.parametrize("field", ["model", "stage", "n", "version"])
def test_a_record_naming_another_tag_does_not_count(field: str) -> None:
    other: dict[str, Any] = {"model": "x", "stage": "dev", "counter": 7, "version": "v2.0.0"}
    key = "counter" if field == "n" else field
    tags = [
        *VERSIONS,
        raw("m#dev#1", message=promotion()),
        raw("m#staging#2", message=promotion(**{key: other[key]})),
    ]
    result = audit(tags)
    assert kinds(result) == [("m#staging#2", "name-mismatch")]
    assert result.verdict("m#staging#2").counts is False


def test_an_older_record_without_its_name_counts_only_outside_signed_stages() -> None:
    old = reg.format_record("x", {**json.loads(promotion().split("v1\n", 1)[1])})
    tags = [
        *VERSIONS,
        raw("m#dev#1", message=promotion()),
        raw("m#staging#2", message=promotion()),
        replace(raw("m#prod#3"), message=old),
    ]
    unsigned = audit(tags)
    assert kinds(unsigned) == [("m#prod#3", "unbound-record")]
    assert (
        unsigned.verdict("m#prod#3").counts and unsigned.verdict("m#prod#3").evidence == "recorded"
    )
    signed = audit(tags, trust=SIGNED, signatures={"m#prod#3": Signature("good", (ADA,))})
    assert kinds(signed) == [("m#prod#3", "unbound-record")]
    assert signed.verdict("m#prod#3").counts is False


def test_a_signed_approval_copied_under_another_versions_name_does_not_count() -> None:
    """Bob's signed approval of v1.0.0, pushed again as the approval of v2.0.0."""
    good = approval("prod", BOB)
    name = reg.approval_tag("m", "v2.0.0", "prod", BOB)
    for copy in (replace(good, name=name), replace(good, name=name, header=name)):
        signatures = {good.name: Signature("good", (BOB,)), name: Signature("good", (BOB,))}
        result = audit([*VERSIONS, good, copy], trust=SIGNED, signatures=signatures)
        assert result.approvals == {("m", "v1.0.0", "prod"): frozenset({BOB})}
        assert (name, "name-mismatch") in kinds(result)


def test_an_approval_on_another_commit_than_its_versions_does_not_count() -> None:
    moved = replace(approval("prod", BOB), commit=C2)
    result = audit(
        [*VERSIONS, moved], trust=SIGNED, signatures={moved.name: Signature("good", (BOB,))}
    )
    assert result.approvals == {}
    assert kinds(result) == [(moved.name, "name-mismatch")]


def test_a_signed_approval_without_a_record_does_not_count() -> None:
    bare = replace(approval("prod", BOB), message="ok")
    result = audit(
        [*VERSIONS, bare], trust=SIGNED, signatures={bare.name: Signature("good", (BOB,))}
    )
    assert result.approvals == {}
    assert kinds(result) == [(bare.name, "no-record")]


# ---- properties -------------------------------------------------------------------

STEPS = st.lists(st.tuples(st.integers(0, 1), st.integers(0, 2)), min_size=1, max_size=25)


def walk(steps: list[tuple[int, int]]) -> list[RawTag]:
    """Tags a well-behaved promoter writes: each (version, stage) step is taken only
    when the version is in the stage before; otherwise it is recorded as a bypass."""
    tags, entered = list(VERSIONS), set()
    for n, (version, stage) in enumerate(steps, start=1):
        ok = stage == 0 or (version, stage - 1) in entered or (version, stage) in entered
        message = promotion(bypass=None if ok else "hotfix")
        tags.append(raw(f"m#{STAGES[stage]}#{n}", (C1, C2)[version], message=message))
        entered.add((version, stage))
    return tags


@given(STEPS)
def test_a_ledger_written_by_the_rules_audits_clean(steps: list[tuple[int, int]]) -> None:
    assert kinds(audit(walk(steps))) == []


@given(STEPS, st.data())
def test_deleting_any_event_but_the_last_leaves_a_gap(
    steps: list[tuple[int, int]], data: st.DataObject
) -> None:
    tags = walk(steps)
    events = tags[len(VERSIONS) :]
    if len(events) < 2:
        return
    gone = data.draw(st.integers(0, len(events) - 2))
    result = audit([t for t in tags if t is not events[gone]])
    assert (events[gone + 1].name, "counter-gap") in kinds(result)


def test_a_version_tag_copied_under_another_name_registers_nothing() -> None:
    copy = replace(VERSIONS[0], name="m@v9.0.0")
    result = audit([*VERSIONS, copy])
    assert kinds(result) == [("m@v9.0.0", "name-mismatch")]
    registry = parse_registry([*VERSIONS, copy])
    assert [v.version for v in registry.models["m"].versions] == ["v1.0.0", "v2.0.0"]


def test_a_lightweight_registry_tag_is_named() -> None:
    light = RawTag("m#dev#1", "commit", C1, "commit", C1, "", "", None, "", "")
    assert kinds(audit([*VERSIONS, light])) == [("m#dev#1", "lightweight")]


def test_an_event_that_does_not_count_makes_no_one_a_promoter() -> None:
    """Bob's signed approval pushed again as a prod event (tagged by Bob): it must
    not turn Bob's approval of that version into a self-approval."""
    good = approval("prod", BOB)
    tags = [
        *VERSIONS,
        raw("m#dev#1", message=promotion()),
        raw("m#staging#2", message=promotion()),
        good,
        replace(good, name="m#prod#3"),
    ]
    signatures = {good.name: Signature("good", (BOB,)), "m#prod#3": Signature("good", (BOB,))}
    result = audit(tags, trust=SIGNED, signatures=signatures)
    assert result.approvals == {("m", "v1.0.0", "prod"): frozenset({BOB})}
    assert result.verdict("m#prod#3").counts is False


def test_every_violation_kind_is_documented() -> None:
    docs = Path(__file__).parents[2] / "docs" / "trust.md"
    text = docs.read_text(encoding="utf-8")
    assert [k for k in reg.VIOLATION_KINDS if f"| `{k}` |" not in text] == []
