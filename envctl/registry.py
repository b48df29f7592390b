"""The model registry as stored in git tags. Pure: raw tag records in, a Registry out.

Tag grammar is GTO's (gto/constants.py, gto 1.10.1), copied verbatim so that gto,
gto-action and envctl read the same registry:

    NAME@vSEMVER[#N]      register a version        NAME@vSEMVER![#N]  deregister it
    NAME#STAGE[#N]        assign a stage            NAME#STAGE![#N]    unassign it
    NAME@deprecated[#N]   deprecate the model       (dir:name is written dir=name)

Unlike GTO, events are ordered by their `#N`, never by tagger time (1-second
resolution makes GTO pick the wrong "current" version when tags are written fast).
A tag without `#N` (GTO's default for register/deregister/deprecate) carries no
order of its own, so it is slotted after the highest-N tag of its model that is older
than it; that is the only place a timestamp is consulted.

Approvals live under `envctl/approval/NAME/VERSION/STAGE/SLUG`: no `#` and no `@`,
so GTO's regex can never read them as registry events (tests/test_gto_compat.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from functools import cached_property
from itertools import accumulate
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from envctl.errors import InputError

if TYPE_CHECKING:
    from envctl.vcs import RawTag

# --- grammar (verbatim from gto/constants.py) -------------------------------------

_DIRNAME = r"[a-zA-Z0-9-_./]+"
_NAME = r"[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?"
_SEMVER = (
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
_FULLNAME_IN_TAG = rf"(?:{_DIRNAME}=)?{_NAME}"
_TAG_RE = re.compile(
    rf"(?P<artifact>{_FULLNAME_IN_TAG})"
    rf"(((#(?P<stage>{_NAME})|@(?P<version>v{_SEMVER}))(?P<cancel>!?))"
    r"|@((?P<deprecated>deprecated)|(?P<created>created)))"
    r"(#(?P<counter>[0-9]+))?"
)
_NAME_RE = re.compile(_NAME)
_FULLNAME_RE = re.compile(rf"(?:{_DIRNAME}:)?{_NAME}")
_VERSION_RE = re.compile(rf"v{_SEMVER}")
# Tags that are probably meant for the registry but do not parse: worth a warning.
# `pkg@1.2.3` (JavaScript monorepos) is deliberately not included.
_LOOKS_LIKE_OURS = re.compile(r"[^#@]+(?:#|@v\d|@deprecated|@created)|envctl/")


class Action(Enum):
    REGISTER = "register"
    DEREGISTER = "deregister"
    ASSIGN = "assign"
    UNASSIGN = "unassign"
    DEPRECATE = "deprecate"


_REMOVALS = frozenset({Action.DEREGISTER, Action.UNASSIGN, Action.DEPRECATE})


@dataclass(frozen=True)
class TagName:
    """A parsed GTO tag name. `model` uses GTO's name form (`dir:name`)."""

    model: str
    action: Action
    version: str | None = None
    stage: str | None = None
    counter: int | None = None


def parse_tag_name(tag: str) -> TagName | None:
    """The registry event a tag name stands for, or None if GTO would not read it."""
    match = _TAG_RE.fullmatch(tag)
    if match is None or match["created"]:
        return None
    cancel = match["cancel"] == "!"
    if match["version"]:
        action = Action.DEREGISTER if cancel else Action.REGISTER
    elif match["stage"]:
        action = Action.UNASSIGN if cancel else Action.ASSIGN
    else:
        action = Action.DEPRECATE
    counter = match["counter"]
    return TagName(
        model=match["artifact"].replace("=", ":"),
        action=action,
        version=match["version"],
        stage=match["stage"],
        counter=int(counter) if counter is not None else None,
    )


def is_valid_model_name(name: str) -> bool:
    return _FULLNAME_RE.fullmatch(name) is not None


def is_valid_stage_name(name: str) -> bool:
    return _NAME_RE.fullmatch(name) is not None


def is_valid_version(version: str) -> bool:
    """`v` + SemVer 2.0, as GTO requires (`1.0.0` and `v1.0` are not versions)."""
    return _VERSION_RE.fullmatch(version) is not None


def format_tag_name(name: TagName) -> str:
    """The tag for an event; raises InputError if GTO could not read it back."""
    base = name.model.replace(":", "=")
    cancel = "!" if name.action in (Action.DEREGISTER, Action.UNASSIGN) else ""
    if name.action is Action.DEPRECATE:
        tag = f"{base}@deprecated"
    elif name.action in (Action.REGISTER, Action.DEREGISTER):
        tag = f"{base}@{name.version}{cancel}"
    else:
        tag = f"{base}#{name.stage}{cancel}"
    if name.counter is not None:
        tag = f"{tag}#{name.counter}"
    if parse_tag_name(tag) != name:
        raise InputError(
            f"cannot name a registry tag for {name.model!r} {name.version or name.stage or ''}; "
            "names are letters, digits, '-', '_', '/' and versions are vMAJOR.MINOR.PATCH"
        )
    return tag


