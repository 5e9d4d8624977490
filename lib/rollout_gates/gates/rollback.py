"""rollback: the rollback plan's checks and the post-rollback actions.

Around the rollback time T (`--set rollback_at=...`, else the flag ledger's last
FEATURE_ASSIGNMENT_PIPELINE_V3 change from true to false at or before the as-of):

- every `coordinator.error` of the `window` (1h) before T is captured, with the runbook's
  own query, into tables/rollback-errors.csv (post-rollback step 1);
- the legacy planner resumed: legacy activity (auto_assign.started, inline_auto_assign.*;
  the runbook's auto_assign.attempt.start is never written) after T. None yet is
  INCONCLUSIVE until T + drain. After that, none while bookings are created is a FAIL; with
  no booking created either, the silence is judged against the bookings created in the
  `arrival_lookback` before T (arrivals.judge_silence): a FAIL when that much silence is
  improbable at the gate's confidence, else INCONCLUSIVE with the time it becomes decidable;
- stragglers drained: V3 events (assignment.*, mirror events) after T + drain are a FAIL
  (post-rollback step 3: "leave coordinator telemetry on for 30 minutes"); before T + drain
  the check is INCONCLUSIVE with the time to re-run. None after the drain is a PASS once
  bookings arrived after it (created, or handled by the legacy planner): a process still
  running V3 would have written about them;
- the bookings in flight at T are listed (advisory).

"Bookings are created" means arrivals (arrivals.py: booking.creation.success of source
capacity.transaction, replays aside) after T: straggling coordinator and state-machine events
of bookings made before T are not new bookings. A database without any creation event (an
older deploy) falls back to bookings with planner activity, and the details say so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

from pydantic import BeforeValidator

from ..config.flags import plan_commands
from ..config.ledger import V3, FlagChange, last_rollback
from ..config.params import Duration, GateParams
from ..core.timefmt import format_duration, iso, utc
from ..core.verdict import Check, Status
from ..rules.signals import FALLBACK
from .base import Assessment, GateMetrics, GateSpec

if TYPE_CHECKING:
    import pandas as pd

    from ..telemetry.arrivals import Arrivals
    from ..telemetry.planner import LegacyActivity, V3Events

PARAMETER = "parameter rollback_at"
# Where the rollback time is unknown, advice shows the shape to fill in, never a made-up date.
ROLLBACK_AT_PLACEHOLDER = "YYYY-MM-DDTHH:MM:SSZ"


def parse_rollback_at(value) -> datetime | None:
    """'' is no rollback time; an ISO-8601 time is one (a naive time is taken as UTC)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{value!r} is not an ISO-8601 time such as 2026-11-29T03:00:00Z"
            ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


RollbackAt = Annotated[datetime | None, BeforeValidator(parse_rollback_at)]


class RollbackParams(GateParams):
    drain: Duration
    arrival_lookback: Duration
    rollback_at: RollbackAt


SPEC = GateSpec(
    id="rollback",
    runbook_step="Rollback Plan and Post-Rollback Actions: legacy planner resumes, "
    "errors captured, no straggling V3 jobs",
    window="1h before the rollback, drain 30m after",
    env="production",
    params_model=RollbackParams,
)

ERRORS_TABLE = "rollback-errors"
STRAGGLERS_TABLE = "rollback-stragglers"
IN_FLIGHT_TABLE = "rollback-in-flight"
FIGURE_BUCKET = timedelta(minutes=10)


@dataclass(frozen=True)
class RollbackTime:
    at: datetime | None
    source: str | None  # PARAMETER, LEDGER or None
    detail: str = ""
    reenabled_at: datetime | None = None  # V3 on again (ledger): the rollback period ends

    def judged_until(self, as_of: datetime) -> datetime:
        """After a re-enable, V3 events are the new attempt's, not stragglers."""
        return min(as_of, self.reenabled_at) if self.reenabled_at else as_of


@dataclass(frozen=True)
class InFlight:
    """Bookings in flight at the rollback (coordinator activity, no decided outcome by T)."""

    undecided: int = 0
    picked_up: int = 0  # ... of which have legacy activity since T
    active_after: int = 0  # bookings with coordinator events after T


