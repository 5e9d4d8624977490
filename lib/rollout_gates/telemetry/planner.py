"""The legacy planner and the phase clock: what the shadow, rollback and cleanup gates share.

Legacy activity (spec/telemetry.md) is `auto_assign.started` and any event of the inline
path (source `bookings.inline_auto_assign`), except the mirror events the job writes for
V3 outcomes (`context.trigger = "coordinator"`). The runbook's `auto_assign.attempt.start`
is only a console log line: it is never written, so it is counted only to show that it
is always 0. V3 events are the ones only the coordinator causes: `assignment.coordinator`,
`assignment.state_machine` and those mirror events.

The SQL lives in queries/legacy_activity.sql, legacy_events.sql, v3_events.sql and
planner_activity_buckets.sql, named by what they measure: the shadow, rollback and cleanup
gates run the same queries over their own windows. Everything below the
`fetch_*` functions is pure.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy.engine import Connection

from ..config.ledger import SHADOW, V3, FlagChange, phase_at, phase_started
from ..core.stats import Proportion
from ..core.timefmt import as_utc, format_duration, utc
from ..core.verdict import Check, Status
from .arrivals import FALLBACK, Arrivals, arrival_binds, judge_silence
from .metrics import Window, bucket_starts, fetch_frame

TELEMETRY = "telemetry"
LEDGER = "flag ledger"


# --- formatting --------------------------------------------------------------------------------


def span(duration: timedelta) -> str:
    """A length as a short string: 30h, 6h 5m, 45m, 37s, 7d 23h (never a bare float).

    Hours up to two days, as the runbook counts them ("24 hours", "48+ hours"); days beyond.
    """
    seconds = max(int(duration.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    if seconds < 2 * 86400:
        days, rest = 0, seconds
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    return " ".join(parts) or f"{rest % 60}s"


def length(duration: timedelta) -> str:
    """A window or threshold as written in params: 24h, 48h, 30m, 7d."""
    if duration <= timedelta(days=2) and duration % timedelta(hours=1) == timedelta(0):
        return f"{duration // timedelta(hours=1)}h"
    return format_duration(duration)


def _moment(value) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    return as_utc(value)


# --- query bindings ----------------------------------------------------------------------------


def legacy_binds(taxonomy: dict) -> dict:
    """Event names the legacy and V3 queries bind, all from params/taxonomy.yaml."""
    legacy = taxonomy["legacy"]
    coordinator = taxonomy["coordinator"]
    return {
        "legacy_sources": list(legacy["sources"]),
        "inline_source": legacy["inline_source"],
        "started_type": legacy["started"],
        "succeeded_types": [legacy["succeeded"], legacy["inline_succeeded"]],
        "mirror_trigger": legacy["coordinator_trigger"],
        "phantom_event": legacy["runbook_phantom_event"],
        "v3_sources": [coordinator["source"], taxonomy["state_machine"]["source"]],
        "coordinator_source": coordinator["source"],
        "start_type": coordinator["start"],
        "active_mode": coordinator["active_mode"],
        "activity_sources": list(taxonomy["booking_activity_sources"]),
    }


# --- legacy activity -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LegacyActivity:
    """Legacy planner activity and booking activity in one window."""

    legacy_events: int = 0  # auto_assign.started and inline_auto_assign.*, mirrors excluded
    legacy_starts: int = 0  # of which auto_assign.started
    legacy_bookings: int = 0
    first_legacy_at: datetime | None = None
    last_legacy_at: datetime | None = None
    bookings_with_activity: int = 0  # arrivals and bookings with a booking_activity_sources event
    bookings_created: int = 0  # arrivals: booking.creation.success, duplicates aside
    bookings_with_planner_activity: int = 0  # a booking_activity_sources event (the fallback)
    duplicate_creations: int = 0  # booking.creation.success replays: not arrivals
    handled: int = 0  # bookings whose legacy activity began before the window end - grace
    succeeded: int = 0  # ... of which auto_assign.succeeded or inline_auto_assign.succeeded
    phantom_events: int = 0  # the runbook's auto_assign.attempt.start: never written

    @property
    def success(self) -> Proportion:
        return Proportion(self.succeeded, self.handled)


def fetch_legacy_activity(
    connection: Connection, taxonomy: dict, window: Window, grace: timedelta
) -> LegacyActivity:
    binds = legacy_binds(taxonomy)
    frame = fetch_frame(
        connection,
        "legacy_activity",
        **window.binds(),
        handled_before=window.end - grace,
        **{k: binds[k] for k in _ACTIVITY_BINDS},
        **arrival_binds(taxonomy),
    )
    row = frame.iloc[0]
    counts = {
        name: int(row[name])
        for name in (
            "legacy_events",
            "legacy_starts",
            "legacy_bookings",
            "bookings_with_activity",
            "bookings_created",
            "bookings_with_planner_activity",
            "duplicate_creations",
            "handled",
            "succeeded",
            "phantom_events",
        )
    }
    return LegacyActivity(
        **counts,
        first_legacy_at=_moment(row["first_legacy_at"]),
        last_legacy_at=_moment(row["last_legacy_at"]),
    )


_ACTIVITY_BINDS = (
    "legacy_sources",
    "inline_source",
    "started_type",
    "succeeded_types",
    "mirror_trigger",
    "phantom_event",
    "activity_sources",
)


def fetch_legacy_events(connection: Connection, taxonomy: dict, window: Window) -> pd.DataFrame:
    """Legacy-source events per (source, event_type, v3_mirror, legacy_activity), with times."""
    binds = legacy_binds(taxonomy)
    frame = fetch_frame(
        connection,
        "legacy_events",
        **window.binds(),
        **{
            k: binds[k]
            for k in (
                "legacy_sources",
                "inline_source",
                "started_type",
                "mirror_trigger",
                "phantom_event",
            )
        },
    )
    return _utc_columns(frame, "first_at", "last_at")


def legacy_activity_table(events: pd.DataFrame) -> pd.DataFrame:
    """Only the rows that are legacy activity (starts and inline events, mirrors excluded)."""
    rows = events[events["legacy_activity"].astype(bool)]
    return rows.drop(columns=["legacy_activity", "v3_mirror"]).reset_index(drop=True)


def phantom_table(activity: LegacyActivity, taxonomy: dict) -> pd.DataFrame:
    """The runbook's rollback check next to what the gates look for instead."""
    legacy = taxonomy["legacy"]
    return pd.DataFrame(
        [
            {
                "event": legacy["runbook_phantom_event"],
                "looked for by": "the runbook (Rollback Plan, step 4)",
                "events in the window": activity.phantom_events,
                "note": "only a console log line, never written: always 0",
            },
            {
                "event": f"{legacy['started']} and {legacy['inline_source']} events",
                "looked for by": "the gates (legacy activity, trigger=coordinator mirrors aside)",
                "events in the window": activity.legacy_events,
                "note": f"{activity.legacy_bookings} bookings",
            },
        ]
    )


