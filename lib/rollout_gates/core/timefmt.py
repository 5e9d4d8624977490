"""Durations and times as the tool reads and writes them: one parser, one duration spelling.

- parse_duration: '30s', '15m', '1h', '48h', '7d' (params, --set, --every) to a timedelta.
- format_duration: the inverse, in the same syntax, with the largest unit that divides the
  duration evenly: 2d, 36h, 90m, 45s. Params are serialized with it (their digest), so it
  must stay exact and parseable.
- utc: a moment as detail lines show it, 2026-11-29 03:30:00 UTC ("–" for none).
- iso: a moment to paste into --as-of or --set, 2026-11-29T03:30:00Z.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> timedelta:
    """'15m', '1h', '48h', '7d' (or a timedelta) to a positive timedelta."""
    if isinstance(value, timedelta):
        duration = value
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration like 30s, 15m, 1h or 7d")
        duration = timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])
    if duration <= timedelta(0):
        raise ValueError(f"{value!r} must be longer than zero")
    return duration


def format_duration(duration: timedelta) -> str:
    """The duration in parse_duration's syntax, the largest unit that divides it evenly."""
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def as_utc(moment: datetime) -> datetime:
    """A datetime or pandas Timestamp in UTC; a naive one is taken to be UTC already."""
    if hasattr(moment, "to_pydatetime"):  # a pandas Timestamp, without importing pandas
        moment = moment.to_pydatetime()
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def utc(moment: datetime | None) -> str:
    """A time as operators read it in every detail line: 2026-11-29 03:30:00 UTC."""
    if moment is None:
        return "–"
    return f"{as_utc(moment):%Y-%m-%d %H:%M:%S} UTC"


def iso(moment: datetime) -> str:
    """A time to paste into --as-of or --set: 2026-11-29T03:30:00Z."""
    return f"{as_utc(moment):%Y-%m-%dT%H:%M:%SZ}"
