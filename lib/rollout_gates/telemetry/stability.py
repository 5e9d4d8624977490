"""Stable for 48 hours: the checks shared by `prerequisites` (staging) and `full-extended`.

The runbook asks the same question twice: staging "stable for 48+ hours with success
rates >= 97% and manual review rates < 1%, no sustained errors or circuit breaker
trips" before production starts, and production over its 48 hours of extended
monitoring. Both gates judge, over their window:

- soak: V3 (full mode) on for at least `soak` before the as-of; the phase start comes
  from the environment's flag ledger when it records V3 or SHADOW, else from telemetry
  (the first active coordinator.start after the last legacy-planner event);
- the success rate (>= limit) and the manual review rate (strictly < limit) of the
  window, as criteria (rates.py): PASS on the point estimate with `min_decided`, FAIL only
  when confidently beyond;
- no red-flag stretch: no run of 1 to 6 hourly buckets aligned to the as-of confidently
  below the red-flag success limit or above the manual review one (the runbook's Phase 2
  red flags), each judged given how many stretches were examined;
- no sustained coordinator.error, and no coordinator.circuit_open at all.

`collect` runs the queries; everything else here is pure.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy.engine import Connection

from ..config.ledger import SHADOW, V3, FlagChange, phase_at, phase_started
from ..config.params import Duration, GateParams, Rate
from ..core.stats import percent
from ..core.timefmt import format_duration, utc
from ..core.verdict import Check, Status
from ..rules.rates import (
    RateRule,
    Sample,
    assess_criterion,
    assess_red_flag_stretches,
    manual_review_rule,
    red_flag_stretches,
    success_rule,
)
from ..rules.signals import assess_no_circuit_opens, assess_sustained_errors
from .metrics import (
    OutcomeSummary,
    Window,
    bucket_starts,
    fetch_event_buckets,
    fetch_max_per_hour,
    fetch_outcome_event_buckets,
    fetch_outcomes,
    rates_by_bucket,
    summarize_outcomes,
)
from .phase import fetch_active_stretch

# The runbook's red flags are judged hour by hour (full-health's window).
RED_FLAG_BUCKET = timedelta(hours=1)
LEDGER = "flag ledger"
TELEMETRY = "telemetry"


class StabilityParams(GateParams):
    """The parameters both stability gates share (params/defaults.yaml)."""

    soak: Duration
    success_rate_min: Rate
    manual_review_rate_max: Rate
    red_flag_success_rate_min: Rate
    red_flag_manual_review_rate_max: Rate


def hours(duration: timedelta) -> str:
    """Hours to one decimal, rounded down: 47h58m is 47.9h, never a misleading 48.0h."""
    return f"{math.floor(duration.total_seconds() / 360) / 10:.1f}h"


def span(duration: timedelta) -> str:
    """A duration in whole hours as the runbook writes them (48h, not 2d); else 10m, 90s..."""
    whole_hours, rest = divmod(int(duration.total_seconds()), 3600)
    return f"{whole_hours}h" if whole_hours and not rest else format_duration(duration)


# --- phase start -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseStart:
    """When V3 became active (None: not active, or not found), where that came from, and how."""

    started: datetime | None
    source: str  # LEDGER or TELEMETRY
    how: str


@dataclass(frozen=True)
class ActiveStarts:
    """What telemetry says about the coordinator's active stretch over a lookback."""

    first_active_start: datetime | None = None
    active_since: datetime | None = None  # first active start after the last legacy activity
    last_active_start: datetime | None = None
    last_legacy_activity: datetime | None = None
    active_starts: int = 0


def phase_start_from_ledger(changes: list[FlagChange], as_of: datetime, env: str):
    """PhaseStart from the ledger, or None when it records no V3 or SHADOW change by the as-of.

    Entries after the as-of are ignored, so a re-run for a post-mortem judges what was known.
    """
    known = [c for c in changes if c.variable in (V3, SHADOW) and c.at <= as_of]
    if not known:
        return None
    phase = phase_at(changes, as_of)
    if phase != "full":
        last = known[-1]
        return PhaseStart(
            None,
            LEDGER,
            f"the {env} flag ledger shows phase {phase} at the as-of (last change "
            f"{last.variable}={last.new} at {utc(last.at)}): V3 is not active",
        )
    started = phase_started(changes, as_of)
    if started is None:  # full by the flags, but no change switched to it: cannot date it
        return PhaseStart(None, LEDGER, f"the {env} flag ledger does not say when full mode began")
    return PhaseStart(started, LEDGER, f"full mode set at {utc(started)} in the {env} ledger")


def phase_start_from_telemetry(active: ActiveStarts, lookback: timedelta) -> PhaseStart:
    searched = f"the {span(lookback)} lookback"
    if not active.active_starts:
        return PhaseStart(
            None,
            TELEMETRY,
            f"no V3 flag in the ledger, and no coordinator.start with mode=active in {searched}",
        )
    if active.active_since is None:
        return PhaseStart(
            None,
            TELEMETRY,
            f"the legacy planner ran at {utc(active.last_legacy_activity)}, after the last "
            f"coordinator.start with mode=active ({utc(active.last_active_start)}): V3 looks "
            "rolled back or off",
        )
    if active.last_legacy_activity is None:
        how = f"first coordinator.start with mode=active in {searched}"
    else:
        how = (
            "first coordinator.start with mode=active after the last legacy-planner event "
            f"({utc(active.last_legacy_activity)}) in {searched}"
        )
    return PhaseStart(active.active_since, TELEMETRY, how)