# --- V3 events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class V3Events:
    """Events only the V3 coordinator causes, in one window."""

    events: int = 0
    bookings: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None

    def describe(self) -> str:
        if not self.events:
            return "no V3 event"
        return (
            f"{self.events} V3 events from {self.bookings} bookings, first at "
            f"{utc(self.first_at)}, last at {utc(self.last_at)}"
        )


def fetch_v3_events(
    connection: Connection, taxonomy: dict, window: Window
) -> tuple[V3Events, pd.DataFrame]:
    """(the totals, one row per source and event type with count, bookings, first and last)."""
    binds = legacy_binds(taxonomy)
    frame = fetch_frame(
        connection,
        "v3_events",
        **window.binds(),
        **{k: binds[k] for k in ("v3_sources", "legacy_sources", "mirror_trigger")},
    )
    frame = _utc_columns(frame, "first_at", "last_at")
    total = frame[frame["is_total"].astype(bool)]
    table = frame[~frame["is_total"].astype(bool)].drop(columns=["is_total"])
    if total.empty:  # GROUPING SETS always yields the total row; belt and braces
        return V3Events(), table.reset_index(drop=True)
    row = total.iloc[0]
    summary = V3Events(
        events=int(row["events"]),
        bookings=int(row["bookings"]),
        first_at=_moment(row["first_at"]),
        last_at=_moment(row["last_at"]),
    )
    return summary, table.reset_index(drop=True)


# --- activity per bucket -------------------------------------------------------------------------

BUCKET_COLUMNS = (
    "bookings_created",
    "bookings_with_activity",
    "legacy_events",
    "legacy_bookings",
    "v3_events",
    "active_starts",
)


def fetch_activity_buckets(
    connection: Connection, taxonomy: dict, window: Window, bucket: timedelta
) -> pd.DataFrame:
    """Per bucket (aligned to the window end, every bucket present): bookings, legacy, V3."""
    binds = legacy_binds(taxonomy)
    frame = fetch_frame(
        connection,
        "planner_activity_buckets",
        **window.binds(),
        bucket=bucket,
        **{
            k: binds[k]
            for k in (
                "legacy_sources",
                "inline_source",
                "started_type",
                "mirror_trigger",
                "v3_sources",
                "coordinator_source",
                "start_type",
                "active_mode",
                "activity_sources",
            )
        },
        **arrival_binds(taxonomy),
    )
    frame = _utc_columns(frame, "bucket_start", "first_active_start")
    starts = [as_utc(start) for start in bucket_starts(window, bucket)]
    full = pd.DataFrame({"bucket_start": pd.to_datetime(starts, utc=True)})
    merged = full.merge(frame, on="bucket_start", how="left")
    for column in BUCKET_COLUMNS:
        merged[column] = merged[column].fillna(0).astype("int64")
    return merged


