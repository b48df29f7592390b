"""The local ledger against a remote's: which registry tags exist only here,
which clash with the remote's numbering, and what must be published with an
event so that the remote never holds an event without its prerequisites. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from envctl import registry as reg

if TYPE_CHECKING:
    from envctl.vcs import RawTag


@dataclass(frozen=True)
class Comparison:
    """`local_only`: registry tags the remote lacks. `clashing`: tags of the same
    name holding another object there, and local-only stage events whose N the
    remote already uses for one of that model's tags (another stage's)."""

    local_only: frozenset[str]
    clashing: tuple[str, ...]

    def clashing_for(self, model: str) -> tuple[str, ...]:
        return tuple(t for t in self.clashing if _model_of(t) == model)


def is_registry_tag(name: str) -> bool:
    return reg.parse_tag_name(name) is not None or name.startswith(reg.APPROVAL_PREFIX)


def compare(local: Iterable[RawTag], remote: Mapping[str, str]) -> Comparison:
    """`remote`: tag name -> object id, as `git ls-remote` shows it."""
    highest = remote_counters(remote)
    local_only: set[str] = set()
    clashing: list[str] = []
    for raw in local:
        if not is_registry_tag(raw.name):
            continue
        theirs = remote.get(raw.name)
        if theirs is not None:
            if theirs != raw.object_id:
                clashing.append(raw.name)
            continue
        local_only.add(raw.name)
        name = reg.parse_tag_name(raw.name)
        counter = name.counter if name is not None else None
        if name is not None and counter is not None and counter <= highest.get(name.model, 0):
            clashing.append(raw.name)
    return Comparison(frozenset(local_only), tuple(sorted(clashing, key=_order_key)))


def remote_counters(remote: Iterable[str]) -> dict[str, int]:
    """model -> the highest #N among the remote's tag names."""
    highest: dict[str, int] = {}
    for tag in remote:
        name = reg.parse_tag_name(tag)
        if name is not None and name.counter is not None:
            highest[name.model] = max(highest.get(name.model, 0), name.counter)
    return highest


def to_publish(registry: reg.Registry, local_only: frozenset[str], tag: str) -> list[str]:
    """The tags to push, all at once, with the stage event `tag`: every local-only
    stage event of its model numbered before it (the remote's N stays gap-free, and
    the event in the previous stage is among them), then `tag`; before those, the
    local-only version tags and approvals those events rest on."""
    name = reg.parse_tag_name(tag)
    model = registry.model(name.model) if name is not None else None
    if name is None or model is None or name.counter is None:
        return [tag] if tag in local_only else []
    counter = name.counter
    events = [
        e
        for e in model.events
        if e.counter is not None and e.counter <= counter and (e.tag in local_only or e.tag == tag)
    ]
    prerequisites: list[str] = []
    for event in events:
        if event.version is None:
            continue
        version = model.version(event.version)
        if version is not None and version.tag in local_only:
            prerequisites.append(version.tag)
        for email in sorted(registry.approvers(model.name, event.version, event.stage)):
            approval = reg.approval_tag(model.name, event.version, event.stage, email)
            if approval in local_only:
                prerequisites.append(approval)
    ordered = list(dict.fromkeys(prerequisites))
    return [*ordered, *(e.tag for e in events if e.tag in local_only)]


def _model_of(tag: str) -> str | None:
    name = reg.parse_tag_name(tag)
    if name is not None:
        return name.model
    parsed = reg.parse_approval_tag(tag)
    return parsed.model if parsed is not None else None


def _order_key(tag: str) -> tuple[int, str]:
    name = reg.parse_tag_name(tag)
    return ((name.counter or 0) if name is not None else 0, tag)


def describe(tags: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(tags[:limit])
    return shown + (f" (+{len(tags) - limit} more)" if len(tags) > limit else "")
