"""The load gate's quantities as a spec writes them (pure): a rate (`50/s`,
`3000/m`, `50`), a duration in seconds (`30s`, `2m`, `30`) and an SLO rule whose
number may be a percentage (`"<= 0.1%"` is `"<= 0.001"`)."""

from __future__ import annotations

import math
import re
from decimal import Decimal

_RATE = re.compile(r"^(?P<n>[0-9]+(?:\.[0-9]+)?)\s*(?:/\s*(?P<unit>s|m|min))?\Z")
_SECONDS = re.compile(r"^(?P<n>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>ms|s|m)?\Z")
_PER = {None: 1.0, "s": 1.0, "m": 60.0, "min": 60.0}
_UNIT_SECONDS = {None: 1.0, "s": 1.0, "ms": 0.001, "m": 60.0}
_PERCENT = re.compile(r"(?P<n>[0-9]+(?:\.[0-9]+)?)\s*%\Z")


def rate_per_second(raw: object) -> float:
    """`50/s`, `3000/m` or a number -> requests per second (above 0)."""
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a rate like 50/s")
    match = _RATE.fullmatch(str(raw).strip())
    if match is None:
        raise ValueError(f'{raw!r} is not a rate like "50/s" or "3000/m"')
    rate = float(match["n"]) / _PER[match["unit"]]
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"{raw!r}: a rate is above 0")
    return rate


def format_rate(rate: float) -> str:
    return f"{_plain(rate)}/s"


def _plain(value: float) -> str:
    """A float with no exponent (`1e+06` is not a number the patterns read)."""
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def seconds(raw: object) -> float:
    """`30s`, `2m`, `500ms` or a number of seconds -> seconds (above 0)."""
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a duration like 30s")
    match = _SECONDS.fullmatch(str(raw).strip())
    if match is None:
        raise ValueError(f'{raw!r} is not a duration like "30s", "2m" or "500ms"')
    value = float(match["n"]) * _UNIT_SECONDS[match["unit"]]
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{raw!r}: a duration is above 0")
    return value


def format_seconds(value: float) -> str:
    return f"{_plain(value)}s"


def percent_rule(rule: object) -> str:
    """`"<= 0.1%"` -> `"<= 0.001"`; any other rule is returned as written."""
    text = str(rule).strip()
    match = _PERCENT.search(text)
    if match is None:
        return text
    return f"{text[: match.start()].rstrip()} {float(match['n']) / 100:g}"