def count_series(buckets: pd.DataFrame, column: str) -> pd.DataFrame:
    """One column of the bucket frame in the shape plots.plot_counts draws."""
    return pd.DataFrame({"bucket_start": buckets["bucket_start"], "events": buckets[column]})


def _utc_columns(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    frame = frame.copy()
    for column in columns:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


# --- the phase clock -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseClock:
    """Which phase is in force at the as-of, since when, and how we know."""

    phase: str | None  # full, shadow, legacy; None when unknown
    started: datetime | None
    source: str | None  # LEDGER, TELEMETRY or None
    note: str = ""

    def describe(self) -> str:
        where = f"from the {self.source}" if self.source else "source unknown"
        since = f" since {utc(self.started)}" if self.started else ""
        return f"{self.phase or 'unknown'} mode{since} ({where})"


def ledger_clock(changes: list[FlagChange], as_of: datetime) -> PhaseClock | None:
    """The phase at `as_of` from the flag ledger; None when it never set V3 or SHADOW by then.

    Entries after `as_of` are ignored, so a re-run for a post-mortem sees the same clock. A
    ledger that only records MAX_PARALLEL says nothing about the phase: telemetry decides.
    """
    relevant = [c for c in changes if c.variable in (V3, SHADOW) and c.at <= as_of]
    if not relevant:
        return None
    return PhaseClock(
        phase=phase_at(changes, as_of), started=phase_started(changes, as_of), source=LEDGER
    )


def rollout_clock(changes: list[FlagChange], as_of: datetime, telemetry=None) -> PhaseClock:
    """The rollout phase at `as_of`: the flag ledger, else telemetry (a checklist.PhaseStart).

    Legacy after V3 was switched off (true -> false) reads as `rollback`. Telemetry cannot
    tell shadow from legacy (shadow writes no coordinator event): V3 off is `legacy` there.
    """
    clock = ledger_clock(changes, as_of)
    if clock is None:
        if telemetry is None or telemetry.on is None:
            return PhaseClock(phase=None, started=None, source=None)
        phase = "full" if telemetry.on else "legacy"
        return PhaseClock(phase=phase, started=telemetry.started, source=TELEMETRY)
    if clock.phase == "legacy":
        rollback = last_rollback(changes, as_of)
        if rollback is not None:
            return PhaseClock(phase="rollback", started=rollback.at, source=LEDGER)
    return clock


def in_checkpoint_phase(gate: str, clock: PhaseClock) -> bool | None:
    """Whether the clock's phase is the one `gate` checks; None when that cannot be told."""
    from ..gates import CHECKPOINT_PHASE

    wanted = CHECKPOINT_PHASE.get(gate)
    if wanted is None or clock.phase is None:
        return None
    if clock.source == TELEMETRY and clock.phase == "legacy" and wanted in ("shadow", "rollback"):
        return None  # telemetry shows V3 off, not whether shadow or a rollback is on
    return clock.phase == wanted


def last_rollback(changes: list[FlagChange], as_of: datetime) -> FlagChange | None:
    """The last change of FEATURE_ASSIGNMENT_PIPELINE_V3 from true to false at or before as-of."""
    found, previous = None, None
    for change in changes:
        if change.at > as_of:
            break
        if change.variable != V3:
            continue
        before = change.old if change.old is not None else previous
        if before == "true" and change.new == "false":
            found = change
        previous = change.new
    return found


def assess_soak(
    check_id: str,
    phase: str,
    clock: PhaseClock | None,
    soak: timedelta,
    as_of: datetime,
    *,
    unknown: str,
    wrong_phase: Status = Status.INCONCLUSIVE,
) -> Check:
    """`phase` on for at least `soak`: INCONCLUSIVE with the UTC time it can pass until then.

    `unknown` is the detail when neither the ledger nor telemetry dates the phase;
    `wrong_phase` the status when the clock says another phase is in force.
    """
    common = {
        "id": check_id,
        "rule": f"{phase} mode on for at least {length(soak)}",
        "threshold": length(soak),
    }
    if clock is None or clock.phase is None:
        return Check(**common, status=Status.INCONCLUSIVE, detail=unknown)
    source = f"phase start from the {clock.source}"
    note = f"; {clock.note}" if clock.note else ""
    if clock.phase != phase:
        since = f" since {utc(clock.started)}" if clock.started else ""
        return Check(
            **common,
            status=wrong_phase,
            observed=clock.phase,
            detail=f"the {clock.source} says {clock.phase} mode{since}, not {phase} mode{note}",
        )
    if clock.started is None:
        return Check(**common, status=Status.INCONCLUSIVE, detail=unknown)
    elapsed = as_utc(as_of) - clock.started
    common["observed"] = span(elapsed)
    if elapsed >= soak:
        return Check(
            **common,
            status=Status.PASS,
            detail=f"{phase} mode on for {span(elapsed)} since {utc(clock.started)} "
            f"({source}){note}",
        )
    return Check(
        **common,
        status=Status.INCONCLUSIVE,
        detail=f"{phase} mode on for {span(elapsed)} since {utc(clock.started)} ({source}): "
        f"can pass at {utc(clock.started + soak)}{note}",
    )


# --- rules ---------------------------------------------------------------------------------------


def assess_no_v3_events(
    check_id: str, rule: str, v3: V3Events, bookings: int, table_name: str, meaning: str
) -> Check:
    """Any V3 event is a FAIL; none while bookings are made is a PASS; no data is INCONCLUSIVE."""
    common = {
        "id": check_id,
        "rule": rule,
        "observed": v3.events,
        "threshold": 0,
        "sample_size": bookings,
    }
    if v3.events:
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{v3.describe()}: {meaning} (listed in tables/{table_name}.csv)",
        )
    if bookings:
        return Check(
            **common, status=Status.PASS, detail=f"no V3 event; {bookings} bookings with activity"
        )
    return Check(
        **common,
        status=Status.INCONCLUSIVE,
        detail="no V3 event, but no booking activity either: nothing shows the coordinator "
        "stayed idle while bookings were made",
    )