def resolve_phase_start(
    changes: list[FlagChange], active: ActiveStarts, as_of: datetime, env: str, lookback
) -> PhaseStart:
    """The ledger when it has something to say, else telemetry."""
    return phase_start_from_ledger(changes, as_of, env) or phase_start_from_telemetry(
        active, lookback
    )


def assess_soak(phase: PhaseStart, as_of: datetime, soak: timedelta) -> Check:
    """V3 on for `soak` before the as-of; until then INCONCLUSIVE, naming when it can pass."""
    common = {
        "id": "soak",
        "rule": f"V3 active (full mode) for at least {span(soak)} before the as-of",
        "threshold": span(soak),
    }
    source = f"phase start from the {phase.source}: {phase.how}"
    if phase.started is None:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"{phase.how}; the {span(soak)} soak has not started "
            f"(phase start from the {phase.source})",
        )
    on = as_of - phase.started
    if on >= soak:
        return Check(
            **common,
            observed=hours(on),
            status=Status.PASS,
            detail=f"V3 active since {utc(phase.started)}, {hours(on)} before the as-of ({source})",
        )
    return Check(
        **common,
        observed=hours(max(on, timedelta(0))),
        status=Status.INCONCLUSIVE,
        detail=f"V3 active since {utc(phase.started)}, only {hours(on)} of "
        f"{span(soak)}: can pass at {utc(phase.started + soak)} ({source})",
    )


# --- rates -----------------------------------------------------------------------------------


def criteria(params: StabilityParams) -> tuple[RateRule, RateRule]:
    """The window's success and manual review rates, as conditions to proceed."""
    return (
        success_rule(params.success_rate_min, params),
        manual_review_rule(params.manual_review_rate_max, params, strict=True),
    )


def red_flags(params: StabilityParams) -> list[RateRule]:
    """The runbook's Phase 2 red flags, judged stretch by stretch inside the window."""
    alone = params.red_flag_min_decided
    return [
        success_rule(params.red_flag_success_rate_min, params, alone),
        manual_review_rule(params.red_flag_manual_review_rate_max, params, strict=False,
                           min_decided=alone),
    ]  # fmt: skip


def hour_rates(hours) -> list[tuple[datetime, dict]]:
    """Each hour's proportions by rule name, as rates.assess_red_flag_stretches takes them."""
    return [
        (start, {"success rate": summary.success, "manual review rate": summary.manual_review_rate})
        for start, summary in hours
    ]


# --- metrics and evaluation ------------------------------------------------------------------


@dataclass(frozen=True)
class StabilityMetrics:
    """Everything the stability rules look at, for one window ending at the as-of."""

    as_of: datetime
    phase: PhaseStart
    outcomes: OutcomeSummary
    hours: tuple[tuple[datetime, OutcomeSummary], ...]
    error_buckets: tuple[int, ...]
    circuit_opens: int
    circuit_opens_max_per_hour: int
    outcome_event_buckets: tuple[int, ...] | None = None  # per error bucket: the denominator


def evaluate(metrics: StabilityMetrics, params: StabilityParams) -> list[Check]:
    """The stability checks, in the runbook's order; pure."""
    over = span(params.window)
    success, manual = (
        assess_criterion(rule, Sample.ending(proportion, metrics.as_of, params.window), over)
        for rule, proportion in zip(
            criteria(params),
            (metrics.outcomes.success, metrics.outcomes.manual_review_rate),
            strict=True,
        )
    )
    errors = assess_sustained_errors(
        list(metrics.error_buckets),
        params.sustained_error_buckets,
        params.error_bucket,
        seen=metrics.outcomes.bookings,
        outcome_counts=metrics.outcome_event_buckets,
        share=params.sustained_error_share,
    )
    return [
        assess_soak(metrics.phase, metrics.as_of, params.soak),
        success,
        manual,
        assess_red_flag_stretches(
            "red_flag_hours",
            "no stretch of hours with success rate confidently < "
            f"{percent(params.red_flag_success_rate_min)} or manual review rate confidently > "
            f"{percent(params.red_flag_manual_review_rate_max)} over {over}",
            hour_rates(metrics.hours),
            RED_FLAG_BUCKET,
            red_flags(params),
            min_decided=params.min_decided,
            alone_min_decided=params.red_flag_min_decided,
        ),
        errors.model_copy(update={"rule": f"{errors.rule} over {over}"}),
        assess_no_circuit_opens(
            metrics.circuit_opens_max_per_hour,
            metrics.circuit_opens,
            over=f"over {over}",
            seen=metrics.outcomes.bookings,
        ),
    ]


