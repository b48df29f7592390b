"""Whether a stage event `envctl sync` set aside still holds on the shared ledger.

A local-only event was decided on this clone's copy of the ledger; by the time
sync renumbers it, another machine may have promoted a better version, approved
or rolled back. So the event is decided again, under sync's registry lock, on the
fetched ledger (read through the one verified reader) and by the rules promote
decides on: already in the stage, the stage order (unless its record carries a
bypass), the stage's policy (unless a bypass), `baseline:` metrics against the
version the stage now holds, and approvals counted again; a rollback holds only
while the stage still holds what it rolled back. What no longer holds is dropped
with the reason, never published.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast, get_args

from envctl import registry as reg
from envctl.gates.checks import holding_back
from envctl.ledger.write import AlreadyInStage, Entry, current_event
from envctl.promotion.flow import policy_verdict, redecide
from envctl.promotion.rules import order_problem
from envctl.registry.results import GateResult
from envctl.registry.target import Target
from envctl.registry.workspace import Workspace
from envctl.spec.loading import load_environment
from envctl.vocabulary import GateKind, GateStatus


@dataclass(frozen=True)
class Reconsidered:
    """`reason`: why the event no longer holds (None: it holds). `gates`: its gate
    results as they stand now, to record with it (None: keep the record's)."""

    reason: str | None
    gates: tuple[GateResult, ...] | None = None


def reconsider(
    ws: Workspace, registry: reg.Registry, name: reg.TagName, commit: str, message: str
) -> Reconsidered:
    """Decide again, on `registry` (the shared ledger as it counts), whether the
    set-aside event `name` at `commit` with `message` may be written there."""
    if name.action is not reg.Action.ASSIGN or name.stage is None:
        return Reconsidered(None)  # unassignments: GTO's, never decided by envctl
    record = reg.parse_record(message)
    version = _version(registry.model(name.model), commit, record)
    if version is None:
        return Reconsidered(f"commit {commit[:12]} is no registered version of {name.model}")
    current = current_event(registry, name.model, name.stage)
    if current is not None and current.version == version:
        return Reconsidered(f"{name.model}@{version} is already in {name.stage}")
    if ws.stages and name.stage not in ws.stages:
        return Reconsidered(f"{name.stage} is not a stage of envctl.yaml")
    target = _target(ws, name, version, commit, current)
    rolled_back = (record or {}).get("rollback_of")
    if isinstance(rolled_back, str) and rolled_back:  # as rollback decides: no gates
        if target.replaces == rolled_back:
            return Reconsidered(None)
        now = target.replaces or "nothing"
        return Reconsidered(f"{name.stage} now holds {now}, not {rolled_back} (rolled back)")
    bypass = _bypass(record)
    if bypass is None and (order := order_problem(registry, target)) != "ok":
        return Reconsidered(order)
    if record is None or record.get("kind") != "promotion" or ws.project is None:
        return Reconsidered(None)  # no evidence to decide gates and policy on
    return _gated(ws, registry, target, record, bypass)


def _gated(
    ws: Workspace,
    registry: reg.Registry,
    target: Target,
    record: Mapping[str, Any],
    bypass: str | None,
) -> Reconsidered:
    """Policy (unless bypassed) and the gates whose result depends on the ledger."""
    project = ws.project
    assert project is not None  # checked by the caller
    env = load_environment(target.stage, project)
    if bypass is None:
        verdict = policy_verdict(registry, target, env, unattended=False)
        if not verdict.allowed:
            return Reconsidered(f"the policy of {target.stage} says not now: {verdict.summary}")
    entry = Entry(target, image=None, gates=gate_results(record.get("gates")), bypass=bypass)
    decided = redecide(project, ws, env, registry, entry)
    if isinstance(decided, AlreadyInStage):  # checked before, on the same ledger
        return Reconsidered(f"{target.model}@{target.version} is already in {target.stage}")
    target, results = decided
    held = holding_back(results)
    if held is not None:
        moved = f"{target.stage} holds {target.replaces}: " if target.replaces else ""
        return Reconsidered(f"{moved}gate {held.kind} {held.status}: {held.summary}")
    return Reconsidered(None, results if results != entry.gates else None)


def _target(
    ws: Workspace, name: reg.TagName, version: str, commit: str, current: reg.StageEvent | None
) -> Target:
    stages, stage = ws.stages, name.stage or ""
    index = stages.index(stage) if stage in stages else 0
    return Target(
        name.model,
        version,
        commit,
        stage,
        stages[index - 1] if index > 0 else None,
        current.version if current is not None else None,
    )


def _version(model: reg.Model | None, commit: str, record: Mapping[str, Any] | None) -> str | None:
    """The version the record names when it is registered at `commit`; else the
    greatest active version there (as reading the registry does)."""
    here = [v for v in model.versions if v.commit == commit and v.active] if model else []
    named = (record or {}).get("version")
    if any(v.version == named for v in here):
        return str(named)
    return max(here, key=lambda v: reg.semver_key(v.version)).version if here else None


def _bypass(record: Mapping[str, Any] | None) -> str | None:
    bypass = (record or {}).get("bypass")
    reason = bypass.get("reason") if isinstance(bypass, dict) else None
    return reason if isinstance(reason, str) and reason.strip() else None


def gate_results(gates: object) -> tuple[GateResult, ...]:
    """The gate results a record holds (`GateResult.to_json` entries); entries of
    another shape are left out."""
    found = []
    for gate in gates if isinstance(gates, list) else []:
        if not isinstance(gate, dict):
            continue
        kind, status = gate.get("kind"), gate.get("status")
        if kind not in get_args(GateKind) or status not in get_args(GateStatus):
            continue
        evidence, seconds = gate.get("evidence"), gate.get("seconds")
        found.append(
            GateResult(
                cast(GateKind, kind),
                cast(GateStatus, status),
                str(gate.get("summary") or ""),
                dict(evidence) if isinstance(evidence, dict) else {},
                float(seconds) if isinstance(seconds, int | float) else None,
            )
        )
    return tuple(found)
