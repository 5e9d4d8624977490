"""The flag ledger: outputs/<env>/flags.jsonl, one flag change a line.

Gates read it for phase start times and the current MAX_PARALLEL; telemetry is the
fallback where there is no ledger. A malformed line is an error naming its line
number, never skipped: a silently dropped change would move a soak-time clock.
"""

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..core.errors import UsageError

V3 = "FEATURE_ASSIGNMENT_PIPELINE_V3"
SHADOW = "FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW"
MAX_PARALLEL = "FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL"


@dataclass(frozen=True)
class FlagChange:
    at: datetime
    variable: str
    new: str
    old: str | None = None
    by: str = "unknown"

    def to_json(self) -> str:
        record = asdict(self) | {"at": self.at.astimezone(UTC).isoformat()}
        return json.dumps(record, sort_keys=True)


def read_ledger(path: Path) -> list[FlagChange]:
    """All changes, oldest first; [] when there is no ledger."""
    if not path.exists():
        return []
    changes = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            at = datetime.fromisoformat(record["at"])
            if at.tzinfo is None:
                raise ValueError("time without a time zone")
            changes.append(
                FlagChange(
                    at=at.astimezone(UTC),
                    variable=str(record["variable"]),
                    new=str(record["new"]),
                    old=None if record.get("old") is None else str(record["old"]),
                    by=str(record.get("by", "unknown")),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{path}:{number}: malformed flag ledger line ({exc})") from None
    return sorted(changes, key=lambda change: change.at)


def append_changes(path: Path, changes: list[FlagChange]) -> None:
    """Append in one write to a file opened with O_APPEND: concurrent writers never interleave."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = "".join(change.to_json() + "\n" for change in changes).encode()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, payload)
    finally:
        os.close(descriptor)


def value_at(changes: list[FlagChange], variable: str, moment: datetime) -> str | None:
    """The variable's value at `moment`, or None if the ledger never set it by then."""
    last = last_change(changes, variable, moment)
    return last.new if last else None


def last_change(changes: list[FlagChange], variable: str, moment: datetime) -> FlagChange | None:
    earlier = [c for c in changes if c.variable == variable and c.at <= moment]
    return earlier[-1] if earlier else None


def phase_at(changes: list[FlagChange], moment: datetime) -> str:
    """The rollout phase the flags describe: full, shadow or legacy (V3=true wins)."""
    if value_at(changes, V3, moment) == "true":
        return "full"
    if value_at(changes, SHADOW, moment) == "true":
        return "shadow"
    return "legacy"


def phase_started(changes: list[FlagChange], moment: datetime) -> datetime | None:
    """When the phase in force at `moment` began: the change that last switched to it."""
    current = phase_at(changes, moment)
    started = None
    previous = "legacy"
    for change in changes:
        if change.at > moment:
            break
        phase = phase_at(changes, change.at)
        if phase != previous:
            started = change.at if phase == current else None
            previous = phase
    return started if previous == current else None


def v3_off_intervals(
    changes: list[FlagChange], start: datetime, end: datetime, drain: timedelta
) -> list[tuple[datetime, datetime]] | None:
    """Stretches of [start, end) when the ledger says V3 was off, less `drain` after a switch-off.

    None when the ledger never mentions V3: there is nothing to compare telemetry with.
    """
    switches = [c for c in changes if c.variable == V3]
    if not switches:
        return None
    intervals = []
    moments = [start] + [c.at for c in switches if start < c.at < end] + [end]
    for begin, finish in zip(moments, moments[1:], strict=False):
        if value_at(changes, V3, begin) == "true":
            continue
        switched_off = last_change(changes, V3, begin)
        if switched_off and switched_off.old == "true":
            begin = max(begin, switched_off.at + drain)  # stragglers of the old deploy
        if begin < finish:
            intervals.append((begin, finish))
    return intervals