@dataclass(frozen=True)
class StabilityFrames:
    """The tables a notebook shows and saves."""

    phase: pd.DataFrame
    hourly: pd.DataFrame
    errors: pd.DataFrame
    errors_hourly: pd.DataFrame
    circuit_opens_hourly: pd.DataFrame


def lookback_of(params: StabilityParams) -> timedelta:
    """How far back telemetry is searched for the phase start: the soak plus the window."""
    return params.soak + params.window


def fetch_active_starts(connection: Connection, taxonomy: dict, lookback: Window) -> ActiveStarts:
    """The lookback's active stretch (phase.fetch_active_stretch), in this module's terms."""
    stretch = fetch_active_stretch(connection, taxonomy, lookback)
    return ActiveStarts(
        first_active_start=stretch.first_active_at,
        active_since=stretch.stretch_start,
        last_active_start=stretch.last_active_at,
        last_legacy_activity=stretch.last_legacy_at,
        active_starts=stretch.active_starts,
    )


def phase_table(
    phase: PhaseStart, active: ActiveStarts, as_of: datetime, params: StabilityParams
) -> pd.DataFrame:
    """The soak evidence, both sources side by side, as a two-column table."""

    def when(moment):
        return utc(moment) if moment else "–"

    can_pass = phase.started + params.soak if phase.started else None
    rows = [
        ("phase start used", when(phase.started)),
        ("from", f"{phase.source}: {phase.how}"),
        ("V3 active for", hours(as_of - phase.started) if phase.started else "–"),
        ("soak needed", span(params.soak)),
        ("can pass at", when(can_pass)),
        (f"telemetry, {span(lookback_of(params))} lookback", ""),
        ("first coordinator.start mode=active", when(active.first_active_start)),
        ("last legacy-planner event", when(active.last_legacy_activity)),
        ("first active start after it", when(active.active_since)),
        ("last active start", when(active.last_active_start)),
        ("active starts", str(active.active_starts)),
    ]
    return pd.DataFrame(rows, columns=["soak", "value"])


def hourly_table(
    outcomes: pd.DataFrame, window: Window, hours, params: StabilityParams
) -> pd.DataFrame:
    """Per hour: decided bookings, both rates with their bounds, and the red-flag stretches
    that start in it."""
    table = rates_by_bucket(
        outcomes,
        window,
        RED_FLAG_BUCKET,
        confidence=params.confidence,
        alone_min_decided=params.red_flag_min_decided,
    )
    flags, _ = red_flag_stretches(hour_rates(hours), red_flags(params))
    table["red_flag"] = [
        "; ".join(f.describe(RED_FLAG_BUCKET) for f in flags if f.stretch.start == start)
        for start in table["bucket_start"]
    ]
    return table


def collect(
    connection: Connection,
    taxonomy: dict,
    window: Window,
    params: StabilityParams,
    changes: list[FlagChange],
    env: str,
) -> tuple[StabilityMetrics, StabilityFrames]:
    """Run the queries of the stability checks; returns the metrics and the frames to show."""
    events = taxonomy["coordinator"]["outcomes"]
    as_of = window.end
    lookback = Window.ending(as_of, lookback_of(params))
    active = fetch_active_starts(connection, taxonomy, lookback)
    phase = resolve_phase_start(changes, active, as_of, env, lookback_of(params))
    outcomes = fetch_outcomes(connection, taxonomy, window, RED_FLAG_BUCKET, params.outcome_grace)
    hours = tuple(
        (start, summarize_outcomes(outcomes[outcomes["bucket_start"] == start]))
        for start in bucket_starts(window, RED_FLAG_BUCKET)
    )
    errors = fetch_event_buckets(connection, taxonomy, window, params.error_bucket, events["error"])
    max_opens, opens = fetch_max_per_hour(connection, taxonomy, window, events["circuit_open"])
    metrics = StabilityMetrics(
        as_of=as_of,
        phase=phase,
        outcomes=summarize_outcomes(outcomes),
        hours=hours,
        error_buckets=tuple(int(count) for count in errors["events"]),
        outcome_event_buckets=tuple(
            fetch_outcome_event_buckets(connection, taxonomy, window, params.error_bucket)
        ),
        circuit_opens=opens,
        circuit_opens_max_per_hour=max_opens,
    )
    frames = StabilityFrames(
        phase=phase_table(phase, active, as_of, params),
        hourly=hourly_table(outcomes, window, hours, params),
        errors=errors,
        errors_hourly=fetch_event_buckets(
            connection, taxonomy, window, RED_FLAG_BUCKET, events["error"]
        ),
        circuit_opens_hourly=fetch_event_buckets(
            connection, taxonomy, window, RED_FLAG_BUCKET, events["circuit_open"]
        ),
    )
    return metrics, frames


def event_counts(errors: pd.DataFrame, circuit_opens: pd.DataFrame) -> pd.DataFrame:
    """coordinator.error and coordinator.circuit_open per bucket, side by side, for display."""
    return pd.DataFrame(
        {
            "bucket_start": errors["bucket_start"],
            "coordinator.error": errors["events"],
            "coordinator.circuit_open": circuit_opens["events"].to_numpy(),
        }
    )
