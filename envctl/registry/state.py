"""The registry value, and `parse_registry` building it from raw tag records. Pure:
a bad tag becomes a warning, never an exception. Events are in #N order (`ordering`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from types import MappingProxyType
from typing import Any, overload

from envctl.frozen import made
from envctl.registry.approvals import APPROVAL_PREFIX, approver_slug, parse_approval_tag
from envctl.registry.grammar import Action, TagName, malformed_reason, parse_tag_names, semver_key
from envctl.registry.ordering import Item, ordered_events
from envctl.registry.records import parse_record
from envctl.tagtable import RawTag, TagTable

_STAGE_ACTIONS = (Action.ASSIGN, Action.UNASSIGN)  # a tuple: no Enum hash
_ASSIGN = Action.ASSIGN  # read per tag: a member read from its Enum class costs a lookup


@dataclass(frozen=True)
class RegistryWarning:
    tag: str
    message: str

    def __str__(self) -> str:
        return f"{self.tag}: {self.message}"


@dataclass(frozen=True)
class _Message:
    """A tag message; its record is parsed on first use (most reads never need it)."""

    message: str

    @cached_property
    def record(self) -> dict[str, Any] | None:
        return parse_record(self.message)

    @property
    def summary(self) -> str:
        return self.message.strip().split("\n", 1)[0]


@dataclass(frozen=True)
class ModelVersion(_Message):
    """A registered version; author/date/tag/message are its first registration's."""

    model: str
    version: str
    commit: str
    author: str
    author_email: str
    date: datetime | None
    tag: str
    active: bool  # False once deregistered


@dataclass(frozen=True)
class StageEvent(_Message):
    """An assignment or unassignment. `version` is None when no version of the model
    is registered at `commit` (GTO then shows the commit hash as the version)."""

    model: str
    stage: str
    action: Action
    counter: int | None
    version: str | None
    commit: str
    author: str
    author_email: str
    date: datetime | None
    tag: str


@dataclass(frozen=True)
class Model:
    name: str
    versions: tuple[ModelVersion, ...]  # SemVer ascending, deregistered included
    events: Sequence[StageEvent]  # by #N (a tuple, or StageEvents as parse_registry makes them)
    stages: Mapping[str, StageEvent]  # stage -> the assignment now in force
    deprecated: bool

    def version(self, version: str) -> ModelVersion | None:
        return next((v for v in self.versions if v.version == version), None)

    @property
    def latest(self) -> ModelVersion | None:
        """The greatest active version by SemVer (GTO's `version` column)."""
        active = [v for v in self.versions if v.active]
        return active[-1] if active else None


ApprovalKey = tuple[str, str, str]  # (model, version, stage)


@dataclass(frozen=True)
class Registry:
    models: Mapping[str, Model]
    counters: Mapping[str, int]  # model -> highest #N among all its tags, as GTO counts
    approvals: Mapping[ApprovalKey, frozenset[str]]  # -> lower-cased approver emails
    warnings: tuple[RegistryWarning, ...]

    def model(self, name: str) -> Model | None:
        return self.models.get(name)

    def next_counter(self, model: str) -> int:
        return self.counters.get(model, 0) + 1

    def approvers(self, model: str, version: str, stage: str) -> frozenset[str]:
        return self.approvals.get((model, version, stage), frozenset())


# --- building it ------------------------------------------------------------------


