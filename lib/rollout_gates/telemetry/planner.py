"""The legacy planner: what the shadow, rollback and cleanup gates share.

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

from ..core.stats import Proportion
from ..core.timefmt import as_utc, format_duration, utc
from ..core.verdict import Check, Status
from ..rules.signals import FALLBACK
from .arrivals import Arrivals, arrival_binds, judge_silence
from .metrics import Window, bucket_starts, fetch_frame


def _moment(value) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    return as_utc(value)


# --- query bindings ----------------------------------------------------------------------------


# What tells a legacy planner event (legacy sources, the inline path, auto_assign.started,
# less the coordinator's mirror events) and a V3 one, as the queries bind them.
LEGACY_EVENT_BINDS = ("legacy_sources", "inline_source", "started_type", "mirror_trigger")
V3_EVENT_BINDS = ("v3_sources", "coordinator_source")


def legacy_binds(taxonomy: dict, *names: str) -> dict:
    """Event names the legacy and V3 queries bind, all from params/taxonomy.yaml; only
    `names`, when given (a query binds only the names it uses)."""
    legacy = taxonomy["legacy"]
    coordinator = taxonomy["coordinator"]
    binds = {
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
    return {name: binds[name] for name in names} if names else binds


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
    frame = fetch_frame(
        connection,
        "legacy_activity",
        **window.binds(),
        handled_before=window.end - grace,
        **legacy_binds(taxonomy, *_ACTIVITY_BINDS),
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


_ACTIVITY_BINDS = (*LEGACY_EVENT_BINDS, "succeeded_types", "phantom_event", "activity_sources")


def fetch_legacy_events(connection: Connection, taxonomy: dict, window: Window) -> pd.DataFrame:
    """Legacy-source events per (source, event_type, v3_mirror, legacy_activity), with times."""
    frame = fetch_frame(
        connection,
        "legacy_events",
        **window.binds(),
        **legacy_binds(taxonomy, *LEGACY_EVENT_BINDS, "phantom_event"),
    )
    return _utc_columns(frame, "first_at", "last_at")


LEGACY_ACTIVITY_COLUMNS = ["source", "event_type", "events", "bookings", "first_at", "last_at"]


def fetch_legacy_activity_table(
    connection: Connection, taxonomy: dict, window: Window, activity: LegacyActivity
) -> pd.DataFrame:
    """The legacy activity of `window` (starts and inline events, mirrors excluded) per source
    and event type. Not queried when `activity`, read over the same window, counts none: the
    table would be empty, and over cleanup's 7 days at 100x today's volume that scan is a
    sixth of the gate's SQL."""
    if activity.legacy_events == 0:
        return pd.DataFrame(columns=LEGACY_ACTIVITY_COLUMNS)
    events = fetch_legacy_events(connection, taxonomy, window)
    rows = events[events["legacy_activity"].astype(bool)]
    return rows[LEGACY_ACTIVITY_COLUMNS].reset_index(drop=True)


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
    frame = fetch_frame(
        connection,
        "v3_events",
        **window.binds(),
        **legacy_binds(taxonomy, "v3_sources", "legacy_sources", "mirror_trigger"),
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
    frame = fetch_frame(
        connection,
        "planner_activity_buckets",
        **window.binds(),
        bucket=bucket,
        **legacy_binds(
            taxonomy,
            *LEGACY_EVENT_BINDS,
            *V3_EVENT_BINDS,
            "start_type",
            "active_mode",
            "activity_sources",
        ),
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
        f"{before.count} {before.what} in the {format_duration(before.span)} before"
    )
    if silence.improbable:
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{quiet}: {silence.odds}: bookings are not being made or recorded{fallback}",
        )
    return Check(
        **common,
        status=Status.INCONCLUSIVE,
        detail=f"{quiet}: that silence is {silence.chance}; legacy routing cannot be "
        f"seen{fallback}",
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
