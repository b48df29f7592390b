"""Writing stage events: the decision taken under the registry lock on the ledger
the tag is written against, the next N, and publishing with prerequisites.

Exactly once: `decide` re-reads the rules that depend on the ledger (the stage
order, whether the version is already in the stage, baselines, approvals) while
the lock is held, right before the tag is written, and again after every fetch
when a push was rejected. Of many processes promoting one version to one stage,
the first writes the event; the others find it there and raise AlreadyInStage.
docs/ledger.md states the guarantees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from envctl import registry as reg
from envctl.errors import ExternalError, PushRejected, TagExists
from envctl.ledger import sharing
from envctl.ledger.lock import DEFAULT_TIMEOUT, registry_lock
from envctl.ledger.trust import VerifiedLedger, read_verified
from envctl.progress import Progress
from envctl.registry.results import GateResult
from envctl.registry.target import Target
from envctl.registry.workspace import Workspace
from envctl.spec.loading import Environment

if TYPE_CHECKING:
    from envctl.vcs import GitUser, RawTag

PUSH_RETRIES = 3


@dataclass(frozen=True)
class Entry:
    """What an assignment tag records besides who and when."""

    target: Target
    image: Mapping[str, Any] | str | None  # StageImage.to_json(); a bare id in old records
    gates: tuple[GateResult, ...] = ()
    bypass: str | None = None
    rollback_of: str | None = None
    sign: bool = False  # a signed stage: git signs the tag (`git tag -s`)
    cause: Mapping[str, Any] | None = None  # why a rollback was made, with its evidence


@dataclass(frozen=True)
class Recorded:
    entry: Entry  # as written: the decision under the lock may have changed it
    tag: str
    pushed: bool


class AlreadyInStage(Exception):  # not an error: the promotion is done
    """The version is in the stage already (another process recorded it, or an
    earlier run did before it was killed). `pushed`: the event is on the remote."""

    def __init__(self, event: reg.StageEvent, *, pushed: bool = False) -> None:
        super().__init__(f"{event.model}@{event.version} is already in {event.stage}")
        self.event = event
        self.pushed = pushed


# decide(registry, entry, after_fetch) -> the entry to write, or raises (GateFailed,
# AwaitingApproval, AlreadyInStage). Called with the registry lock held.
Decide = Callable[[reg.Registry, Entry, bool], Entry]


@dataclass(frozen=True)
class Ledger:
    """The ledger as read under the lock, through the one verified reader: the tags
    as read (for comparing with a remote), the registry as stored (which tags to
    publish), and `registry`, what the rules decide on (in signed stages only the
    events and approvals that count)."""

    verified: VerifiedLedger

    @property
    def tags(self) -> tuple[RawTag, ...]:
        return self.verified.tags

    @property
    def stored(self) -> reg.Registry:
        return self.verified.registry

    @property
    def registry(self) -> reg.Registry:
        return self.verified.trusted


def read_ledger(ws: Workspace) -> Ledger:
    return Ledger(read_verified(ws))


def record(
    ws: Workspace,
    env: Environment,
    entry: Entry,
    *,
    decide: Decide,
    push: bool,
    remote: str,
    say: Progress,
    lock_timeout: float = DEFAULT_TIMEOUT,
) -> Recorded:
    """Decide under the lock, write the assignment tag, and with `push` publish it
    with its local-only prerequisites (all or none). A rejected push (another
    machine took that N) fetches, decides again and retries."""
    from envctl import vcs

    user = vcs.head_user(ws.root)
    fetched = False
    for _attempt in range(PUSH_RETRIES + 1):
        theirs = remote_view(ws, remote, entry.target.model) if push else None
        if theirs is not None and _unseen(ws, theirs):
            # Decide on the ledger the event will be published into, not on a stale copy.
            say(f"{remote} has registry tags this clone has not seen; fetching them first")
            vcs.fetch_tags(ws.root, remote)
            fetched = True
        with registry_lock(ws.root, timeout=lock_timeout, say=say):
            ledger = read_ledger(ws)
            try:
                entry = decide(ledger.registry, entry, fetched)
            except AlreadyInStage as done:
                if theirs is None:
                    raise
                pushed = publish(ws, ledger, theirs, remote, done.event.tag, say)
                raise AlreadyInStage(
                    done.event, pushed=pushed or done.event.tag in theirs
                ) from None
            target = entry.target
            counter = ledger.registry.next_counter(target.model)
            name = reg.assignment_tag(target.model, target.stage, counter)
            message = _message(user, env, entry, counter)
            try:
                tag_id = vcs.create_annotated_tag(
                    ws.root, name, target.commit, message, sign=entry.sign
                )
            except TagExists:  # written outside envctl's lock: take the next N
                continue
        if theirs is None:
            return Recorded(entry, name, pushed=False)
        try:
            publish(ws, read_ledger(ws), theirs, remote, name, say)
        except PushRejected:
            # Someone promoted first: drop our tag, take theirs, decide again, retry.
            vcs.delete_tag(ws.root, name, expected=tag_id)
            say(f"{remote} already has {name}; fetching tags and retrying")
            vcs.fetch_tags(ws.root, remote)
            fetched = True
            continue
        except BaseException:
            vcs.delete_tag(ws.root, name, expected=tag_id)
            raise
        return Recorded(entry, name, pushed=True)
    raise ExternalError(
        f"could not record {entry.target.model}#{entry.target.stage}: {remote} rejected "
        f"{PUSH_RETRIES + 1} pushes (others kept promoting); retry later"
    )


def remote_view(ws: Workspace, remote: str, model: str) -> dict[str, str]:
    """The remote's tags (name -> object id); refuses, naming `envctl sync`, when
    local-only tags of `model` clash with the remote's numbering."""
    from envctl import vcs

    theirs = {name: t.object_id for name, t in vcs.remote_tags(ws.root, remote).items()}
    clashing = sharing.compare(vcs.read_tags(ws.root), theirs).clashing_for(model)
    if clashing:
        raise ExternalError(
            f"local tags clash with {remote}'s numbering: {sharing.describe(clashing)}; "
            f"run envctl sync --remote {remote} to fetch and renumber them, then retry"
        )
    return theirs