def assignment_tag(model: str, stage: str, counter: int) -> str:
    return format_tag_name(TagName(model, Action.ASSIGN, stage=stage, counter=counter))


def registration_tag(model: str, version: str) -> str:
    return format_tag_name(TagName(model, Action.REGISTER, version=version))


def semver_key(version: str) -> tuple[Any, ...]:
    """SemVer 2.0 precedence for a `vX.Y.Z[-pre][+build]` string; build breaks ties
    only so that sorting is deterministic."""
    core, _, build = version.removeprefix("v").partition("+")
    release, _, pre = core.partition("-")
    numbers = tuple(int(part) for part in release.split("."))
    if not pre:
        return (*numbers, 1, (), build)
    ids = tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in pre.split("."))
    return (*numbers, 0, ids, build)


# --- promotion records in tag messages --------------------------------------------

RECORD_MARKER = "envctl-record: v1"
_MARKER_RE = re.compile(r"^envctl-record:[^\n]*$", re.MULTILINE)
_JSON = json.JSONDecoder()


def format_record(summary: str, data: Mapping[str, Any]) -> str:
    """A tag message: one summary line, a blank line, the marker, then `data` as JSON."""
    line = " ".join(summary.split()) or "envctl record"
    body = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
    return f"{line}\n\n{RECORD_MARKER}\n{body}\n"


def parse_record(message: str) -> dict[str, Any] | None:
    """The data block of an envctl tag message; None for free text (GTO's messages),
    another record version, or a damaged block. Text after the JSON (a signature) is
    ignored."""
    markers = list(_MARKER_RE.finditer(message))
    if not markers or markers[-1].group().strip() != RECORD_MARKER:
        return None
    rest = message[markers[-1].end() :].lstrip()
    try:
        data, _ = _JSON.raw_decode(rest)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def promotion_record(
    *,
    who_name: str,
    who_email: str,
    when: datetime,
    from_stage: str | None,
    env: Mapping[str, Any],
    image: str | None,
    gates: Iterable[Mapping[str, Any]],
    bypass: str | None = None,
    rollback_of: str | None = None,
) -> dict[str, Any]:
    """The v1 data of an assignment tag; `env` holds name, spec_version, fingerprint,
    each gate holds name, kind, result and evidence."""
    return {
        "kind": "promotion",
        "who": {"name": who_name, "email": who_email},
        "when": when.isoformat(),
        "from_stage": from_stage,
        "env": dict(env),
        "image": image,
        "gates": [dict(gate) for gate in gates],
        "bypass": {"reason": bypass} if bypass is not None else None,
        "rollback_of": rollback_of,
    }


# --- approvals --------------------------------------------------------------------

APPROVAL_PREFIX = "envctl/approval/"
_SLUG_RE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


@dataclass(frozen=True)
class ApprovalTag:
    model: str
    version: str
    stage: str
    slug: str


def approver_slug(email: str) -> str:
    """Readable and collision-free: `a.b@x` and `a-b@x` must not share a tag name."""
    normal = email.strip().lower()
    readable = re.sub(r"[^a-z0-9]+", "-", normal).strip("-")[:40].strip("-") or "approver"
    return f"{readable}-{hashlib.sha256(normal.encode()).hexdigest()[:8]}"


def approval_tag(model: str, version: str, stage: str, email: str) -> str:
    if not (is_valid_model_name(model) and is_valid_version(version)):
        raise InputError(f"cannot approve {model}@{version}: not a valid model name and version")
    if not is_valid_stage_name(stage):
        raise InputError(f"cannot approve for stage {stage!r}: not a valid stage name")
    model_part = model.replace(":", "=")
    return f"{APPROVAL_PREFIX}{model_part}/{version}/{stage}/{approver_slug(email)}"


def parse_approval_tag(tag: str) -> ApprovalTag | None:
    """Split from the right: stage names never contain '.', versions always do, so the
    last version-shaped segment separates model from stage even when both hold '/'."""
    if not tag.startswith(APPROVAL_PREFIX):
        return None
    *head, slug = tag[len(APPROVAL_PREFIX) :].split("/")
    where = [i for i, part in enumerate(head) if _VERSION_RE.fullmatch(part)]
    if not where or not _SLUG_RE.fullmatch(slug):
        return None
    model = "/".join(head[: where[-1]]).replace("=", ":")
    stage = "/".join(head[where[-1] + 1 :])
    if not (is_valid_model_name(model) and is_valid_stage_name(stage)):
        return None
    return ApprovalTag(model, head[where[-1]], stage, slug)


# --- the registry value -----------------------------------------------------------


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


class _Event(NamedTuple):  # internal and built per tag: a tuple is cheaper to make
    name: TagName
    raw: RawTag
    key: tuple[Any, ...]