@dataclass(frozen=True)
class RollbackMetrics(GateMetrics):
    as_of: datetime
    window: timedelta
    drain: timedelta
    rollback: RollbackTime
    errors_captured: int = 0
    legacy_after: LegacyActivity | None = None  # [T, as-of)
    legacy_after_drain: LegacyActivity | None = None  # [T + drain, as-of), once drained
    v3_after: V3Events | None = None  # [T, as-of)
    stragglers: V3Events | None = None  # [T + drain, as-of), once drained
    in_flight: InFlight | None = None
    arrivals_before: Arrivals | None = None  # [T - arrival_lookback, T)

    @property
    def recorded(self) -> bool:
        """Whether the database records arrivals (creation events); False: the fallback."""
        return self.arrivals_before is None or self.arrivals_before.recorded

    @property
    def drained_at(self) -> datetime | None:
        return self.rollback.at + self.drain if self.rollback.at else None


def rollback_time(params: RollbackParams, changes: list[FlagChange], as_of: datetime):
    """The parameter if given, else the ledger's last V3 true -> false at or before as-of."""
    from ..telemetry.phase import LEDGER

    if params.rollback_at is not None:
        return RollbackTime(
            params.rollback_at, PARAMETER, "", reenabled_after(changes, params.rollback_at)
        )
    change = last_rollback(changes, as_of)
    if change is None:
        return RollbackTime(None, None)
    return RollbackTime(
        change.at,
        LEDGER,
        f"{change.variable} true -> false recorded by {change.by} in the flag ledger",
        reenabled_after(changes, change.at),
    )


def reenabled_after(changes: list[FlagChange], rollback_at: datetime) -> datetime | None:
    """When the ledger switched V3 on again after the rollback, if it did."""
    return next(
        (c.at for c in changes if c.variable == V3 and c.new == "true" and c.at > rollback_at),
        None,
    )


def collect(ctx) -> RollbackMetrics:
    """Run the gate's queries around the rollback (the parameter's time, else the ledger's)."""
    import pandas as pd

    from ..telemetry.arrivals import fetch_arrivals
    from ..telemetry.metrics import Window, fetch_frame
    from ..telemetry.planner import fetch_legacy_activity, fetch_v3_events

    connection, taxonomy, as_of, params = ctx.connection, ctx.taxonomy, ctx.as_of, ctx.params
    rollback = rollback_time(params, ctx.ledger(), as_of)
    frames = {
        "errors": pd.DataFrame(),
        "stragglers": pd.DataFrame(),
        "in_flight": pd.DataFrame(),
    }
    metrics = RollbackMetrics(
        as_of=as_of, window=params.window, drain=params.drain, rollback=rollback, frames=frames
    )
    if rollback.at is None or rollback.at > as_of:
        return metrics
    before = Window(rollback.at - params.window, rollback.at)
    until = rollback.judged_until(as_of)
    after = Window(rollback.at, until)
    frames["errors"] = fetch_frame(connection, "runbook/rollback_errors", **before.binds())
    if "context" in frames["errors"]:  # as psql prints jsonb: JSON text, not a Python dict
        frames["errors"]["context"] = frames["errors"]["context"].map(
            lambda value: None if value is None else json.dumps(value)
        )
    legacy_after = fetch_legacy_activity(connection, taxonomy, after, params.outcome_grace)
    lookback = Window(rollback.at - params.arrival_lookback, rollback.at)
    seen = bool(legacy_after.bookings_created or legacy_after.duplicate_creations) or None
    arrivals_before = fetch_arrivals(connection, taxonomy, lookback, recorded=seen)
    v3_after, _ = fetch_v3_events(connection, taxonomy, after)
    stragglers = legacy_after_drain = None
    drained_at = rollback.at + params.drain
    if as_of >= drained_at and until > drained_at:
        drained = Window(drained_at, until)
        stragglers, frames["stragglers"] = fetch_v3_events(connection, taxonomy, drained)
        legacy_after_drain = fetch_legacy_activity(
            connection, taxonomy, drained, params.outcome_grace
        )
    frames["in_flight"] = fetch_in_flight(connection, taxonomy, before.start, rollback.at, until)
    return RollbackMetrics(
        as_of=as_of,
        window=params.window,
        drain=params.drain,
        rollback=rollback,
        errors_captured=len(frames["errors"]),
        legacy_after=legacy_after,
        legacy_after_drain=legacy_after_drain,
        v3_after=v3_after,
        stragglers=stragglers,
        in_flight=summarize_in_flight(frames["in_flight"], taxonomy),
        arrivals_before=arrivals_before,
        frames=frames,
    )