def parse_registry(tags: Iterable[RawTag]) -> Registry:
    """The registry described by `tags` (a TagTable as envctl.vcs reads it, or the
    tags themselves). Never raises on a bad tag: it becomes a warning."""
    table = tags if isinstance(tags, TagTable) else TagTable.of(tags)
    names, kinds, commits = table.names, table.object_types, table.commits
    warnings: list[RegistryWarning] = []
    counters: dict[str, int] = {}
    by_model: dict[str, list[Item]] = {}
    approvals: dict[ApprovalKey, set[str]] = {}
    parsed = parse_tag_names(names)
    for i in sorted(range(len(names)), key=names.__getitem__):
        name = parsed[i]
        if name is not None:
            model, counter = name.model, name.counter
            if counter is not None and counter >= counters.get(model, 0):
                counters[model] = counter
            if kinds[i] == "tag" and commits[i] and name.action is _ASSIGN:
                by_model.setdefault(model, []).append((name, i))  # the common case, told cheaply
            elif _is_usable(table, i, warnings) and not _is_copied_version(
                table, i, name, warnings
            ):
                by_model.setdefault(model, []).append((name, i))
        elif names[i].startswith(APPROVAL_PREFIX):
            _add_approval(table[i], approvals, warnings)
        elif (reason := malformed_reason(names[i])) is not None:
            warnings.append(RegistryWarning(names[i], reason))
    models = {m: _build_model(m, table, items, warnings) for m, items in sorted(by_model.items())}
    return Registry(
        models=MappingProxyType(models),
        counters=MappingProxyType(counters),
        approvals=MappingProxyType({k: frozenset(v) for k, v in sorted(approvals.items())}),
        warnings=tuple(warnings),
    )


def _is_usable(table: TagTable, i: int, warnings: list[RegistryWarning]) -> bool:
    if table.object_types[i] != "tag":
        warnings.append(
            RegistryWarning(table.names[i], "lightweight tag ignored; re-create it with -a")
        )
        return False
    if not table.commits[i]:
        message = f"points at a {table[i].target_type}, not a commit"
        warnings.append(RegistryWarning(table.names[i], message))
        return False
    return True


def _is_copied_version(
    table: TagTable, i: int, name: TagName, warnings: list[RegistryWarning]
) -> bool:
    """A version tag whose tag object carries another name is a copy of another
    tag (anyone who can push tags can make one): it registers nothing. Stage
    events are kept, for the audit to judge (`name-mismatch`)."""
    header = table.headers[i]
    if name.action in _STAGE_ACTIONS or header == table.names[i]:
        return False
    message = f"the tag object is named {header or '(nothing)'}: a copy; ignored"
    warnings.append(RegistryWarning(table.names[i], message))
    return True


def _add_approval(
    raw: RawTag, approvals: dict[ApprovalKey, set[str]], warnings: list[RegistryWarning]
) -> None:
    parsed = parse_approval_tag(raw.name)
    if parsed is None:
        warnings.append(RegistryWarning(raw.name, "not MODEL/vX.Y.Z/STAGE/SLUG; ignored"))
    elif raw.object_type != "tag":
        warnings.append(RegistryWarning(raw.name, "lightweight approval has no approver; ignored"))
    elif approver_slug(raw.tagger_email) != parsed.slug:
        # The slug keeps one tag per approver; a mismatch means a hand-made tag.
        warnings.append(
            RegistryWarning(raw.name, f"tagged by {raw.tagger_email}, not its approver; ignored")
        )
    else:
        key = (parsed.model, parsed.version, parsed.stage)
        approvals.setdefault(key, set()).add(raw.tagger_email.strip().lower())


def _build_model(
    model: str, table: TagTable, items: list[Item], warnings: list[RegistryWarning]
) -> Model:
    events = ordered_events(items, table.names, table.stamps)
    _warn_shared_counters(events, table.names, warnings)
    versions = _versions(model, events, table, warnings)
    at_commit = _version_at_commit(versions, warnings)
    shared = _shared_commits(versions)
    heads: list[EventHead] = []
    names, commits = table.names, table.commits
    for name, i in events:
        if name.action in _STAGE_ACTIONS:
            commit = commits[i]
            if commit in shared:
                version = _event_version(table, i, at_commit, shared)
            else:
                version = at_commit.get(commit)
            if version is None:
                message = f"commit {commit[:12]} has no registered version of {name.model}"
                warnings.append(RegistryWarning(names[i], message))
            heads.append(
                (name.stage or "", name.action, version, commit, names[i], name.counter, i)
            )
    stage_events = StageEvents(table, model, heads)
    inactive = {v.version for v in versions if not v.active}
    return Model(
        name=model,
        versions=tuple(sorted(versions, key=lambda v: semver_key(v.version))),
        events=stage_events,
        stages=_StagesInForce(stage_events, inactive),
        deprecated=events[-1][0].action is Action.DEPRECATE,
    )


