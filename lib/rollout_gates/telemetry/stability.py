"""Stable for 48 hours: the checks shared by `prerequisites` (staging) and `full-extended`.

The runbook asks the same question twice: staging "stable for 48+ hours with success
rates >= 97% and manual review rates < 1%, no sustained errors or circuit breaker
trips" before production starts, and production over its 48 hours of extended
monitoring. Both gates judge, over their window:

- soak: V3 (full mode) on for at least `soak` before the as-of (rules/soak.py), on the
  phase clock (phase.py: the flag ledger, else telemetry);
- the success rate (>= limit) and the manual review rate (strictly < limit) of the
  window, as criteria (rates.py): PASS on the point estimate with `min_decided`, FAIL only
  when confidently beyond;
- no red-flag stretch: no run of 1 to 6 hourly buckets aligned to the as-of confidently
  below the red-flag success limit or above the manual review one (the runbook's Phase 2
  red flags), each judged given how many stretches were examined;
- no sustained coordinator.error, and no coordinator.circuit_open at all.

`collect` runs the queries; everything else here is pure.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy.engine import Connection

from ..config.ledger import FlagChange
from ..config.params import Duration, GateParams, Rate
from ..core.stats import percent
from ..core.timefmt import format_duration
from ..core.verdict import Check
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
from ..rules.soak import assess_soak
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
from .phase import (
    ActiveStretch,
    PhaseClock,
    clock_from_stretch,
    fetch_active_stretch,
    resolve_phase_clock,
)

# The runbook's red flags are judged hour by hour (full-health's window).
RED_FLAG_BUCKET = timedelta(hours=1)


class StabilityParams(GateParams):
    """The parameters both stability gates share (params/defaults.yaml)."""

    soak: Duration
    success_rate_min: Rate
    manual_review_rate_max: Rate
    red_flag_success_rate_min: Rate
    red_flag_manual_review_rate_max: Rate


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
    phase: PhaseClock
    outcomes: OutcomeSummary
    hours: tuple[tuple[datetime, OutcomeSummary], ...]
    error_buckets: tuple[int, ...]
    circuit_opens: int
    circuit_opens_max_per_hour: int
    outcome_event_buckets: tuple[int, ...] | None = None  # per error bucket: the denominator


def evaluate(metrics: StabilityMetrics, params: StabilityParams) -> list[Check]:
    """The stability checks, in the runbook's order; pure."""
    over = format_duration(params.window)
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

    stretch: ActiveStretch  # what telemetry shows of the phase, beside the clock used
    hourly: pd.DataFrame
    errors: pd.DataFrame
    errors_hourly: pd.DataFrame
    circuit_opens_hourly: pd.DataFrame


def lookback_of(params: StabilityParams) -> timedelta:
    """How far back telemetry is searched for the phase start: the soak plus the window."""
    return params.soak + params.window


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
) -> tuple[StabilityMetrics, StabilityFrames]:
    """Run the queries of the stability checks; returns the metrics and the frames to show."""
    events = taxonomy["coordinator"]["outcomes"]
    as_of = window.end
    lookback = Window.ending(as_of, lookback_of(params))
    stretch = fetch_active_stretch(connection, taxonomy, lookback)
    phase = resolve_phase_clock(changes, as_of, lambda: clock_from_stretch(stretch))
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
        stretch=stretch,
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
