"""When a stage event happened, as far as the ledger can check it. Pure.

An event carries two times: the tag's tagger date (whatever the promoter's clock,
or `GIT_COMMITTER_DATE`, said) and its record's `when` (envctl's own clock when it
wrote the record). Neither is proof, but each is a claim the other can check:

- the time an event counts from (soak) is the later of the two;
- `audit` flags (`clock-skew`) an event whose two times disagree by more than
  MAX_SKEW, or that is dated more than MAX_SKEW before an event it follows (N
  orders events; a clock cannot move an event before one it follows).

The time an event counts from is not raised to that of the events before it:
in a project with signed stages anyone who can push tags may write events that
count in the unsigned ones, and one dated far in the future would then hold
back every soak after it. Such a tag is named by audit instead.

A re-written event (`envctl sync`, `renumbered_from`) keeps its original `when`
and is tagged later: its tagger date may be later than `when` by any amount.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

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


def skew_problems(registry: Registry) -> list[tuple[StageEvent, str]]:
    """(event, what is wrong with its time) for every stage event whose two times
    disagree by more than MAX_SKEW, and for both events of a pair where one is
    dated more than MAX_SKEW before an event it follows (which clock was wrong,
    the ledger cannot tell)."""
    found: list[tuple[StageEvent, str]] = []
    for model in registry.models.values():
        latest: tuple[datetime, StageEvent] | None = None
        for event in model.events:  # in #N order
            if (why := _disagreement(event)) is not None:
                found.append((event, why))
            claimed = claimed_time(event)
            if claimed is None:
                continue
            if latest is not None and claimed < latest[0] - MAX_SKEW:
                found += _out_of_order(event, claimed, *latest)
            if latest is None or claimed > latest[0]:
                latest = (claimed, event)
    return found


def _out_of_order(
    event: StageEvent, claimed: datetime, before_at: datetime, before: StageEvent
) -> list[tuple[StageEvent, str]]:
    return [
        (event, f"dated {_show(claimed)}, before {before.tag} ({_show(before_at)}), "
                "which it follows"),
        (before, f"dated {_show(before_at)}, after {event.tag} ({_show(claimed)}), "
                 "which follows it"),
    ]  # fmt: skip


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
