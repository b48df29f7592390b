"""The registry value, and `parse_registry` building it from raw tag records. Pure:
a bad tag becomes a warning, never an exception. Events are in #N order (`ordering`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from operator import attrgetter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from envctl.frozen import made
from envctl.registry.approvals import APPROVAL_PREFIX, approver_slug, parse_approval_tag
from envctl.registry.grammar import Action, TagName, malformed_reason, parse_tag_name, semver_key
from envctl.registry.ordering import Event, ordered_events
from envctl.registry.records import parse_record

if TYPE_CHECKING:
    from envctl.vcs import RawTag


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
    events: tuple[StageEvent, ...]  # by #N
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
    """The registry described by `tags`. Never raises on a bad tag: it becomes a warning."""
    warnings: list[RegistryWarning] = []
    counters: dict[str, int] = {}
    by_model: dict[str, list[tuple[TagName, RawTag]]] = {}
    approvals: dict[ApprovalKey, set[str]] = {}
    for raw in sorted(tags, key=attrgetter("name")):
        name = parse_tag_name(raw.name)
        if name is not None:
            if name.counter is not None and name.counter >= counters.get(name.model, 0):
                counters[name.model] = name.counter
            if _is_usable(raw, warnings) and not _is_copied_version(raw, name, warnings):
                by_model.setdefault(name.model, []).append((name, raw))
        elif raw.name.startswith(APPROVAL_PREFIX):
            _add_approval(raw, approvals, warnings)
        elif (reason := malformed_reason(raw.name)) is not None:
            warnings.append(RegistryWarning(raw.name, reason))
    models = {m: _build_model(m, items, warnings) for m, items in sorted(by_model.items())}
    return Registry(
        models=MappingProxyType(models),
        counters=MappingProxyType(counters),
        approvals=MappingProxyType({k: frozenset(v) for k, v in sorted(approvals.items())}),
        warnings=tuple(warnings),
    )


def _is_usable(raw: RawTag, warnings: list[RegistryWarning]) -> bool:
    if raw.object_type != "tag":
        warnings.append(RegistryWarning(raw.name, "lightweight tag ignored; re-create it with -a"))
        return False
    if not raw.commit:
        warnings.append(RegistryWarning(raw.name, f"points at a {raw.target_type}, not a commit"))
        return False
    return True


def _is_copied_version(raw: RawTag, name: TagName, warnings: list[RegistryWarning]) -> bool:
    """A version tag whose tag object carries another name is a copy of another
    tag (anyone who can push tags can make one): it registers nothing. Stage
    events are kept, for the audit to judge (`name-mismatch`)."""
    if name.action in (Action.ASSIGN, Action.UNASSIGN) or raw.header == raw.name:
        return False
    message = f"the tag object is named {raw.header or '(nothing)'}: a copy; ignored"
    warnings.append(RegistryWarning(raw.name, message))
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
    model: str, items: list[tuple[TagName, RawTag]], warnings: list[RegistryWarning]
) -> Model:
    events = ordered_events(items)
    _warn_shared_counters(events, warnings)
    versions = _versions(model, events, warnings)
    at_commit = _version_at_commit(versions, warnings)
    shared = _shared_commits(versions)
    stage_events = tuple(
        _stage_event(e, _event_version(e, at_commit, shared), warnings)
        for e in events
        if e.name.action in (Action.ASSIGN, Action.UNASSIGN)
    )
    inactive = {v.version for v in versions if not v.active}
    return Model(
        name=model,
        versions=tuple(sorted(versions, key=lambda v: semver_key(v.version))),
        events=stage_events,
        stages=MappingProxyType(_current_stages(stage_events, inactive)),
        deprecated=events[-1].name.action is Action.DEPRECATE,
    )


def _warn_shared_counters(events: list[Event], warnings: list[RegistryWarning]) -> None:
    numbered = [event.name.counter for event in events if event.name.counter is not None]
    if len(numbered) == len(set(numbered)):
        return  # the common case, told cheaply
    seen: dict[int, list[str]] = {}
    for event in events:
        if event.name.counter is not None:
            seen.setdefault(event.name.counter, []).append(event.raw.name)
    for counter, tags in seen.items():
        if len(tags) > 1:
            message = f"#{counter} shared with {', '.join(tags[1:])}; additions first, then name"
            warnings.append(RegistryWarning(tags[0], message))


def _versions(
    model: str, events: list[Event], warnings: list[RegistryWarning]
) -> list[ModelVersion]:
    found: dict[str, ModelVersion] = {}
    for event in events:
        version, raw = event.name.version, event.raw
        if version is None:
            continue
        known = found.get(version)
        if known is not None and known.commit != raw.commit:
            message = f"{version} is registered at {known.commit[:12]}; ignored"
            warnings.append(RegistryWarning(raw.name, message))
        elif event.name.action is Action.DEREGISTER:
            if known is None:
                warnings.append(RegistryWarning(raw.name, f"deregisters unknown {version}"))
            else:
                found[version] = _replace_active(known, active=False)
        elif known is not None:
            found[version] = _replace_active(known, active=True)
        else:
            found[version] = ModelVersion(
                raw.message, model, version, raw.commit, raw.tagger_name, raw.tagger_email,
                raw.date, raw.name, True,
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
    event: Event, at_commit: Mapping[str, str], shared: Mapping[str, set[str]]
) -> str | None:
    """The version an event assigns: on a commit registered as several versions, the
    one its envctl record names (one of those); else, and for events without a
    record (GTO's, hand-made), the version at its commit."""
    commit = event.raw.commit
    if commit in shared:
        named = (parse_record(event.raw.message) or {}).get("version")
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


def _stage_event(event: Event, version: str | None, warnings: list[RegistryWarning]) -> StageEvent:
    raw, name = event.raw, event.name
    if version is None:
        message = f"commit {raw.commit[:12]} has no registered version of {name.model}"
        warnings.append(RegistryWarning(raw.name, message))
    return made(
        StageEvent, message=raw.message, model=name.model, stage=name.stage or "",
        action=name.action, counter=name.counter, version=version, commit=raw.commit,
        author=raw.tagger_name, author_email=raw.tagger_email, date=raw.date, tag=raw.name,
    )  # fmt: skip


def current_stages(
    events: Iterable[StageEvent], versions: Iterable[ModelVersion]
) -> dict[str, StageEvent]:
    """The stages in force after `events` (a subset of a model's, in #N order)."""
    return _current_stages(tuple(events), {v.version for v in versions if not v.active})


def _current_stages(events: tuple[StageEvent, ...], inactive: set[str]) -> dict[str, StageEvent]:
    """GTO's "environments" view: per stage, among (version, stage) pairs whose last
    event is an assignment, the one assigned most recently — by #N, not time."""
    last: dict[tuple[str, str], int] = {}
    for position, event in enumerate(events):  # in #N order: later overwrites earlier
        last[(event.stage, event.version or event.commit)] = position
    current: dict[str, int] = {}
    for (stage, version), position in last.items():
        if events[position].action is Action.ASSIGN and version not in inactive:
            current[stage] = max(position, current.get(stage, -1))
    return {stage: events[position] for stage, position in sorted(current.items())}
