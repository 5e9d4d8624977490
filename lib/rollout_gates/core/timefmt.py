"""Durations and times as the tool reads and writes them: one parser, one duration spelling.

- parse_duration: '30s', '15m', '48h', '7d', '6h 05m' (params, --set, --every) to a timedelta.
- format_duration: the one duration spelling, of params and of every message, as the runbook
  counts time: in hours up to three days (48h, 30h, 6h 05m, 45m, 37s), in days beyond
  (7d, 7d 05m). Exact and read back by parse_duration, so params are serialized with it;
  `rough=True` gives the one rounded unit of a forecast (about 8h).
- utc: a moment as detail lines show it, 2026-11-29 03:30:00 UTC ("–" for none).
- iso: a moment to paste into --as-of or --set, 2026-11-29T03:30:00Z.
- parse_as_of: --as-of (and --end, --at) to a UTC datetime; a naive time is taken as UTC.
- HOUR, DAY: the calendar units the gates and the scheduler count in.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import UsageError

_PART = r"(\d+(?:\.\d+)?)\s*(s|m|h|d)"
_DURATION = re.compile(rf"^\s*{_PART}(?:\s*{_PART})*\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

_DAYS_FROM = 3 * 86400  # "48 hours" stays in hours; a week reads better as 7d


def parse_duration(value: Any) -> timedelta:
    """'15m', '48h', '7d', '6h 05m' (or a timedelta) to a positive timedelta."""
    if isinstance(value, timedelta):
        duration = value
    else:
        if not _DURATION.match(str(value)):
            raise ValueError(f"{value!r} is not a duration like 30s, 15m, 1h, 6h 05m or 7d")
        duration = timedelta(
            seconds=sum(
                float(amount) * _UNIT_SECONDS[unit]
                for amount, unit in re.findall(_PART, str(value))
            )
        )
    if duration <= timedelta(0):
        raise ValueError(f"{value!r} must be longer than zero")
    return duration


def format_duration(duration: timedelta, *, rough: bool = False) -> str:
    """48h, 30h, 6h 05m, 7d 05m: exact (parse_duration reads it back); `rough`: about 8h.

    Exact means truncated to the second, never rounded up: 47h 59m 59s is not 48h.
    """
    seconds = int(duration.total_seconds())
    if seconds < 0:
        return f"-{format_duration(-duration, rough=rough)}"
    if rough:
        for unit, size, below in (("m", 60, 3600), ("h", 3600, _DAYS_FROM), ("d", 86400, None)):
            if below is None or seconds < below - size / 2:
                return f"{max(1, round(seconds / size))}{unit}"
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    if seconds < _DAYS_FROM:
        units = units[1:]
    parts = []
    for unit, size in units:
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount:02d}{unit}" if parts and size < 3600 else f"{amount}{unit}")
    return " ".join(parts) or "0s"


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


def parse_as_of(text: str | None) -> tuple[datetime | None, str]:
    """An ISO-8601 as-of time; naive times are taken as UTC, and the note says so."""
    if not text:
        return None, ""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"cannot read --as-of {text!r}: use ISO-8601, e.g. 2026-11-29T03:00:00Z"
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC), f"--as-of {text} had no time zone: taken as UTC"
    return moment.astimezone(UTC), ""