def assess_legacy_routing(
    activity: LegacyActivity, before: Arrivals | None, confidence: float
) -> Check:
    """Legacy activity present while bookings are made; none while bookings exist is FAIL.

    With no booking either, the silence of the window is judged against the bookings that
    arrived in `before` (the same length before it): FAIL when improbable at `confidence`.
    """
    common = {
        "id": "legacy_routing",
        "rule": "legacy planner events (auto_assign.started, inline_auto_assign.*) present "
        "while bookings are made",
        "observed": activity.legacy_events,
        "sample_size": activity.bookings_with_activity,
    }
    if activity.legacy_events:
        return Check(
            **common,
            status=Status.PASS,
            detail=f"{activity.legacy_events} legacy events for {activity.legacy_bookings} of "
            f"{activity.bookings_with_activity} bookings with activity; last at "
            f"{utc(activity.last_legacy_at)}",
        )
    if activity.bookings_with_activity:
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{activity.bookings_with_activity} bookings with activity "
            f"({activity.bookings_created} created) but no legacy planner event: bookings are "
            "not being assigned by the legacy planner",
        )
    if before is None or not before.count:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail="no booking activity in the window, nor in the same time before it: legacy "
            "routing cannot be seen",
        )
    start = before.window.end
    silence = judge_silence(before.count, before.span, start, start + before.span, confidence)
    fallback = "" if before.recorded else f" ({FALLBACK})"
    quiet = (
        f"no booking activity and no legacy planner event since {utc(start)}, after "
        f"{before.count} {before.what} in the {length(before.span)} before"
    )
    if silence.improbable:
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{quiet}: at that rate so long a silence has probability "
            f"{silence.probability:.2g}, below {1 - confidence:.2g}: bookings are not being "
            f"made or recorded{fallback}",
        )
    return Check(
        **common,
        status=Status.INCONCLUSIVE,
        detail=f"{quiet}: that silence is likely enough by chance (probability "
        f"{silence.probability:.2g}); legacy routing cannot be seen{fallback}",
    )


def assess_legacy_baseline(activity: LegacyActivity, min_sample: int) -> Check:
    """Advisory: the legacy success rate, recorded for later comparison with V3 (PASS or WARN)."""
    proportion = activity.success
    common = {
        "id": "legacy_baseline",
        "rule": "legacy success rate recorded as the baseline for V3 "
        "(auto_assign.succeeded + inline_auto_assign.succeeded over bookings handled)",
        "observed": proportion.rate,
        "interval": proportion.interval,
        "sample_size": proportion.n,
    }
    if not proportion.n:
        return Check(
            **common,
            status=Status.WARN,
            detail="no booking handled by the legacy planner: no baseline recorded",
        )
    if proportion.n < min_sample:
        return Check(
            **common,
            status=Status.WARN,
            detail=f"legacy success {proportion.describe()}: {proportion.n} bookings handled, "
            f"fewer than {min_sample}, so the interval is wide",
        )
    return Check(**common, status=Status.PASS, detail=f"legacy success {proportion.describe()}")