def _warn_shared_counters(
    events: list[Item], names: list[str], warnings: list[RegistryWarning]
) -> None:
    numbered = [name.counter for name, _ in events if name.counter is not None]
    if len(numbered) == len(set(numbered)):
        return  # the common case, told cheaply
    seen: dict[int, list[str]] = {}
    for name, i in events:
        if name.counter is not None:
            seen.setdefault(name.counter, []).append(names[i])
    for counter, tags in seen.items():
        if len(tags) > 1:
            message = f"#{counter} shared with {', '.join(tags[1:])}; additions first, then name"
            warnings.append(RegistryWarning(tags[0], message))


def _versions(
    model: str, events: list[Item], table: TagTable, warnings: list[RegistryWarning]
) -> list[ModelVersion]:
    found: dict[str, ModelVersion] = {}
    for name, i in events:
        version = name.version
        if version is None:
            continue
        known = found.get(version)
        if known is not None and known.commit != table.commits[i]:
            message = f"{version} is registered at {known.commit[:12]}; ignored"
            warnings.append(RegistryWarning(table.names[i], message))
        elif name.action is Action.DEREGISTER:
            if known is None:
                warnings.append(RegistryWarning(table.names[i], f"deregisters unknown {version}"))
            else:
                found[version] = _replace_active(known, active=False)
        elif known is not None:
            found[version] = _replace_active(known, active=True)
        else:
            raw = table[i]
            found[version] = made(
                ModelVersion, message=raw.message, model=model, version=version,
                commit=raw.commit, author=raw.tagger_name, author_email=raw.tagger_email,
                date=raw.date, tag=raw.name, active=True,
            )  # fmt: skip
    return list(found.values())


def _replace_active(version: ModelVersion, *, active: bool) -> ModelVersion:
    return replace(version, active=active)


def _shared_commits(versions: list[ModelVersion]) -> dict[str, set[str]]:
    """commit -> its versions, for the commits registered as more than one version."""
    at: dict[str, set[str]] = {}
    for version in versions:
        at.setdefault(version.commit, set()).add(version.version)
    return {commit: here for commit, here in at.items() if len(here) > 1}


def _event_version(
    table: TagTable, i: int, at_commit: Mapping[str, str], shared: Mapping[str, set[str]]
) -> str | None:
    """The version an event assigns: on a commit registered as several versions, the
    one its envctl record names (one of those); else, and for events without a
    record (GTO's, hand-made), the version at its commit."""
    commit = table.commits[i]
    if commit in shared:
        named = (parse_record(table[i].message) or {}).get("version")
        if isinstance(named, str) and named in shared[commit]:
            return named
    return at_commit.get(commit)


def _version_at_commit(
    versions: list[ModelVersion], warnings: list[RegistryWarning]
) -> dict[str, str]:
    """GTO finds an assignment's version by its commit. Two versions on one commit
    make every gto command fail (gto#377); for events that do not name their version
    (`_event_version`) envctl prefers the active, greatest one."""
    at: dict[str, list[ModelVersion]] = {}
    for version in versions:
        at.setdefault(version.commit, []).append(version)
    chosen: dict[str, str] = {}
    for commit, here in at.items():
        if len(here) == 1:  # the common case, told cheaply
            chosen[commit] = here[0].version
            continue
        best = max(here, key=lambda v: (v.active, semver_key(v.version)))
        chosen[commit] = best.version
        for other in here:
            if other is not best:
                message = (
                    f"shares commit {commit[:12]} with {best.version}, which gets the stage "
                    "events that do not name their version (GTO's, hand-made)"
                )
                warnings.append(RegistryWarning(other.tag, message))
    return chosen