def fetch_in_flight(
    connection, taxonomy: dict, start: datetime, rollback_at: datetime, as_of: datetime
) -> pd.DataFrame:
    """One row per booking in flight at the rollback or active after it."""
    import pandas as pd

    from ..telemetry.metrics import fetch_frame
    from ..telemetry.planner import LEGACY_EVENT_BINDS, V3_EVENT_BINDS, legacy_binds

    outcomes = taxonomy["coordinator"]["outcomes"]
    frame = fetch_frame(
        connection,
        "rollback_in_flight",
        window_start=start,
        window_end=as_of,
        rollback_at=rollback_at,
        outcome_types=list(outcomes.values()),
        decided_types=decided_types(taxonomy),
        state_machine_source=taxonomy["state_machine"]["source"],
        **legacy_binds(taxonomy, *LEGACY_EVENT_BINDS, *V3_EVENT_BINDS),
    )
    for column in ("first_coordinator_event", "last_coordinator_event"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def decided_types(taxonomy: dict) -> list[str]:
    """confirmed, manual_review and error decide a booking; retry and circuit_open do not."""
    outcomes = taxonomy["coordinator"]["outcomes"]
    return [outcomes[name] for name in ("confirmed", "manual_review", "error")]


def summarize_in_flight(frame: pd.DataFrame, taxonomy: dict) -> InFlight:
    if frame.empty:
        return InFlight()
    decided = set(decided_types(taxonomy))
    undecided = frame["first_coordinator_event"].notna() & ~frame["outcome_before_rollback"].isin(
        decided
    )
    picked_up = undecided & (frame["legacy_events_after"] > 0)
    return InFlight(
        undecided=int(undecided.sum()),
        picked_up=int(picked_up.sum()),
        active_after=int((frame["coordinator_events_after"] > 0).sum()),
    )


def describe_time(metrics: RollbackMetrics) -> str:
    """The rollback time and the periods the checks look at, as Markdown."""
    rollback = metrics.rollback
    if rollback.at is None:
        return (
            "**No rollback time.** The flag ledger records no FEATURE_ASSIGNMENT_PIPELINE_V3 "
            "change from `true` to `false` at or before the as-of: run again with "
            "`--set rollback_at=...` (the time the rollback deploy went live)."
        )
    lines = [
        f"Rollback at **{utc(rollback.at)}**, from the {rollback.source}"
        + (f" ({rollback.detail})." if rollback.detail else "."),
        "",
        f"- errors captured from {utc(rollback.at - metrics.window)} to {utc(rollback.at)}",
        f"- legacy planner looked for from {utc(rollback.at)} to the as-of, {utc(metrics.as_of)}",
        f"- drain period until {utc(metrics.drained_at)}: V3 events after it are stragglers",
    ]
    if rollback.at > metrics.as_of:
        lines.append("- **the rollback time is after the as-of**: nothing to judge yet")
    elif rollback.reenabled_at and rollback.reenabled_at <= metrics.as_of:
        lines.append(
            f"- V3 was switched on again at {utc(rollback.reenabled_at)} (flag ledger): "
            "the checks judge the rollback period up to then"
        )
    return "\n".join(lines)


def activity_around(ctx, metrics: RollbackMetrics):
    """(10-minute buckets from the hour before the rollback to the as-of, their figure)."""
    import pandas as pd

    from ..present.plots import mark_times, plot_counts
    from ..telemetry.metrics import Window
    from ..telemetry.planner import count_series, fetch_activity_buckets

    rollback_at = metrics.rollback.at
    if rollback_at is None or rollback_at > metrics.as_of:
        return pd.DataFrame(), None
    window = Window(rollback_at - metrics.window, metrics.as_of)
    buckets = fetch_activity_buckets(ctx.connection, ctx.taxonomy, window, FIGURE_BUCKET)
    figure = plot_counts(
        {
            "V3 events": count_series(buckets, "v3_events"),
            "legacy planner events": count_series(buckets, "legacy_events"),
            "bookings created": count_series(buckets, "bookings_created"),
        },
        "Around the rollback, per 10 minutes (red: rollback; grey: end of the drain period)",
    )
    return buckets, mark_times(figure, rollback_at, metrics.drained_at)


# --- rules (pure) ------------------------------------------------------------------------------


def evaluate(metrics: RollbackMetrics, params: RollbackParams) -> list[Check]:
    """The rollback plan's checks; pure."""
    time_check = assess_rollback_time(metrics)
    if time_check.status is not Status.PASS:
        return [time_check]
    return [
        time_check,
        assess_errors_captured(metrics),
        assess_legacy_resumed(metrics, params.confidence),
        assess_stragglers(metrics),
        assess_in_flight(metrics),
    ]


def assess_rollback_time(metrics: RollbackMetrics) -> Check:
    rollback = metrics.rollback
    common = {"id": "rollback_time", "rule": "the rollback time is known"}
    if rollback.at is None:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail="no rollback time: the flag ledger records no FEATURE_ASSIGNMENT_PIPELINE_V3 "
            "change from true to false at or before the as-of; pass the time the rollback "
            f"deploy went live with --set rollback_at={ROLLBACK_AT_PLACEHOLDER} (ISO-8601, UTC)",
        )
    if rollback.at > metrics.as_of:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            observed=iso(rollback.at),
            detail=f"rollback_at {utc(rollback.at)} is after the as-of {utc(metrics.as_of)}: "
            "nothing after the rollback can be seen yet",
        )
    return Check(
        **common,
        status=Status.PASS,
        observed=iso(rollback.at),
        detail=f"rollback at {utc(rollback.at)}, from the {rollback.source}"
        + (f" ({rollback.detail})" if rollback.detail else ""),
    )


