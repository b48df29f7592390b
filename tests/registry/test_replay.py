"""Verdicts on demand: asked in any order, one at a time, they are those of the
replay of every event in #N order, and a stage's event in force is the one the
counted events put there."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from envctl import registry as reg
from envctl.registry.state import current_stages, parse_registry
from envctl.vcs import RawTag, Signature
from tests.registry.test_audit import ADA, BOB, C1, C2, SIGNED, STAGES, VERSIONS, promotion, raw

# (version, stage, action, how the event was written, signed by)
KINDS = ("recorded", "bypass", "bare", "copy", "failed")
EVENT = st.tuples(
    st.integers(0, 1),
    st.integers(0, 2),
    st.sampled_from(["", "!"]),
    st.sampled_from(KINDS),
    st.sampled_from([None, ADA, BOB, "bad"]),
)
LEDGER = st.tuples(st.lists(EVENT, min_size=1, max_size=30), st.booleans(), st.booleans())


def event_tag(n: int, event: tuple[int, int, str, str, str | None]) -> RawTag:
    version, stage, cancel, kind, _ = event
    name = f"m#{STAGES[stage]}{cancel}#{n}"
    commit = (C1, C2)[version]
    if kind == "bare":
        return raw(name, commit, message="made by hand")
    if kind == "copy":
        return raw(name, commit, message=promotion(), header=f"m#{STAGES[stage]}#{n + 100}")
    message = promotion(
        bypass="hotfix" if kind == "bypass" else None,
        gates=("failed",) if kind == "failed" else ("passed",),
    )
    return raw(name, commit, message=message)


def ledger(
    events: list[tuple[int, int, str, str, str | None]], deregistered: bool, approved: bool
) -> tuple[list[RawTag], dict[str, Signature]]:
    tags = list(VERSIONS) + [event_tag(n, e) for n, e in enumerate(events, start=1)]
    if deregistered:
        tags.append(raw("m@v2.0.0!", C2))
    if approved:
        tags.append(raw(reg.approval_tag("m", "v1.0.0", "prod", BOB), email=BOB))
    signatures = {}
    for tag, event in zip(tags[len(VERSIONS) :], events, strict=False):
        signer = event[4]
        if signer == "bad":
            signatures[tag.name] = Signature("bad", (), "does not verify")
        elif signer is not None:
            signatures[tag.name] = Signature("good", (signer,))
    return tags, signatures


def fresh(
    tags: list[RawTag],
    signatures: dict[str, Signature],
    signed: bool,
    registry: reg.Registry | None = None,
) -> reg.Audit:
    return reg.audit_registry(
        registry or parse_registry(tags),
        tags,
        stages=STAGES,
        trust=SIGNED if signed else reg.TrustPolicy(),
        signatures=signatures,
        specs={("prod", "5" * 40): "f"},
    )


@settings(max_examples=300)
@given(LEDGER, st.booleans(), st.randoms(use_true_random=False))
def test_verdicts_asked_one_by_one_in_any_order_are_the_replays(
    ledger_args: tuple[list[tuple[int, int, str, str, str | None]], bool, bool],
    signed: bool,
    order: random.Random,
) -> None:
    tags, signatures = ledger(*ledger_args)
    everything = fresh(tags, signatures, signed).verdicts
    names = list(everything)
    order.shuffle(names)
    asked = fresh(tags, signatures, signed)
    assert {name: asked.verdict(name) for name in names} == dict(everything)


@settings(max_examples=300)
@given(LEDGER, st.booleans())
def test_the_stages_found_from_the_newest_event_back_are_those_of_every_counted_event(
    ledger_args: tuple[list[tuple[int, int, str, str, str | None]], bool, bool], signed: bool
) -> None:
    tags, signatures = ledger(*ledger_args)
    registry = parse_registry(tags)
    model = registry.models["m"]
    everything = fresh(tags, signatures, signed).verdicts
    counted = [e for e in model.events if everything[e.tag].counts]

    on_demand = fresh(tags, signatures, signed, registry).stages(model)

    assert dict(on_demand) == current_stages(counted, model.versions)
