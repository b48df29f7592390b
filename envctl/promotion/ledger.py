"""Writing assignment tags: one writer per clone, the next N, and pushes that
another machine beat (fetch, re-check, retry)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from envctl import registry as reg
from envctl.errors import ExternalError, GateFailed, PushRejected, TagExists
from envctl.progress import Progress
from envctl.promotion.gates import GateResult
from envctl.promotion.rules import Target, order_problem
from envctl.promotion.workspace import Workspace, read_registry
from envctl.spec.loading import Environment

if TYPE_CHECKING:
    from envctl.vcs import GitUser

PUSH_RETRIES = 3


@dataclass(frozen=True)
class Entry:
    """What an assignment tag records besides who and when."""

    target: Target
    image: str | None  # the image's id when known, else its name
    gates: tuple[GateResult, ...] = ()
    bypass: str | None = None
    rollback_of: str | None = None
    sign: bool = False  # a signed stage: git signs the tag (`git tag -s`)


@dataclass(frozen=True)
class Recorded:
    entry: Entry  # as written: a re-check after a rejected push may have changed it
    tag: str
    pushed: bool


def record(
    ws: Workspace,
    env: Environment,
    entry: Entry,
    *,
    push: bool,
    remote: str,
    say: Progress,
    recheck: Callable[[Entry], Entry] | None = None,
) -> Recorded:
    """Write the assignment tag (and push it). `recheck` runs after fetching the
    remote's tags when a push was rejected: it re-evaluates what depends on the
    stage's current version and returns the entry to write instead, or raises."""
    from envctl import vcs

    user = vcs.head_user(ws.root)
    for _attempt in range(PUSH_RETRIES + 1):
        target = entry.target
        message = _message(user, env, entry)
        with _registry_lock(ws.root):
            counter = read_registry(ws).next_counter(target.model)
            name = reg.assignment_tag(target.model, target.stage, counter)
            try:
                tag_id = vcs.create_annotated_tag(
                    ws.root, name, target.commit, message, sign=entry.sign
                )
            except TagExists:
                continue
        if not push:
            return Recorded(entry, name, pushed=False)
        try:
            vcs.push_tag(ws.root, remote, name)
        except PushRejected:
            # Someone promoted first: drop our tag, take theirs, re-check, retry.
            vcs.delete_tag(ws.root, name, expected=tag_id)
            say(f"{remote} already has {name}; fetching tags and retrying")
            vcs.fetch_tags(ws.root, remote)
            _recheck_after_fetch(ws, target)
            if recheck is not None:
                entry = recheck(entry)
            continue
        except BaseException:
            vcs.delete_tag(ws.root, name, expected=tag_id)
            raise
        return Recorded(entry, name, pushed=True)
    raise ExternalError(
        f"could not record {entry.target.model}#{entry.target.stage}: {remote} rejected "
        f"{PUSH_RETRIES + 1} pushes (others kept promoting); retry later"
    )


def _message(user: GitUser, env: Environment, entry: Entry) -> str:
    target = entry.target
    data = reg.promotion_record(
        who_name=user.name,
        who_email=user.email,
        when=datetime.now(timezone.utc),
        from_stage=target.from_stage,
        env={"name": env.name, "spec_version": env.spec.version, "fingerprint": env.fingerprint},
        image=entry.image,
        gates=[g.to_json() for g in entry.gates],
        bypass=entry.bypass,
        rollback_of=entry.rollback_of,
    )
    verb = "rolls back" if entry.rollback_of else "promotes"
    summary = f"{user.email} {verb} {target.model}@{target.version} to {target.stage}"
    return reg.format_record(summary, data)


def _recheck_after_fetch(ws: Workspace, target: Target) -> None:
    """After fetching, the order must still hold (the previous stage's record is
    what we relied on) and the version must not already be in the stage."""
    registry = read_registry(ws)
    order = order_problem(registry, target)
    if order != "ok":
        raise GateFailed(f"after fetching tags: {order}")
    found = registry.model(target.model)
    current = found.stages.get(target.stage) if found else None
    if current is not None and current.version == target.version:
        raise GateFailed(
            f"{target.model}@{target.version} entered {target.stage} meanwhile "
            "(another promotion); nothing to do"
        )


@contextmanager
def _registry_lock(root: Path) -> Iterator[None]:
    """One writer of assignment tags per clone at a time (N must not repeat). The
    lock lives in the common git directory: linked work trees share the tags."""
    from envctl import vcs

    path = vcs.common_dir(root) / "envctl-registry.lock"
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