def parse_registry(tags: Iterable[RawTag]) -> Registry:
    """The registry described by `tags`. Never raises on a bad tag: it becomes a warning."""
    warnings: list[RegistryWarning] = []
    counters: dict[str, int] = {}
    by_model: dict[str, list[tuple[TagName, RawTag]]] = {}
    approvals: dict[ApprovalKey, set[str]] = {}
    for raw in sorted(tags, key=lambda t: t.name):
        name = parse_tag_name(raw.name)
        if name is not None:
            if name.counter is not None:
                counters[name.model] = max(counters.get(name.model, 0), name.counter)
            if _is_usable(raw, warnings):
                by_model.setdefault(name.model, []).append((name, raw))
        elif raw.name.startswith(APPROVAL_PREFIX):
            _add_approval(raw, approvals, warnings)
        elif _LOOKS_LIKE_OURS.match(raw.name):
            warnings.append(RegistryWarning(raw.name, _malformed_reason(raw.name)))
    models = {m: _build_model(m, items, warnings) for m, items in sorted(by_model.items())}
    return Registry(
        models=MappingProxyType(models),
        counters=MappingProxyType(counters),
        approvals=MappingProxyType({k: frozenset(v) for k, v in sorted(approvals.items())}),
        warnings=tuple(warnings),
    )


def _malformed_reason(tag: str) -> str:
    if _TAG_RE.fullmatch(tag):  # only `@created` matches and still means nothing
        return "GTO's unfinished `@created` form; ignored (it makes gto itself fail)"
    return "looks like a registry tag but does not follow NAME@vX.Y.Z or NAME#STAGE#N; ignored"


def _is_usable(raw: RawTag, warnings: list[RegistryWarning]) -> bool:
    if raw.object_type != "tag":
        warnings.append(RegistryWarning(raw.name, "lightweight tag ignored; re-create it with -a"))
        return False
    if not raw.commit:
        warnings.append(RegistryWarning(raw.name, f"points at a {raw.target_type}, not a commit"))
        return False
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


def _event_keys(items: list[tuple[TagName, RawTag]]) -> list[_Event]:
    """Sort keys: counted tags by N; a counterless tag goes after the highest N whose
    tag is older than it. In the same second a counterless addition goes before the
    counted tags and a removal after them (register, assign, deregister is the only
    sensible reading). Equal keys: additions before removals, then tag name."""
    stamps = [raw.date.timestamp() if raw.date else 0.0 for _, raw in items]
    counted = sorted(
        (stamp, name.counter)
        for (name, _), stamp in zip(items, stamps, strict=True)
        if name.counter is not None
    )
    times = [stamp for stamp, _ in counted]
    highest = list(accumulate((n for _, n in counted), max))
    events = []
    for (name, raw), stamp in zip(items, stamps, strict=True):
        rank = 1 if name.action in _REMOVALS else 0
        if name.counter is not None:
            key: tuple[Any, ...] = (name.counter, 0, 0.0, rank, raw.name)
        else:
            at = (bisect_right if rank else bisect_left)(times, stamp)
            key = (highest[at - 1] if at else 0, 1, stamp, rank, raw.name)
        events.append(_Event(name, raw, key))
    events.sort(key=lambda e: e.key)
    return events


def _build_model(
    model: str, items: list[tuple[TagName, RawTag]], warnings: list[RegistryWarning]
) -> Model:
    events = _event_keys(items)
    _warn_shared_counters(events, warnings)
    versions = _versions(model, events, warnings)
    at_commit = _version_at_commit(versions, warnings)
    stage_events = tuple(
        _stage_event(e, at_commit.get(e.raw.commit), warnings)
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


def _warn_shared_counters(events: list[_Event], warnings: list[RegistryWarning]) -> None:
    seen: dict[int, list[str]] = {}
    for event in events:
        if event.name.counter is not None:
            seen.setdefault(event.name.counter, []).append(event.raw.name)
    for counter, tags in seen.items():
        if len(tags) > 1:
            message = f"#{counter} shared with {', '.join(tags[1:])}; additions first, then name"
            warnings.append(RegistryWarning(tags[0], message))


def _versions(
    model: str, events: list[_Event], warnings: list[RegistryWarning]
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


def _version_at_commit(
    versions: list[ModelVersion], warnings: list[RegistryWarning]
) -> dict[str, str]:
    """GTO finds an assignment's version by its commit. Two versions on one commit
    make every gto command fail (gto#377); envctl prefers the active, greatest one."""
    at: dict[str, list[ModelVersion]] = {}
    for version in versions:
        at.setdefault(version.commit, []).append(version)
    chosen: dict[str, str] = {}
    for commit, here in at.items():
        best = max(here, key=lambda v: (v.active, semver_key(v.version)))
        chosen[commit] = best.version
        for other in here:
            if other is not best:
                message = f"shares commit {commit[:12]} with {best.version}, which gets its stages"
                warnings.append(RegistryWarning(other.tag, message))
    return chosen


def _stage_event(event: _Event, version: str | None, warnings: list[RegistryWarning]) -> StageEvent:
    raw, name = event.raw, event.name
    if version is None:
        message = f"commit {raw.commit[:12]} has no registered version of {name.model}"
        warnings.append(RegistryWarning(raw.name, message))
    return StageEvent(
        raw.message, name.model, name.stage or "", name.action, name.counter, version,
        raw.commit, raw.tagger_name, raw.tagger_email, raw.date, raw.name,
    )  # fmt: skip


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
