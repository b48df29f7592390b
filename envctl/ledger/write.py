"""Writing stage events: the decision taken under the registry lock on the ledger
the tag is written against, the next N, and publishing with prerequisites.

Exactly once, as one named loop (`record`): decide -> write -> publish, and on a
rejected push fetch and decide again. `decide` re-reads the rules that depend on
the ledger (the stage order, whether the version is already in the stage,
baselines, approvals) while the lock is held, right before the tag is written.
Of many processes promoting one version to one stage, the first writes the
event; the others find it there: their decision is `AlreadyInStage`, a value,
and so is their outcome. Refusals (a gate, approvals, the policy) are errors.
docs/ledger.md states the guarantees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
    gpu_bypass: Mapping[str, Any] | None = None  # gates ran without the stage's GPUs, accepted


@dataclass(frozen=True)
class Recorded:
    entry: Entry  # as written: the decision under the lock may have changed it
    tag: str
    pushed: bool


@dataclass(frozen=True)
class AlreadyInStage:
    """Nothing to write: the version is in the stage already (another process
    recorded it, or an earlier run did before it was killed). `pushed`: the
    event is on the remote."""

    event: reg.StageEvent
    pushed: bool = False


# decide(registry, entry, after_fetch) -> the entry to write, or AlreadyInStage;
# a refusal raises (GateFailed, AwaitingApproval, NotYet). Called under the lock.
Decide = Callable[[reg.Registry, Entry, bool], "Entry | AlreadyInStage"]


@dataclass(frozen=True)
class _Written:
    entry: Entry
    tag: str
    tag_id: str


@dataclass(frozen=True)
class Ledger:
    """The ledger as read under the lock, through the one verified reader: the tags
    as read (for comparing with a remote), the registry as stored (which tags to
    publish), and `registry`, what the rules decide on (in signed stages only the
    events and approvals that count)."""

    verified: VerifiedLedger

    @property
    def tags(self) -> Sequence[RawTag]:
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
) -> Recorded | AlreadyInStage:
    """Decide under the lock, write the assignment tag, and with `push` publish it
    with its local-only prerequisites (all or none). A rejected push (another
    machine took that N) fetches, decides again and retries."""
    from envctl import vcs

    user = vcs.head_user(ws.root)
    fetched = False
    for _attempt in range(PUSH_RETRIES + 1):
        theirs = _remote_before_deciding(ws, remote, entry, say) if push else None
        fetched = fetched or (theirs is not None and theirs.fetched)
        outcome = _decide_and_write(ws, env, entry, decide, fetched, user, lock_timeout, say)
        if outcome is None:
            continue  # the N was taken outside envctl's lock: decide again on the next
        if isinstance(outcome, AlreadyInStage):
            if theirs is None:
                return outcome
            pushed = publish(ws, read_ledger(ws), theirs.tags, remote, outcome.event.tag, say)
            return AlreadyInStage(outcome.event, pushed=pushed or outcome.event.tag in theirs.tags)
        entry = outcome.entry
        if theirs is None:
            return Recorded(entry, outcome.tag, pushed=False)
        if _published(ws, theirs.tags, remote, outcome, say):
            return Recorded(entry, outcome.tag, pushed=True)
        fetched = True  # rejected: their tags are fetched; decide again
    raise ExternalError(
        f"could not record {entry.target.model}#{entry.target.stage}: {remote} rejected "
        f"{PUSH_RETRIES + 1} pushes (others kept promoting); retry later"
    )


@dataclass(frozen=True)
class _Remote:
    tags: dict[str, str]  # the remote's tags (name -> object id)
    fetched: bool  # this clone fetched what it had not seen


def _remote_before_deciding(ws: Workspace, remote: str, entry: Entry, say: Progress) -> _Remote:
    """The remote's tags; when it holds some this clone has not seen, fetch them
    first: decide on the ledger the event will be published into."""
    from envctl import vcs

    theirs = remote_view(ws, remote, entry.target.model)
    if not _unseen(ws, theirs):
        return _Remote(theirs, fetched=False)
    say(f"{remote} has registry tags this clone has not seen; fetching them first")
    vcs.fetch_tags(ws.root, remote)
    return _Remote(theirs, fetched=True)


def _decide_and_write(
    ws: Workspace,
    env: Environment,
    entry: Entry,
    decide: Decide,
    fetched: bool,
    user: GitUser,
    lock_timeout: float,
    say: Progress,
) -> _Written | AlreadyInStage | None:
    """Under the lock: decide on the ledger as it is, then write the tag with the
    next N. None when that name was taken meanwhile (outside envctl's lock)."""
    from envctl import vcs

    with registry_lock(ws.root, timeout=lock_timeout, say=say):
        ledger = read_ledger(ws)
        decided = decide(ledger.registry, entry, fetched)
        if isinstance(decided, AlreadyInStage):
            return decided
        target = decided.target
        counter = ledger.registry.next_counter(target.model)
        name = reg.assignment_tag(target.model, target.stage, counter)
        message = _message(user, env, decided, counter)
        try:
            tag_id = vcs.create_annotated_tag(
                ws.root, name, target.commit, message, sign=decided.sign
            )
        except TagExists:
            return None
    return _Written(decided, name, tag_id)


def _published(
    ws: Workspace, theirs: dict[str, str], remote: str, written: _Written, say: Progress
) -> bool:
    """Push the written tag with what it rests on. False when the remote refused
    it (someone promoted first): the tag is dropped and their tags fetched. Any
    other failure drops the tag too, and propagates."""
    from envctl import vcs

    try:
        publish(ws, read_ledger(ws), theirs, remote, written.tag, say)
    except PushRejected:
        vcs.delete_tag(ws.root, written.tag, expected=written.tag_id)
        say(f"{remote} already has {written.tag}; fetching tags and retrying")
        vcs.fetch_tags(ws.root, remote)
        return False
    except BaseException:
        vcs.delete_tag(ws.root, written.tag, expected=written.tag_id)
        raise
    return True


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
        gpu_bypass=entry.gpu_bypass,
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
