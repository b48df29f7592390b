"""Checking the ledger: every event replayed in #N order against the rules it was
written under. Pure: the registry, its raw tags, the trust policy and git's
signature verdicts in; one verdict per stage event, the approvals that count and
every violation out. `status`, `history` and `audit` all read through it.

In a signed stage an event counts only when its signature verifies against a
principal allowed for its role (promote or approve); elsewhere every event counts,
as GTO reads them, and a missing record only shows as "no evidence".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from operator import attrgetter, methodcaller
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from envctl.registry.approvals import APPROVAL_PREFIX, ApprovalTag, approver_slug
from envctl.registry.approvals import parse_approval_tag as _parse_approval
from envctl.registry.binding import (
    UNBOUND,
    approval_binding,
    copied_or_lightweight,
    event_binding,
)
from envctl.registry.grammar import Action, parse_tag_name
from envctl.registry.records import (
    has_record_marker,
    parse_record,
    record_email,
    record_problems,
    spec_commit,
)
from envctl.registry.replay import Entered, ModelReplay
from envctl.registry.state import (
    ApprovalKey,
    Model,
    Registry,
    StageEvent,
    current_stages,
    event_heads,
)
from envctl.registry.timing import skew_problems
from envctl.registry.violation import Violation
from envctl.tagtable import RawTag, TagTable

if TYPE_CHECKING:
    from envctl.vcs import Signature

Evidence = Literal["signed", "recorded", "none", "invalid"]
# Problems of an event that leave it without evidence rather than with false evidence.
_NO_EVIDENCE = frozenset({"no-record", "unsigned"})


@dataclass(frozen=True)
class StageTrust:
    promoters: frozenset[str]  # lower-cased principals
    approvers: frozenset[str]


@dataclass(frozen=True)
class TrustPolicy:
    """The signed stages and who may sign their events."""

    stages: Mapping[str, StageTrust] = field(default_factory=dict)

    def is_signed(self, stage: str) -> bool:
        return stage in self.stages


@dataclass(frozen=True)
class Verdict:
    """What reading an event concluded. `counts`: whether it may put a version in
    its stage (always, outside signed stages)."""

    evidence: Evidence
    counts: bool
    problems: tuple[Violation, ...] = ()
    signer: str | None = None


class Audit:
    """The ledger replayed: one verdict per stage event, the approvals that count,
    every violation. Immutable; a verdict is computed when first asked for, by the
    same rules (`replay`), so `verdict` and `stages` judge only the events they
    depend on, while `verdicts` and `violations` judge every event."""

    def __init__(self, checker: _Checker, also: tuple[Violation, ...] = ()) -> None:
        self._checker = checker
        self._also = also
        self._judged: dict[str, Verdict] = {}  # shared by the replays: tag -> verdict
        self._replays = {
            name: ModelReplay(model, checker.judge, _counts, self._judged)
            for name, model in checker.registry.models.items()
        }
        self._where: dict[str, tuple[ModelReplay[Verdict], int]] | None = None

    def verdict(self, tag: str) -> Verdict:
        judged = self._judged.get(tag)
        if judged is not None:  # `stages` judged it on the way
            return judged
        found = self._positions().get(tag)
        return found[0].verdict(found[1]) if found else Verdict("none", True)

    def _positions(self) -> dict[str, tuple[ModelReplay[Verdict], int]]:
        if self._where is None:
            self._where = {
                head[4]: (replay, position)
                for replay in self._replays.values()
                for position, head in enumerate(event_heads(replay.model.events))
            }
        return self._where

    def stages(self, model: Model) -> Mapping[str, StageEvent]:
        """The stage -> event in force, counting only the events that count."""
        replay = self._replays.get(model.name)
        if replay is not None and replay.model is model:
            return replay.stages()
        counted = [e for e in model.events if self.verdict(e.tag).counts]
        return MappingProxyType(current_stages(counted, model.versions))

    @cached_property
    def verdicts(self) -> Mapping[str, Verdict]:
        """Stage event tag -> its verdict, for every event of every model."""
        return MappingProxyType(
            {
                event.tag: replay.verdict(position)
                for replay in self._replays.values()
                for position, event in enumerate(replay.model.events)
            }
        )

    @cached_property
    def _approvals(self) -> tuple[Mapping[ApprovalKey, frozenset[str]], list[Violation]]:
        raws = [t for t in self._checker.raws if t.name.startswith(APPROVAL_PREFIX)]
        events = (e for m in self._checker.registry.models.values() for e in m.events)
        counted, violations = self._checker.approvals(
            raws, _promoter_identities(events, self._checker)
        )
        approvals = {k: frozenset(v) for k, v in sorted(counted.items())}
        return MappingProxyType(approvals), violations

    @property
    def approvals(self) -> Mapping[ApprovalKey, frozenset[str]]:
        """(model, version, stage) -> the approvers whose approval counts."""
        return self._approvals[0]

    @cached_property
    def violations(self) -> tuple[Violation, ...]:
        registry, raws = self._checker.registry, self._checker.raws
        violations = list(self._approvals[1])
        violations += [v for verdict in self.verdicts.values() for v in verdict.problems]
        violations += _counter_problems(registry, raws)
        # Flagged, not a reason not to count: soak counts from the later time (timing).
        skewed = skew_problems(registry)
        violations += [Violation(e.tag, "clock-skew", e.model, why) for e, why in skewed]
        violations += copied_or_lightweight(raws)
        order = {tag: i for i, tag in enumerate(sorted({v.tag for v in violations}))}
        ordered = sorted(violations, key=lambda v: (order[v.tag], v.kind))
        return (*ordered, *self._also)

    def trusted(self, registry: Registry) -> Registry:
        """`registry` as the rules see it: events that do not count left out, and
        only the approvals that count."""
        models = {
            name: replace(
                model,
                events=tuple(e for e in model.events if self.verdict(e.tag).counts),
                stages=self.stages(model),
            )
            for name, model in registry.models.items()
        }
        return replace(
            registry, models=MappingProxyType(models), approvals=MappingProxyType(self.approvals)
        )


def _counts(verdict: Verdict) -> bool:
    return verdict.counts


def audit_registry(
    registry: Registry,
    tags: Iterable[RawTag],
    *,
    stages: list[str],
    trust: TrustPolicy,
    signatures: Mapping[str, Signature],
    specs: Mapping[tuple[str, str], str],
    also: Iterable[Violation] = (),
) -> Audit:
    """Replay the ledger. `stages` is the project's order (empty: no order rule);
    `signatures` holds git's verdict for each tag of a signed stage; `specs` maps
    (signed stage, commit on the protected branch) to the fingerprint of the
    stage's spec there; `also`: violations found outside the ledger's rules,
    listed after them."""
    table = tags if isinstance(tags, TagTable) else TagTable.of(tags)
    checker = _Checker(registry, stages, trust, signatures, table, specs)
    return Audit(checker, tuple(also))


def _promoter_identities(
    events: Iterable[StageEvent], checker: _Checker
) -> dict[ApprovalKey, set[str]]:
    """Who put each (model, version, stage) there: tagger, record and signer. In a
    signed stage only events signed by an allowed promoter under their own name
    say who promoted: anyone could otherwise push an event naming an approver as
    its promoter and so make that approver's approval a self-approval."""
    found: dict[ApprovalKey, set[str]] = {}
    for e in events:
        if e.version is None or e.action is not Action.ASSIGN:
            continue
        if checker.headers.get(e.tag, "") != e.tag or (
            checker.trust.is_signed(e.stage)
            and checker.signature_problem(
                e.tag, e.model, checker.trust.stages[e.stage].promoters, "promote"
            )[0]
        ):
            continue
        who = {e.author_email.strip().lower()}
        who |= set(checker.principals(e.tag))
        if (email := record_email(e.record or {})) is not None:
            who.add(email)
        found.setdefault((e.model, e.version, e.stage), set()).update(who)
    return found