# --- a model's stage events, each made when first asked for -------------------------

# An event's stage, action, version, commit, tag, #N and position among the tags read
# (-1: not read from a TagTable): what a read looks at of every event, in one tuple
# per event (the fewer objects a read leaves, the less Python's collector walks).
EventHead = tuple[str, Action, str | None, str, str, int | None, int]


class StageEvents(Sequence[StageEvent]):
    """A model's stage events in #N order, as `parse_registry` reads them. Reading
    the ledger looks at every event's stage, action, version, commit and tag (the
    `heads`) but at the whole event of a few (those a command judges or shows):
    each StageEvent, its message and date, is made when first asked for."""

    def __init__(self, table: TagTable, model: str, heads: list[EventHead]) -> None:
        self.heads = heads
        self._table, self._model = table, model
        self._made: list[StageEvent | None] = [None] * len(heads)

    @overload
    def __getitem__(self, index: int) -> StageEvent: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[StageEvent, ...]: ...
    def __getitem__(self, index: int | slice) -> StageEvent | tuple[StageEvent, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        found = self._made[index]
        if found is None:
            found = self._made[index] = self._make(index)
        return found

    def _make(self, position: int) -> StageEvent:
        stage, action, version, _, _, counter, i = self.heads[position]
        raw = self._table[i]
        return made(
            StageEvent, message=raw.message, model=self._model, stage=stage,
            action=action, counter=counter, version=version, commit=raw.commit,
            author=raw.tagger_name, author_email=raw.tagger_email, date=raw.date, tag=raw.name,
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self.heads)

    def __iter__(self) -> Iterator[StageEvent]:
        return map(self.__getitem__, range(len(self.heads)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (tuple, StageEvents)):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))


class _StagesInForce(Mapping[str, StageEvent]):
    """`Model.stages` as parse_registry makes it: found when first looked at (the
    commands that read the ledger look at the stages the rules let count)."""

    def __init__(self, events: StageEvents, inactive: set[str]) -> None:
        self._events, self._inactive = events, inactive
        self._found: Mapping[str, StageEvent] | None = None

    def _stages(self) -> Mapping[str, StageEvent]:
        if self._found is None:
            self._found = MappingProxyType(_current_stages(self._events, self._inactive))
        return self._found

    def __getitem__(self, stage: str) -> StageEvent:
        return self._stages()[stage]

    def __iter__(self) -> Iterator[str]:
        return iter(self._stages())

    def __len__(self) -> int:
        return len(self._stages())

    def __repr__(self) -> str:
        return repr(dict(self._stages()))


def event_heads(events: Sequence[StageEvent]) -> Sequence[EventHead]:
    """Each event's head (`EventHead`), without making the events that
    `parse_registry` has not made yet."""
    if isinstance(events, StageEvents):
        return events.heads
    return [(e.stage, e.action, e.version, e.commit, e.tag, e.counter, -1) for e in events]


def current_stages(
    events: Iterable[StageEvent], versions: Iterable[ModelVersion]
) -> dict[str, StageEvent]:
    """The stages in force after `events` (a subset of a model's, in #N order)."""
    return _current_stages(tuple(events), {v.version for v in versions if not v.active})


def _current_stages(events: Sequence[StageEvent], inactive: set[str]) -> dict[str, StageEvent]:
    """GTO's "environments" view: per stage, among (version, stage) pairs whose last
    event is an assignment, the one assigned most recently — by #N, not time."""
    heads = event_heads(events)
    last: dict[tuple[str, str], int] = {}
    for position, (stage, _, version, commit, _, _, _) in enumerate(heads):
        last[(stage, version or commit)] = position  # in #N order: later overwrites earlier
    current: dict[str, int] = {}
    for (stage, version), position in last.items():
        if heads[position][1] is _ASSIGN and version not in inactive:
            current[stage] = max(position, current.get(stage, -1))
    return {stage: events[position] for stage, position in sorted(current.items())}
