"""The phase clock: which phase is in force at the as-of, since when, and how we know.

The flag ledger decides when it records the V3 or shadow flag by the as-of (entries after
it are ignored, so a re-run for a post-mortem judges what was known); else telemetry:

- the active stretch of a lookback (queries/full_mode_start.sql): the active
  coordinator.start events, the legacy planner's activity (auto_assign.started and
  inline_auto_assign.*, V3 mirror events aside) and the first active start after the last
  legacy activity. Every gate that soaks full mode, and the kernel's phase label, read it;
- cleanup reads it hour by hour instead (clock_from_buckets): over its 14 days an hour with
  bookings but no active start, telemetry lost or V3 off, must break the stretch.

Telemetry cannot tell shadow from legacy (shadow mode writes no coordinator event): V3 off
reads as legacy there. Everything but the fetch_* functions is pure.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from ..config.ledger import SHADOW, V3, FlagChange, last_rollback, phase_at, phase_started
from ..core.timefmt import as_utc, utc
from .metrics import Window, load_query

LEDGER = "flag ledger"
TELEMETRY = "telemetry"


@dataclass(frozen=True)
class PhaseClock:
    """Which phase is in force at the as-of, since when, and how we know."""

    phase: str | None  # full, shadow, legacy or rollback; None when it cannot be told
    started: datetime | None  # None: not dated
    source: str | None  # LEDGER, TELEMETRY; None when neither was read
    how: str = ""  # what the source showed, for detail lines
    at_least: bool = False  # telemetry: on since the lookback's start, maybe longer

    def describe(self) -> str:
        where = f"from the {self.source}" if self.source else "source unknown"
        since = f" since {utc(self.started)}" if self.started else ""
        return f"{self.phase or 'unknown'} mode{since} ({where})"


@dataclass(frozen=True)
class ActiveStretch:
    """Telemetry of a lookback window: active coordinator starts and legacy activity.

    One row of queries/full_mode_start.sql.
    """

    lookback: Window
    active_starts: int = 0
    first_active_at: datetime | None = None
    last_active_at: datetime | None = None
    legacy_events: int = 0
    last_legacy_at: datetime | None = None
    stretch_start: datetime | None = None  # first active start after the last legacy event


UNKNOWN_PHASE = PhaseClock(None, None, None, "neither the flag ledger nor telemetry says")


def clock_from_ledger(changes: list[FlagChange], as_of: datetime) -> PhaseClock | None:
    """The phase at `as_of` from the flag ledger; None when it never set V3 or SHADOW by then.

    A ledger that only records MAX_PARALLEL says nothing about the phase: telemetry decides.
    Legacy after V3 was switched off (true -> false) is `rollback`.
    """
    known = [c for c in changes if c.variable in (V3, SHADOW) and c.at <= as_of]
    if not known:
        return None
    phase = phase_at(changes, as_of)
    rollback = last_rollback(changes, as_of) if phase == "legacy" else None
    if rollback is not None:
        return PhaseClock("rollback", rollback.at, LEDGER, f"V3 switched off at {utc(rollback.at)}")
    started = phase_started(changes, as_of)
    if started is None:
        last = known[-1]
        return PhaseClock(
            phase,
            None,
            LEDGER,
            f"{phase} mode, not dated (last change {last.variable}={last.new} at {utc(last.at)})",
        )
    return PhaseClock(phase, started, LEDGER, f"{phase} mode set at {utc(started)}")


def clock_from_stretch(stretch: ActiveStretch) -> PhaseClock:
    """The phase from a lookback's active stretch, when the ledger says nothing.

    V3 is on since the first coordinator.start with mode=active after the last legacy planner
    activity; with no legacy activity in the lookback, since its first active start at least.
    """
    window = f"{utc(stretch.lookback.start)} to {utc(stretch.lookback.end)}"
    if not stretch.active_starts:
        if stretch.legacy_events:
            return PhaseClock(
                "legacy",
                None,
                TELEMETRY,
                f"no coordinator.start with mode=active from {window}, while the legacy "
                f"planner ran ({stretch.legacy_events} events, last at "
                f"{utc(stretch.last_legacy_at)})",
            )
        return PhaseClock(
            None,
            None,
            TELEMETRY,
            "no flag ledger entry for V3, and neither a coordinator.start with mode=active "
            f"nor legacy planner activity from {window}: cannot tell when full mode began",
        )
    if stretch.stretch_start is None:
        return PhaseClock(
            "legacy",
            None,
            TELEMETRY,
            f"the legacy planner ran at {utc(stretch.last_legacy_at)}, after the last "
            f"coordinator.start with mode=active ({utc(stretch.last_active_at)}): V3 looks off "
            "(rolled back, or not yet on)",
        )
    if stretch.legacy_events:
        return PhaseClock(
            "full",
            stretch.stretch_start,
            TELEMETRY,
            "the first coordinator.start with mode=active after the last legacy planner "
            f"activity ({utc(stretch.last_legacy_at)})",
        )
    return PhaseClock(
        "full",
        stretch.stretch_start,
        TELEMETRY,
        f"the first coordinator.start with mode=active of the lookback {window}, which has "
        "no legacy planner activity",
        at_least=True,
    )


def clock_from_buckets(buckets, lookback: Window) -> PhaseClock:
    """The uninterrupted full-mode stretch that reaches the end of the lookback, hour by hour.

    `buckets`: planner.fetch_activity_buckets' frame. Walking back from the newest bucket: one
    with an active coordinator.start extends the stretch, one with bookings but no active
    start ends it, an empty one is neutral.
    """
    started = None
    for row in buckets.sort_values("bucket_start", ascending=False).itertuples(index=False):
        if row.active_starts > 0:
            started = as_utc(row.first_active_start)
            continue
        if row.bookings_with_activity > 0:
            if started is None:
                return PhaseClock(
                    "legacy",
                    None,
                    TELEMETRY,
                    f"{row.bookings_with_activity} bookings in the hour from "
                    f"{utc(row.bucket_start)} had no coordinator.start with mode=active (V3 "
                    "off, or its telemetry lost)",
                )
            return PhaseClock(
                "full",
                started,
                TELEMETRY,
                "first coordinator.start with mode=active after the last hour of bookings "
                "without one",
            )
    if started is None:
        return PhaseClock(
            None,
            None,
            TELEMETRY,
            f"no coordinator.start with mode=active and no booking since {utc(lookback.start)}",
        )
    return PhaseClock(
        "full",
        started,
        TELEMETRY,
        f"active coordinator starts throughout the lookback from {utc(lookback.start)}: "
        "on at least since then",
        at_least=True,
    )


def resolve_phase_clock(
    changes: list[FlagChange], as_of: datetime, from_telemetry: Callable[[], PhaseClock]
) -> PhaseClock:
    """The ledger when it has something to say, else telemetry (read only then)."""
    return clock_from_ledger(changes, as_of) or from_telemetry()


def in_checkpoint_phase(gate: str, clock: PhaseClock) -> bool | None:
    """Whether the clock's phase is the one `gate` checks; None when that cannot be told."""
    from ..gates import CHECKPOINT_PHASE

    wanted = CHECKPOINT_PHASE.get(gate)
    if wanted is None or clock.phase is None:
        return None
    if clock.source == TELEMETRY and clock.phase == "legacy" and wanted in ("shadow", "rollback"):
        return None  # telemetry shows V3 off, not whether shadow or a rollback is on
    return clock.phase == wanted


def fetch_active_stretch(connection: Connection, taxonomy: dict, window: Window) -> ActiveStretch:
    """Active coordinator starts and legacy activity in `window` (one row)."""
    coordinator, legacy = taxonomy["coordinator"], taxonomy["legacy"]
    row = connection.execute(
        load_query("full_mode_start"),
        {
            **window.binds(),
            "coordinator_source": coordinator["source"],
            "start_type": coordinator["start"],
            "active_mode": coordinator["active_mode"],
            "legacy_sources": list(legacy["sources"]),
            "legacy_started": legacy["started"],
            "inline_source": legacy["inline_source"],
            "coordinator_trigger": legacy["coordinator_trigger"],
        },
    ).one()
    return ActiveStretch(
        lookback=window,
        active_starts=int(row.active_starts),
        first_active_at=row.first_active_at,
        last_active_at=row.last_active_at,
        legacy_events=int(row.legacy_events),
        last_legacy_at=row.last_legacy_at,
        stretch_start=row.stretch_start,
    )