def fetch_if_behind(ws: Workspace, remote: str, model: str, say: Progress) -> bool:
    """Fetch the remote's tags when it holds registry tags this clone lacks (True
    then): what this clone believes about a stage may be out of date."""
    from envctl import vcs

    if not _unseen(ws, remote_view(ws, remote, model)):
        return False
    say(f"{remote} has registry tags this clone has not seen; fetching them first")
    vcs.fetch_tags(ws.root, remote)
    return True


def publish(
    ws: Workspace, ledger: Ledger, theirs: dict[str, str], remote: str, tag: str, say: Progress
) -> bool:
    """Push `tag` with every local-only tag it rests on, in one atomic push. False
    when there was nothing to push (the remote has it all)."""
    from envctl import vcs

    ours = {t.name: t.object_id for t in ledger.tags}
    if tag in theirs and theirs[tag] != ours.get(tag):
        raise PushRejected(tag, remote)  # the remote's tag of that name is another event
    local_only = sharing.compare(ledger.tags, theirs).local_only
    names = sharing.to_publish(ledger.stored, local_only, tag)
    if not names:
        return False
    extra = [n for n in names if n != tag]
    if extra:
        say(f"pushing local-only prerequisites with {tag}: {sharing.describe(extra)}")
    vcs.push_tags(ws.root, remote, names)
    return True


def _unseen(ws: Workspace, theirs: dict[str, str]) -> bool:
    """Does the remote hold a tag this clone lacks?"""
    from envctl import vcs

    ours = {t.name for t in vcs.read_tags(ws.root)}
    return any(name not in ours for name in theirs)


def _message(user: GitUser, env: Environment, entry: Entry, counter: int) -> str:
    target = entry.target
    data = reg.promotion_record(
        who_name=user.name,
        who_email=user.email,
        when=datetime.now(timezone.utc),
        from_stage=target.from_stage,
        env=_env_record(env),
        image=entry.image,
        gates=[g.to_json() for g in entry.gates],
        bypass=entry.bypass,
        rollback_of=entry.rollback_of,
        cause=entry.cause,
        version=target.version,
        model=target.model,
        stage=target.stage,
        counter=counter,
    )
    verb = "rolls back" if entry.rollback_of else "promotes"
    summary = f"{user.email} {verb} {target.model}@{target.version} to {target.stage}"
    return reg.format_record(summary, data)


def _env_record(env: Environment) -> dict[str, Any]:
    """The stage spec the event was decided on; `commit` when it was read from git
    (a signed stage's spec is read at the trust ref: reading checks it there)."""
    found = {"name": env.name, "spec_version": env.spec.version, "fingerprint": env.fingerprint}
    return {**found, "commit": env.rev} if env.rev else found


def current_event(registry: reg.Registry, model: str, stage: str) -> reg.StageEvent | None:
    found = registry.model(model)
    return found.stages.get(stage) if found else None
