"""Stable for 48 hours: what the stability gates read (rules/stability.py judges it).

`collect(ctx)` is the `collect` of both `prerequisites` (staging) and `full-extended`: it
runs the phase clock's telemetry, the window's outcomes hour by hour, coordinator.error
buckets and coordinator.circuit_open counts; the tables beside them, for the notebooks, come
with the metrics as `metrics.frames`.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy.engine import Connection

from ..config.ledger import FlagChange
from ..rules.rates import red_flag_stretches
from ..rules.stability import RED_FLAG_BUCKET, StabilityParams, hour_rates, red_flags
from .metrics import (
    OutcomeSummary,
    Window,
    bucket_starts,
    fetch_event_buckets,
    fetch_max_per_hour,
    fetch_outcome_event_buckets,
    fetch_outcomes,
    gate_rates_by_bucket,
    summarize_outcomes,
)
from .phase import (
    ActiveStretch,
    PhaseClock,
    clock_from_stretch,
    fetch_active_stretch,
    resolve_phase_clock,
)


@dataclass(frozen=True)
class StabilityFrames:
    """The tables a notebook shows and saves."""

    stretch: ActiveStretch  # what telemetry shows of the phase, beside the clock used
    hourly: pd.DataFrame
    errors: pd.DataFrame
    errors_hourly: pd.DataFrame
    circuit_opens_hourly: pd.DataFrame


@dataclass(frozen=True)
class StabilityMetrics:
    """Everything the stability rules look at, for one window ending at the as-of, and the
    frames the notebook shows (None where the metrics were not collected from telemetry)."""

    as_of: datetime
    phase: PhaseClock
    outcomes: OutcomeSummary
    hours: tuple[tuple[datetime, OutcomeSummary], ...]
    error_buckets: tuple[int, ...]
    circuit_opens: int
    circuit_opens_max_per_hour: int
    outcome_event_buckets: tuple[int, ...] | None = None  # per error bucket: the denominator
    frames: StabilityFrames | None = field(default=None, compare=False, repr=False)


def lookback_of(params: StabilityParams) -> timedelta:
    """How far back telemetry is searched for the phase start: the soak plus the window."""
    return params.soak + params.window


def hourly_table(
    outcomes: pd.DataFrame, window: Window, hours, params: StabilityParams
) -> pd.DataFrame:
    """Per hour: decided bookings, both rates with their bounds, and the red-flag stretches
    that start in it."""
    table = gate_rates_by_bucket(outcomes, window, RED_FLAG_BUCKET, params)
    flags, _ = red_flag_stretches(hour_rates(hours), red_flags(params))
    table["red_flag"] = [
        "; ".join(f.describe(RED_FLAG_BUCKET) for f in flags if f.stretch.start == start)
        for start in table["bucket_start"]
    ]
    return table


def collect(ctx) -> StabilityMetrics:
    """The stability gates' `collect`: run the queries of the stability checks over ctx.window
    (the environment's flag ledger, [] if none, dates the phase); the metrics carry the frames
    to show."""
    connection: Connection = ctx.connection
    taxonomy, window, params = ctx.taxonomy, ctx.window, ctx.params
    changes: list[FlagChange] = ctx.ledger()
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
    event_buckets = fetch_outcome_event_buckets(connection, taxonomy, window, params.error_bucket)
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
    return StabilityMetrics(
        as_of=as_of,
        phase=phase,
        outcomes=summarize_outcomes(outcomes),
        hours=hours,
        error_buckets=tuple(int(count) for count in errors["events"]),
        outcome_event_buckets=tuple(event_buckets),
        circuit_opens=opens,
        circuit_opens_max_per_hour=max_opens,
        frames=frames,
    )


def event_counts(errors: pd.DataFrame, circuit_opens: pd.DataFrame) -> pd.DataFrame:
    """coordinator.error and coordinator.circuit_open per bucket, side by side, for display."""
    return pd.DataFrame(
        {
            "bucket_start": errors["bucket_start"],
            "coordinator.error": errors["events"],
            "coordinator.circuit_open": circuit_opens["events"].to_numpy(),
        }
    )
