"""`envctl sync`: bring the local ledger in line with a remote's.

1. Compare the local registry tags with the remote's (`git ls-remote`).
2. Local-only stage events whose N the remote already uses (an event written
   without --push while another machine pushed) are set aside: their tag
   name, commit and message are saved in the git directory first, so that a
   killed sync resumes them, and the local tags are deleted.
3. A local version or approval tag that differs from the remote's same-named
   tag is replaced by the remote's when both name the same commit (the same
   version registered twice, the same person approving twice); a version tag on
   another commit is a real conflict: sync stops and names it.
4. Every remote tag is fetched.
5. Each set-aside event, in its old N order, is decided again on the fetched
   ledger as promote decides (`resync`: already in the stage, order, policy,
   baselines, approvals); one that holds is re-written as a new event with the
   next N, its record with the gates as re-evaluated and `renumbered_from`
   naming the old tag; one that no longer holds is dropped with the reason
   (never published).
6. Every local-only registry tag is pushed in one atomic push.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from envctl import registry as reg
from envctl.errors import ExternalError, PushRejected
from envctl.ledger import sharing
from envctl.ledger.lock import DEFAULT_TIMEOUT, registry_lock
from envctl.ledger.trust import is_signed_stage
from envctl.ledger.write import read_ledger
from envctl.output.promotion import Renumbered, SyncDocument
from envctl.progress import Progress, silent
from envctl.promotion.resync import reconsider
from envctl.registry.results import GateResult
from envctl.registry.workspace import Workspace

PENDING_FILE = "envctl-sync-pending.json"


@dataclass(frozen=True)
class _SetAside:
    tag: str
    commit: str
    message: str


def sync(
    ws: Workspace,
    *,
    remote: str = "origin",
    push: bool = True,
    lock_timeout: float = DEFAULT_TIMEOUT,
    say: Progress = silent,
) -> SyncDocument:
    from envctl import vcs

    with registry_lock(ws.root, timeout=lock_timeout, say=say):
        pending = vcs.common_dir(ws.root) / PENDING_FILE
        theirs_full = vcs.remote_tags(ws.root, remote)
        theirs = {name: t.object_id for name, t in theirs_full.items()}
        local = {t.name: t for t in vcs.read_tags(ws.root)}
        set_aside = _load_pending(pending.read_text() if pending.exists() else "")
        replaced: list[str] = []
        conflicts: list[str] = []
        comparison = sharing.compare(local.values(), theirs)
        # Every local-only event of a model with a clash moves, so their order holds.
        moving = {_model(n) for n in comparison.clashing if _is_stage_event(n)}
        for name in sorted(comparison.local_only):
            if _is_stage_event(name) and _model(name) in moving:
                raw = local[name]
                set_aside.append(_SetAside(name, raw.commit, raw.message))
        for name in comparison.clashing:
            raw = local[name]
            if _is_stage_event(name):
                if name in theirs:
                    set_aside.append(_SetAside(name, raw.commit, raw.message))
            elif name in theirs and theirs_full[name].commit == raw.commit:
                replaced.append(name)
            elif name in theirs:
                conflicts.append(
                    f"{name} is at {raw.commit[:12]} here and {theirs_full[name].commit[:12]} "
                    f"on {remote}"
                )
        if conflicts:
            raise ExternalError(
                f"cannot sync with {remote}: {conflicts[0]}; versions are immutable, so one "
                "of them must be deregistered by hand",
                details=conflicts,
            )
        pending.write_text(json.dumps([s.__dict__ for s in set_aside], indent=2))
        for name in [s.tag for s in set_aside] + replaced:
            if name in local:
                vcs.delete_tag(ws.root, name, expected=local[name].object_id)
        vcs.fetch_tags(ws.root, remote)
        fetched = sorted(set(theirs) - set(local) | set(replaced))
        renumbered = [_rewrite(ws, item, say) for item in _ordered(set_aside)]
        pending.unlink()
        pushed = _push_local_only(ws, remote, theirs, say) if push else []
    return SyncDocument(
        remote=remote,
        fetched=fetched,
        renumbered=renumbered,
        replaced=sorted(replaced),
        pushed=pushed,
    )


def _is_stage_event(tag: str) -> bool:
    parsed = reg.parse_tag_name(tag)
    return parsed is not None and parsed.action in (reg.Action.ASSIGN, reg.Action.UNASSIGN)


def _model(tag: str) -> str | None:
    parsed = reg.parse_tag_name(tag)
    return parsed.model if parsed else None


def _load_pending(text: str) -> list[_SetAside]:
    """Events set aside by a sync that was killed before it re-wrote them."""
    try:
        items = json.loads(text) if text.strip() else []
    except ValueError:
        return []
    return [
        _SetAside(str(i["tag"]), str(i["commit"]), str(i["message"]))
        for i in items
        if isinstance(i, dict) and {"tag", "commit", "message"} <= i.keys()
    ]


def _ordered(items: list[_SetAside]) -> list[_SetAside]:
    unique = {item.tag: item for item in items}
    return sorted(unique.values(), key=lambda s: _counter(s.tag))


def _counter(tag: str) -> int:
    parsed = reg.parse_tag_name(tag)
    return (parsed.counter or 0) if parsed else 0


def _rewrite(ws: Workspace, item: _SetAside, say: Progress) -> Renumbered:
    from envctl import vcs

    parsed = reg.parse_tag_name(item.tag)
    if parsed is None or parsed.stage is None:
        return Renumbered(old_tag=item.tag, new_tag=None, reason="not a stage event")
    registry = read_ledger(ws).registry  # the fetched ledger, as it counts
    decision = reconsider(ws, registry, parsed, item.commit, item.message)
    if decision.reason is not None:
        say(f"{item.tag}: {decision.reason}; dropped")
        return Renumbered(old_tag=item.tag, new_tag=None, reason=decision.reason)
    counter = registry.next_counter(parsed.model)
    name = reg.format_tag_name(
        reg.TagName(parsed.model, parsed.action, stage=parsed.stage, counter=counter)
    )
    message = renumbered_message(item.message, item.tag, counter, decision.gates)
    sign = is_signed_stage(ws, parsed.stage)  # the re-written event must count there too
    vcs.create_annotated_tag(ws.root, name, item.commit, message, sign=sign)
    say(f"{item.tag} re-written as {name}")
    return Renumbered(old_tag=item.tag, new_tag=name)


def renumbered_message(
    message: str, old_tag: str, counter: int, gates: tuple[GateResult, ...] | None = None
) -> str:
    """The same summary and record, plus `renumbered_from`; a record that names its
    N names the new one (the name a signature binds it to); with `gates`, the gate
    results as decided again on the ledger the event is now written on."""
    record: dict[str, Any] = reg.parse_record(message) or {}
    summary = message.strip().split("\n", 1)[0]
    renamed = {"n": counter} if "n" in record else {}
    again = {"gates": [g.to_json() for g in gates]} if gates is not None else {}
    return reg.format_record(summary, {**record, **renamed, **again, "renumbered_from": old_tag})


def _push_local_only(
    ws: Workspace, remote: str, theirs: dict[str, str], say: Progress
) -> list[str]:
    from envctl import vcs

    ledger = read_ledger(ws)
    local_only = sharing.compare(ledger.tags, theirs).local_only
    names = sorted(local_only, key=_push_order)
    if not names:
        return []
    say(f"pushing {len(names)} local-only tag(s) to {remote}")
    try:
        vcs.push_tags(ws.root, remote, names)
    except PushRejected as exc:
        raise ExternalError(
            f"{remote} got {exc.tag} meanwhile (someone pushed during the sync); "
            f"run envctl sync --remote {remote} again"
        ) from None
    return names


def _push_order(tag: str) -> tuple[int, int, str]:
    """Versions, then approvals, then stage events by N (one atomic push anyway)."""
    parsed = reg.parse_tag_name(tag)
    if parsed is None:
        return (1, 0, tag)
    if parsed.action in (reg.Action.REGISTER, reg.Action.DEREGISTER):
        return (0, 0, tag)
    return (2, parsed.counter or 0, tag)