def assess_errors_captured(metrics: RollbackMetrics) -> Check:
    start = metrics.rollback.at - metrics.window
    count = metrics.errors_captured
    what = f"{count} coordinator.error" if count else "no coordinator.error"
    return Check(
        id="errors_captured",
        rule=f"coordinator.error of the {format_duration(metrics.window)} before the rollback "
        "captured (runbook post-rollback step 1)",
        status=Status.PASS,
        observed=count,
        sample_size=count,
        detail=f"{what} from {utc(start)} to {utc(metrics.rollback.at)}, captured with the "
        f"runbook's query in tables/{ERRORS_TABLE}.csv",
    )


def assess_legacy_resumed(metrics: RollbackMetrics, confidence: float) -> Check:
    from ..telemetry.arrivals import Arrivals, judge_silence
    from ..telemetry.metrics import Window
    from ..telemetry.planner import LegacyActivity

    legacy = metrics.legacy_after or LegacyActivity()
    rollback_at, ready = metrics.rollback.at, metrics.drained_at
    arrived, what = arrivals_of(legacy, metrics.recorded)
    fallback = "" if metrics.recorded else f" ({FALLBACK})"
    common = {
        "id": "legacy_resumed",
        "rule": "legacy planner events (auto_assign.started, inline_auto_assign.*) after the "
        f"rollback, within the {format_duration(metrics.drain)} drain period; silence judged "
        "against the bookings created before it",
        "observed": legacy.legacy_events,
        "sample_size": arrived,
    }
    if legacy.legacy_events:
        first = legacy.first_legacy_at
        delay = f" ({format_duration(first - rollback_at)} after the rollback)" if first else ""
        return Check(
            **common,
            status=Status.PASS,
            detail=f"legacy planner resumed: first legacy event at {utc(first)}{delay}; "
            f"{legacy.legacy_events} events for {legacy.legacy_bookings} bookings since "
            f"({arrived} {what}){fallback}",
        )
    if metrics.as_of < ready:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"no legacy planner event yet, {format_duration(metrics.as_of - rollback_at)} "
            f"after the rollback; re-run at or after {utc(ready)} (--as-of {iso(ready)})",
        )
    if arrived:
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{arrived} {what} since the rollback at {utc(rollback_at)} and no legacy "
            f"planner event: bookings are not being assigned{fallback}",
        )
    before = metrics.arrivals_before or Arrivals(Window(rollback_at, rollback_at))
    silence = judge_silence(before.count, before.span, rollback_at, metrics.as_of, confidence)
    quiet = (
        f"no legacy planner event and no {what.replace('bookings', 'booking', 1)} in the "
        f"{format_duration(silence.silent)} since the rollback at {utc(rollback_at)}"
    )
    rate = f"{before.count} {before.what} in the {format_duration(before.span)} before it"
    if silence.improbable:
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{quiet}, after {rate}: {silence.odds}: no booking is being made or "
            f"recorded since the rollback deploy (check booking creation and the legacy "
            f"planner){fallback}",
        )
    if silence.decidable_at is None:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"{quiet}, and {rate}: no arrival rate to judge the silence against; "
            f"re-run once bookings come in (or with --set arrival_lookback=...){fallback}",
        )
    decidable = silence.decidable_at
    return Check(
        **common,
        status=Status.INCONCLUSIVE,
        detail=f"{quiet}; {rate} make that silence {silence.chance}; if it lasts, decidable "
        f"at {utc(decidable)} (--as-of {iso(decidable)}){fallback}",
    )


def arrivals_of(legacy: LegacyActivity, recorded: bool) -> tuple[int, str]:
    """(bookings that arrived, what they are): planner activity without creation events."""
    if recorded:
        return legacy.bookings_created, "bookings created"
    return legacy.bookings_with_planner_activity, "bookings with planner activity"