class _Checker:
    def __init__(
        self,
        registry: Registry,
        stages: list[str],
        trust: TrustPolicy,
        signatures: Mapping[str, Signature],
        table: TagTable,
        specs: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        self.specs = specs or {}
        self.registry = registry
        self.stages = stages
        self.trust = trust
        self.signatures = signatures
        self.table = table
        self._counted: dict[ApprovalKey, set[str]] = {}
        self._by_key: dict[str, dict[ApprovalKey, list[StageEvent]]] = {}
        self._approval_raws: dict[ApprovalKey, list[tuple[RawTag, ApprovalTag]]] | None = None

    @cached_property
    def raws(self) -> list[RawTag]:
        """Every tag, by name (what the audit of the whole ledger reads)."""
        return sorted(self.table, key=attrgetter("name"))

    @cached_property
    def headers(self) -> dict[str, str]:
        """tag -> the name its tag object carries ("" for a lightweight tag)."""
        return dict(zip(self.table.names, self.table.headers, strict=True))

    def principals(self, tag: str) -> tuple[str, ...]:
        sig = self.signatures.get(tag)
        return sig.principals if sig is not None and sig.status == "good" else ()

    def signature_problem(
        self, tag: str, model: str, allowed: frozenset[str], role: str
    ) -> tuple[Violation | None, str | None]:
        """(what is wrong with the tag's signature for `role`, the signer): with a good
        signature the signer is who signed, allowed for the role or not."""
        sig = self.signatures.get(tag)
        status = sig.status if sig is not None else "none"
        if status == "none":
            message = "not signed (this stage counts only signed events)"
            return Violation(tag, "unsigned", model, message), None
        if status == "bad" or sig is None:
            detail = sig.detail if sig is not None else "does not verify"
            return Violation(tag, "bad-signature", model, detail), None
        if status == "unknown":
            return Violation(tag, "unknown-signer", model, sig.detail), None
        signer = next((p for p in sig.principals if p in allowed), None)
        if signer is None:
            who = ", ".join(sig.principals)
            problem = Violation(tag, "signer-not-allowed", model, f"{who} may not {role} here")
            return problem, sig.principals[0] if sig.principals else None
        return None, signer

    # --- approvals ---------------------------------------------------------------

    def approvals(
        self, raws: list[RawTag], promoters: Mapping[ApprovalKey, set[str]]
    ) -> tuple[dict[ApprovalKey, set[str]], list[Violation]]:
        counted: dict[ApprovalKey, set[str]] = {}
        violations: list[Violation] = []
        for raw in raws:
            parsed = _parse_approval(raw.name)
            problems, who = self._approval(raw, parsed, promoters)
            violations += problems
            if parsed is not None and who is not None:
                key = (parsed.model, parsed.version, parsed.stage)
                counted.setdefault(key, set()).add(who)
        return counted, violations

    def _approval(
        self, raw: RawTag, parsed: ApprovalTag | None, promoters: Mapping[ApprovalKey, set[str]]
    ) -> tuple[list[Violation], str | None]:
        """The approval's problems and its approver when it counts."""
        if parsed is None or raw.object_type != "tag":
            why = "not MODEL/vX.Y.Z/STAGE/SLUG" if parsed is None else "lightweight (no approver)"
            return [Violation(raw.name, "invalid-approval", None, why)], None
        model, tag = parsed.model, raw.name
        problems = self._approval_record(raw, model)
        problems += approval_binding(raw, parsed)
        version = self.registry.model(model)
        registered = version.version(parsed.version) if version else None
        if registered is None:
            message = f"{model}@{parsed.version} is not registered"
            problems.append(Violation(tag, "unknown-version", model, message))
        elif registered.commit != raw.commit:
            message = f"tags {raw.commit[:12]}, not {parsed.version}'s commit"
            problems.append(Violation(tag, "name-mismatch", model, message))
        who = raw.tagger_email.strip().lower()
        if self.trust.is_signed(parsed.stage):
            allowed = self.trust.stages[parsed.stage].approvers
            problem, signer = self.signature_problem(tag, model, allowed, "approve")
            problems += [problem] if problem else []
            who = signer or who
        if approver_slug(who) != parsed.slug:
            message = f"made by {who}, named for another approver"
            problems.append(Violation(tag, "invalid-approval", model, message))
        key = (model, parsed.version, parsed.stage)
        registrant = version.version(parsed.version) if version else None
        if who in promoters.get(key, set()) or (
            registrant and registrant.author_email.strip().lower() == who
        ):
            message = f"{who} approves a version they registered or promoted; it does not count"
            problems.append(Violation(tag, "self-approval", model, message))
        # In a signed stage the signed bytes must say what is approved: an approval
        # without a valid record names nothing and does not count.
        blocking = problems
        if not self.trust.is_signed(parsed.stage):
            blocking = [p for p in blocking if p.kind in ("invalid-approval", "name-mismatch")]
        return problems, None if blocking else who

    def _approval_record(self, raw: RawTag, model: str) -> list[Violation]:
        if not has_record_marker(raw.message):
            return [Violation(raw.name, "no-record", model, "no envctl record (made by hand)")]
        data = parse_record(raw.message)
        problems = record_problems(data, "approval") if data is not None else ["does not parse"]
        if not problems and record_email(data or {}) != raw.tagger_email.strip().lower():
            problems.append("who is not the tagger")
        return [Violation(raw.name, "invalid-record", model, p) for p in problems]

    def counted_approvals(self, key: ApprovalKey) -> set[str]:
        """The approvers of `key` whose approval counts: `approvals` for that key
        alone (an approval's rules look only at the promoters of its own key)."""
        found = self._counted.get(key)
        if found is None:
            found = set()
            approvals = self._approvals_of().get(key, [])
            events = self._assignments(key[0]).get(key, []) if approvals else []
            promoters = _promoter_identities(events, self)  # they matter to approvals only
            for raw, parsed in approvals:
                who = self._approval(raw, parsed, promoters)[1]
                if who is not None:
                    found.add(who)
            self._counted[key] = found
        return found

    def _assignments(self, model: str) -> dict[ApprovalKey, list[StageEvent]]:
        """The model's events by (model, version, stage), built once per model."""
        found = self._by_key.get(model)
        if found is None:
            found = {}
            events = self.registry.model(model)
            for event in events.events if events else ():
                key = (event.model, event.version or "", event.stage)
                found.setdefault(key, []).append(event)
            self._by_key[model] = found
        return found

    def _approvals_of(self) -> dict[ApprovalKey, list[tuple[RawTag, ApprovalTag]]]:
        if self._approval_raws is None:
            self._approval_raws = {}
            names = self.table.names
            approving = sorted(filter(methodcaller("startswith", APPROVAL_PREFIX), names))
            where = dict(zip(names, range(len(names)), strict=True)) if approving else {}
            for i in map(where.__getitem__, approving):
                parsed = _parse_approval(names[i])
                if parsed is not None:
                    key = (parsed.model, parsed.version, parsed.stage)
                    self._approval_raws.setdefault(key, []).append((self.table[i], parsed))
        return self._approval_raws

    # --- stage events ------------------------------------------------------------

    def judge(self, event: StageEvent, entered: Entered) -> Verdict:
        """The verdict on `event`; `entered(version, stage)`: whether an earlier
        assignment of that version to that stage counts (the order rule as it
        stood then)."""
        tag, model = event.tag, event.model
        problems, record = self._event_record(event)
        problems += event_binding(event, self.headers.get(tag, ""), record)
        if event.version is None:
            message = f"commit {event.commit[:12]} has no registered version of {model}"
            problems.append(Violation(tag, "unknown-version", model, message))
        if self.stages and event.stage not in self.stages:
            message = f"{event.stage} is not a stage of envctl.yaml"
            problems.append(Violation(tag, "unknown-stage", model, message))
        elif event.action is Action.ASSIGN and (why := self._order(event, entered, record)):
            problems.append(Violation(tag, "skipped-stage", model, why))
        signer = None
        if self.trust.is_signed(event.stage):
            allowed = self.trust.stages[event.stage].promoters
            problem, signer = self.signature_problem(tag, model, allowed, "promote")
            problems += [problem] if problem else []
            if not problem and signer and record is not None and record_email(record) != signer:
                message = f"signed by {signer}, but the record names {record_email(record)}"
                problems.append(Violation(tag, "invalid-record", model, message))
            if record is not None and (why := self._spec_problem(event, record)):
                problems.append(Violation(tag, "spec-not-protected", model, why))
        if record is not None and event.version is not None:
            counted = self.counted_approvals((event.model, event.version, event.stage))
            problems += _approval_evidence(event, record, counted, signer)
        return _verdict(problems, signed=self.trust.is_signed(event.stage), signer=signer)

    def _spec_problem(self, event: StageEvent, record: Mapping[str, Any]) -> str | None:
        """A signed stage's event counts only when decided on the stage's spec as it
        was on the protected branch (the commit and fingerprint its record names)."""
        commit = spec_commit(record)
        if commit is None:
            return "the record does not name the protected commit its stage spec was read at"
        protected = self.specs.get((event.stage, commit))
        if protected is None:
            return f"{event.stage}'s spec at {commit[:12]} is not on the protected branch"
        if protected != record["env"].get("fingerprint"):
            return f"the gates came from a spec that is not {event.stage}'s at {commit[:12]}"
        return None

    def _event_record(self, event: StageEvent) -> tuple[list[Violation], dict[str, Any] | None]:
        tag, model = event.tag, event.model
        if not has_record_marker(event.message):
            message = "no envctl record (made by GTO or by hand): no evidence"
            return [Violation(tag, "no-record", model, message)], None
        record = event.record
        if record is None:
            return [Violation(tag, "invalid-record", model, "the record does not parse")], None
        problems = [
            Violation(tag, "invalid-record", model, p) for p in record_problems(record, "promotion")
        ]
        if problems:
            return problems, None
        if record_email(record) != event.author_email.strip().lower():
            message = f"the record names {record_email(record)}, the tagger is {event.author_email}"
            problems.append(Violation(tag, "invalid-record", model, message))
        failed = [g for g in record["gates"] if g["status"] != "passed"]
        if failed:
            names = ", ".join(f"{g['kind']} {g['status']}" for g in failed)
            problems.append(Violation(tag, "gate-not-passed", model, f"recorded gates: {names}"))
        return problems, record

    def _order(
        self, event: StageEvent, entered: Entered, record: Mapping[str, Any] | None
    ) -> str | None:
        index = self.stages.index(event.stage) if self.stages else 0
        if index == 0 or event.version is None:
            return None
        before = self.stages[index - 1]
        if entered(event.version, before) or entered(event.version, event.stage):
            return None
        if record is not None and record.get("bypass"):
            return None
        return f"{event.version} had not entered {before} and no bypass is recorded"


def _approval_evidence(
    event: StageEvent, record: Mapping[str, Any], counted: set[str], signer: str | None
) -> list[Violation]:
    """The approvals a recorded gate counted (`counted`: the approvers of its
    model, version and stage whose approval counts) must be approvals that count."""
    promoter = {signer, record_email(record)}
    problems = []
    for gate in record["gates"]:
        evidence = gate.get("evidence")
        named = evidence.get("approvers") if isinstance(evidence, dict) else None
        for who in named if isinstance(named, list) else []:
            email = str(who).strip().lower()
            if email not in counted or email in promoter:
                message = f"the approvals gate counted {email}, whose approval does not count"
                problems.append(Violation(event.tag, "uncounted-approval", event.model, message))
    return problems


def _verdict(problems: list[Violation], *, signed: bool, signer: str | None) -> Verdict:
    kinds = {p.kind for p in problems}
    if "no-record" in kinds:
        evidence: Evidence = "none"
    elif kinds - _NO_EVIDENCE - ({UNBOUND} if not signed else set()):
        evidence = "invalid"
    else:
        evidence = "signed" if signer else "recorded"
    counts = (evidence == "signed" if signed else True) and "name-mismatch" not in kinds
    return Verdict(evidence, counts, tuple(problems), signer)


def _counter_problems(registry: Registry, raws: list[RawTag]) -> list[Violation]:
    """`#N` is one counter per model: no number twice, none missing. Stage events
    come parsed from the registry; only the other tags' names are parsed here."""
    by_model: dict[str, list[tuple[int, str]]] = {}
    known: set[str] = set()
    for found in registry.models.values():
        for event in found.events:
            known.add(event.tag)
            if event.counter is not None:
                by_model.setdefault(found.name, []).append((event.counter, event.tag))
    for raw in raws:
        if raw.name in known or not raw.name[-1:].isdigit():
            continue
        name = parse_tag_name(raw.name)
        if name is not None and name.counter is not None:
            by_model.setdefault(name.model, []).append((name.counter, raw.name))
    problems = []
    for model, numbered in by_model.items():
        numbered.sort()
        expected = 1
        for n, tag in numbered:
            if n < expected:
                message = f"#{n} is used by another tag of {model} too"
                problems.append(Violation(tag, "counter-duplicate", model, message))
                continue
            if n > expected:
                missing = f"#{expected}" if n == expected + 1 else f"#{expected}..#{n - 1}"
                message = f"{missing} missing before it (a tag was deleted?)"
                problems.append(Violation(tag, "counter-gap", model, message))
            expected = n + 1
    return problems
