"""A stage's promotion policy (spec `policy:`): soak time in the previous stage,
time windows and freezes, and whether an unattended run may promote. Pure: the
time is passed in.

A policy never refuses a version: it says "not yet" (exit 5) and, where it can,
from when it will allow it. `--force --reason` on promote overrides it, recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from envctl import registry as reg
from envctl.spec import values
from envctl.spec.types import WEEKDAYS, Freeze, StagePolicy

SEARCH_STEPS = 1000  # windows and freezes met before giving up on finding an opening


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    summary: str  # one line
    not_before: datetime | None = None  # when it will allow it; None: now, or a person decides
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "summary": self.summary,
            "not_before": self.not_before.isoformat() if self.not_before else None,
            "evidence": dict(self.evidence),
        }


def entered_at(registry: reg.Registry, model: str, version: str, stage: str) -> datetime | None:
    """When the version last entered `stage` (its latest assignment there), as a
    time the promoter's git alone cannot move back: the later of the tag's date and
    its record's `when` (`reg.claimed_time`)."""
    found = registry.model(model)
    times = [
        reg.claimed_time(e)
        for e in (found.events if found else ())
        if e.stage == stage and e.version == version and e.action is reg.Action.ASSIGN
    ]
    return times[-1] if times else None


def evaluate(
    policy: StagePolicy | None,
    *,
    stage: str,
    now: datetime,
    previous: str | None = None,
    entered_previous: datetime | None = None,
    unattended: bool = False,
) -> Verdict:
    """May a version enter `stage` at `now` (aware)? `entered_previous`: when it
    entered `previous`, the stage before (for the soak time)."""
    if policy is None:
        return Verdict(True, "no policy")
    zone = ZoneInfo(policy.timezone or "UTC")
    evidence: dict[str, Any] = {"auto": policy.auto, "timezone": policy.timezone}
    if unattended and not policy.auto:
        return Verdict(
            False,
            f"{stage} takes no unattended promotion (policy auto: false): a person promotes "
            f"with envctl promote --stage {stage}",
            None,
            evidence,
        )
    causes: list[str] = []
    ready = now
    if policy.soak is not None and entered_previous is not None:
        soaked = entered_previous + timedelta(seconds=policy.soak)
        evidence["soak"] = values.format_duration(policy.soak)
        evidence["entered_previous"] = _iso(entered_previous)
        evidence["soaked_at"] = _iso(soaked)
        if soaked > now:
            ready = soaked
            causes.append(
                f"in {previous} since {_show(entered_previous, zone)}, soak "
                f"{values.format_duration(policy.soak)} ends {_show(soaked, zone)}"
            )
    frozen = _freeze_at(policy, zone, now)
    if frozen is not None:
        why = f" ({frozen.reason})" if frozen.reason else ""
        causes.append(f"frozen until {_show(_aware(frozen.until, zone), zone)}{why}")
    elif policy.windows and not _in_window(policy, zone, now):
        causes.append("outside its promotion windows")
    opening = next_opening(policy, ready)
    evidence["not_before"] = _iso(opening) if opening else None
    if opening is not None and opening <= now:
        return Verdict(True, "policy allows it now", None, evidence)
    when = f"allowed from {_show(opening, zone)}" if opening else "no opening within reach"
    return Verdict(False, f"{'; '.join(causes)}: {when}", opening, evidence)


def next_opening(policy: StagePolicy, start: datetime) -> datetime | None:
    """The earliest time at or after `start` inside a window (when there are any)
    and outside every freeze; None when none is found within SEARCH_STEPS moves."""
    zone = ZoneInfo(policy.timezone or "UTC")
    moment = start
    for _ in range(SEARCH_STEPS):
        frozen = _freeze_at(policy, zone, moment)
        if frozen is not None:
            moment = _aware(frozen.until, zone)
        elif policy.windows and not _in_window(policy, zone, moment):
            moment = _next_window_start(policy, zone, moment)
        else:
            return moment
    return None


def _freeze_at(policy: StagePolicy, zone: ZoneInfo, moment: datetime) -> Freeze | None:
    return next(
        (f for f in policy.freeze if _aware(f.start, zone) <= moment < _aware(f.until, zone)),
        None,
    )


def _in_window(policy: StagePolicy, zone: ZoneInfo, moment: datetime) -> bool:
    local = moment.astimezone(zone)
    minute = local.hour * 60 + local.minute
    day = WEEKDAYS[local.weekday()]
    for window in policy.windows:
        start, end = values.hour_range(window.hours)
        if day in window.days and start <= minute < end:
            return True
    return False


def _next_window_start(policy: StagePolicy, zone: ZoneInfo, moment: datetime) -> datetime:
    local = moment.astimezone(zone)
    for offset in range(8):
        day: date = local.date() + timedelta(days=offset)
        starts = [
            _at(day, values.hour_range(w.hours)[0], zone)
            for w in policy.windows
            if WEEKDAYS[day.weekday()] in w.days
        ]
        later = [s for s in starts if s > moment]
        if later:
            return min(later)
    raise AssertionError("a window with at least one day opens within a week")


def _at(day: date, minute: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _show(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