def assess_stragglers(metrics: RollbackMetrics) -> Check:
    from ..telemetry.planner import LegacyActivity, V3Events

    ready = metrics.drained_at
    drain = format_duration(metrics.drain)
    during = metrics.v3_after or V3Events()
    common = {
        "id": "stragglers_drained",
        "rule": f"no V3 event (assignment.*, mirror events) more than {drain} after the rollback, "
        "while bookings arrive",
        "threshold": 0,
    }
    if metrics.stragglers is None:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            observed=during.events,
            detail=f"the drain period runs until {utc(ready)}; {during.describe()} since the "
            f"rollback so far; re-run at or after {utc(ready)} (--as-of {iso(ready)})",
        )
    stragglers = metrics.stragglers
    after = metrics.legacy_after_drain or LegacyActivity()
    created, what = arrivals_of(after, metrics.recorded)
    fallback = "" if metrics.recorded else f" ({FALLBACK})"
    common |= {"observed": stragglers.events, "sample_size": created or after.legacy_bookings}
    if stragglers.events:
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{stragglers.describe()}, after the drain period ended at {utc(ready)}: "
            f"a process still runs V3 (listed in tables/{STRAGGLERS_TABLE}.csv)",
        )
    if not created and not after.legacy_bookings:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"no V3 event since {utc(ready)}, but no booking created and no legacy "
            "planner activity since either: a process still running V3 would only show with "
            f"new bookings; re-run once bookings come in{fallback}",
        )
    return Check(
        **common,
        status=Status.PASS,
        detail=f"no V3 event since {utc(ready)} ({created} {what}, {after.legacy_bookings} "
        f"handled by the legacy planner since); {during.events} V3 events in all after the "
        f"rollback, none after the drain period{fallback}",
    )


def assess_in_flight(metrics: RollbackMetrics) -> Check:
    """Advisory: bookings the coordinator was handling when it was switched off."""
    in_flight = metrics.in_flight or InFlight()
    common = {
        "id": "in_flight_bookings",
        "rule": "bookings in flight at the rollback (coordinator activity in the hour before, "
        "no decided outcome by then) are listed for follow-up",
        "observed": in_flight.undecided,
        "sample_size": in_flight.undecided + in_flight.active_after,
    }
    after = (
        f"{in_flight.active_after} bookings with coordinator events after it "
        f"(tables/{IN_FLIGHT_TABLE}.csv)"
    )
    if in_flight.undecided:
        return Check(
            **common,
            status=Status.WARN,
            detail=f"{in_flight.undecided} bookings had no decided outcome at the rollback, "
            f"{in_flight.picked_up} of them picked up by the legacy planner since; {after}",
        )
    return Check(
        **common, status=Status.PASS, detail=f"no booking left undecided at the rollback; {after}"
    )


# --- advice ------------------------------------------------------------------------------------


def advice(result: Assessment) -> list[str]:
    """The runbook's rollback, escalation and post-rollback steps for a verdict."""
    status, env, rollback_at = result.status, result.env, result.metrics.rollback.at
    when = iso(rollback_at) if rollback_at else ROLLBACK_AT_PLACEHOLDER
    rerun = f"rollout-gates run rollback --env {env} --set rollback_at={when}"
    if status is Status.FAIL:
        return [
            "# The rollback is not complete. Re-apply it (runbook, Immediate Rollback):",
            *plan_commands("rollback", env),
            "# Leave coordinator telemetry on for 30 minutes to catch straggling jobs, then:",
            rerun,
            "# Escalate (runbook, Contact & Escalation): notify the engineering team; do NOT",
            "# debug in production. File an incident report referencing this run's evidence",
            f"# (tables/{ERRORS_TABLE}.csv, tables/{IN_FLIGHT_TABLE}.csv) and schedule a "
            "post-mortem.",
        ]
    if status is Status.INCONCLUSIVE:
        if rollback_at is None:
            return ["# Name the time the rollback deploy went live (UTC) and re-run:", rerun]
        return [
            "# Leave coordinator telemetry on; re-run after the drain period (or once bookings",
            "# come in):",
            rerun,
        ]
    if status is Status.PASS:
        return [
            "# Rollback verified. Post-rollback actions left (runbook):",
            f"# 2. File an incident report referencing tables/{ERRORS_TABLE}.csv of this run",
            "# 4. Schedule a post-mortem to investigate the root cause",
        ]
    return []
