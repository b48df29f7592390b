"""When a stage event happened, as far as the ledger can check it. Pure.

An event carries two times: the tag's tagger date (whatever the promoter's clock,
or `GIT_COMMITTER_DATE`, said) and its record's `when` (envctl's own clock when it
wrote the record). Neither is proof, but each is a claim the other can check:

- the time an event counts from (soak) is the later of the two, and never earlier
  than the time of an event numbered before it (N orders events; a clock cannot
  move an event before one it follows);
- `audit` flags (`clock-skew`) an event whose two times disagree by more than
  MAX_SKEW, or that is dated more than MAX_SKEW before an event it follows.

A re-written event (`envctl sync`, `renumbered_from`) keeps its original `when`
and is tagged later: its tagger date may be later than `when` by any amount.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType

from envctl.registry.state import Registry, StageEvent

MAX_SKEW = timedelta(minutes=5)


def recorded_when(event: StageEvent) -> datetime | None:
    """The record's `when`, to the second (tagger dates have 1-second resolution);
    None without a record or a readable time. A time without a zone is UTC."""
    when = (event.record or {}).get("when")
    if not isinstance(when, str):
        return None
    try:
        moment = datetime.fromisoformat(when)
    except ValueError:
        return None
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
    return moment.replace(microsecond=0)


def claimed_time(event: StageEvent) -> datetime | None:
    """The later of the tagger date and the record's `when`."""
    times = [t for t in (event.date, recorded_when(event)) if t is not None]
    return max(times) if times else None


def event_times(events: Iterable[StageEvent]) -> Mapping[str, datetime]:
    """tag -> the time each event counts from: its claimed time, never earlier than
    that of an event before it in `events` (#N order)."""
    times: dict[str, datetime] = {}
    latest: datetime | None = None
    for event in events:
        claimed = claimed_time(event)
        if claimed is not None:
            latest = claimed if latest is None else max(latest, claimed)
        if latest is not None:
            times[event.tag] = latest
    return MappingProxyType(times)


def skew_problems(registry: Registry) -> list[tuple[StageEvent, str]]:
    """(event, what is wrong with its time) for every stage event whose times
    disagree by more than MAX_SKEW."""
    found: list[tuple[StageEvent, str]] = []
    for model in registry.models.values():
        latest: tuple[datetime, str] | None = None
        for event in model.events:  # in #N order
            if (why := _disagreement(event)) is not None:
                found.append((event, why))
            claimed = claimed_time(event)
            if claimed is None:
                continue
            if latest is not None and claimed < latest[0] - MAX_SKEW:
                found.append((event, f"dated {_show(claimed)}, before {latest[1]} "
                                     f"({_show(latest[0])}), which it follows"))  # fmt: skip
            if latest is None or claimed > latest[0]:
                latest = (claimed, event.tag)
    return found


def _disagreement(event: StageEvent) -> str | None:
    tagged, when = event.date, recorded_when(event)
    if tagged is None or when is None or abs(tagged - when) <= MAX_SKEW:
        return None
    renumbered = bool((event.record or {}).get("renumbered_from"))
    if renumbered and tagged > when:
        return None  # re-written by sync after the promotion: later, by any amount
    apart = f"more than {_minutes()} apart"
    return f"tagged {_show(tagged)} but its record says {_show(when)} ({apart})"


def _show(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _minutes() -> str:
    return f"{int(MAX_SKEW.total_seconds() // 60)} minutes"
