"""full-health: the runbook's red flags over the last hour (Phase 2, Step 3).

The rates are judged over the last hour and over full mode so far (at most the 6h intensive
period): at about one booking an hour, the last hour alone holds one booking, which proves
nothing either way; the longer window accumulates the evidence. The worse of the two counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from ..config.flags import plan_commands
from ..config.params import Duration, GateParams, Rate
from ..core.stats import Proportion
from ..core.timefmt import format_duration
from ..core.verdict import Check, Status
from ..rules.rates import Sample, assess_red_flag, manual_review_rule, success_rule
from ..rules.signals import (
    Traffic,
    assess_circuit_opens,
    assess_flags_vs_telemetry,
    assess_sustained_errors,
    assess_telemetry_coverage,
    assess_v3_traffic,
)
from .base import Assessment, GateMetrics, GateSpec, empty_telemetry

if TYPE_CHECKING:
    from ..telemetry.arrivals import Arrivals, Silence
    from ..telemetry.metrics import FlagDisagreement, OutcomeSummary, Window
    from ..telemetry.phase import PhaseClock
    from ..telemetry.quality import TelemetryQuality


class FullHealthParams(GateParams):
    success_rate_min: Rate
    manual_review_rate_max: Rate
    intensive_period: Duration
    trend_window: Duration
    trend_bucket: Duration


SPEC = GateSpec(
    id="full-health",
    runbook_step="Phase 2, Step 3: intensive monitoring, red flags (every 30-60 min for 6h)",
    window="1h",
    env="production",
    params_model=FullHealthParams,
)


@dataclass(frozen=True)
class FullHealthMetrics(GateMetrics):
    """Everything the red-flag rules look at, for one window."""

    window: Window
    outcomes: OutcomeSummary  # the last hour
    phase: PhaseClock
    full_mode: tuple[Window, OutcomeSummary] | None  # full mode so far, when longer than that
    error_buckets: list[int]
    circuit_opens_max_per_hour: int
    circuit_opens: int
    traffic: Traffic
    arrivals_before: Arrivals | None = None  # only fetched when the window saw nothing at all
    flags: FlagDisagreement | None = None  # None: no flag ledger to compare with
    quality: TelemetryQuality = field(
        default_factory=empty_telemetry("quality", "TelemetryQuality")
    )
    outcome_event_buckets: list[int] | None = None  # per error bucket: the errors' denominator


def collect(ctx) -> FullHealthMetrics:
    """Run the gate's queries; with a flag ledger, telemetry is also checked against it."""
    from ..config.ledger import v3_off_intervals
    from ..telemetry.arrivals import fetch_arrivals
    from ..telemetry.metrics import (
        Window,
        fetch_active_starts_while_off,
        fetch_event_buckets,
        fetch_max_per_hour,
        fetch_outcome_event_buckets,
        fetch_outcomes,
        fetch_traffic,
        summarize_outcomes,
    )
    from ..telemetry.phase import clock_from_stretch, fetch_active_stretch, resolve_phase_clock
    from ..telemetry.quality import fetch_telemetry_quality

    connection, taxonomy, window, params = ctx.connection, ctx.taxonomy, ctx.window, ctx.params
    changes = ctx.ledger()
    traffic = fetch_traffic(connection, taxonomy, window)
    lookback = params.intensive_period  # the arrival rate a silent window is judged against
    off = v3_off_intervals(changes, window.start, window.end, params.ledger_drain)
    events = taxonomy["coordinator"]["outcomes"]
    stretch = fetch_active_stretch(
        connection, taxonomy, Window.ending(window.end, params.intensive_period)
    )
    phase = resolve_phase_clock(list(changes), window.end, lambda: clock_from_stretch(stretch))
    widest = full_mode_window(window, phase, params.intensive_period) or window
    # One query for both windows: buckets as long as the window, aligned to the as-of, so the
    # last bucket is the last hour (a booking's latest outcome there is the same either way).
    outcomes = fetch_outcomes(connection, taxonomy, widest, params.window, params.outcome_grace)
    last_hour = outcomes[outcomes["bucket_start"] == window.start]
    errors = fetch_event_buckets(connection, taxonomy, window, params.error_bucket, events["error"])
    max_opens, opens = fetch_max_per_hour(connection, taxonomy, window, events["circuit_open"])
    return FullHealthMetrics(
        window=window,
        outcomes=summarize_outcomes(last_hour),
        phase=phase,
        full_mode=None if widest is window else (widest, summarize_outcomes(outcomes)),
        error_buckets=errors["events"].tolist(),
        outcome_event_buckets=fetch_outcome_event_buckets(
            connection, taxonomy, window, params.error_bucket
        ),
        circuit_opens_max_per_hour=max_opens,
        circuit_opens=opens,
        traffic=traffic,
        arrivals_before=None
        if traffic.active_starts or traffic.bookings_with_activity
        else fetch_arrivals(connection, taxonomy, Window(window.start - lookback, window.start)),
        flags=None
        if off is None
        else fetch_active_starts_while_off(connection, taxonomy, window, off),
        quality=fetch_telemetry_quality(connection, taxonomy, window),
        frames={"outcomes": last_hour, "errors": errors, "stretch": stretch},
    )


def full_mode_window(window: Window, phase: PhaseClock, intensive: timedelta) -> Window | None:
    """Full mode so far, at most the intensive period, when it reaches back before the window."""
    from ..telemetry.metrics import Window

    if phase.phase != "full" or phase.started is None:
        return None
    start = max(phase.started, window.end - intensive)
    return Window(start, window.end) if start < window.start else None


def silence_of(metrics: FullHealthMetrics, confidence: float) -> Silence | None:
    """A window with nothing at all, judged against the arrivals before it (arrivals.py)."""
    from ..telemetry.arrivals import judge_silence

    before = metrics.arrivals_before
    if before is None:
        return None
    window = metrics.window
    return judge_silence(before.count, before.span, window.start, window.end, confidence)


def samples(metrics: FullHealthMetrics, rate) -> list[Sample]:
    """The rate (a function of an OutcomeSummary) over the last hour, and over full mode so far."""
    found = [sample_of(rate(metrics.outcomes), metrics.window, "the last hour")]
    if metrics.full_mode is not None:
        longer, summary = metrics.full_mode
        found.append(sample_of(rate(summary), longer, full_mode_label(longer, metrics.phase)))
    return found


def sample_of(proportion: Proportion, window: Window, label: str) -> Sample:
    length = window.end - window.start
    return Sample(proportion, label, length / timedelta(hours=1), window.end)


def full_mode_label(window: Window, phase: PhaseClock) -> str:
    length = format_duration(window.end - window.start, rough=True)
    if phase.at_least or (phase.started is not None and phase.started < window.start):
        return f"the last {length} of full mode (its intensive period)"
    return f"full mode so far ({length})"


def success_of(summary: OutcomeSummary) -> Proportion:
    return summary.success


def manual_review_of(summary: OutcomeSummary) -> Proportion:
    return summary.manual_review_rate


def evaluate(metrics: FullHealthMetrics, params: FullHealthParams) -> list[Check]:
    """The runbook's red flags, each a check; pure."""
    from ..telemetry.quality import assess_telemetry_quality

    success = success_rule(params.success_rate_min, params)
    manual_review = manual_review_rule(params.manual_review_rate_max, params, strict=False)
    checks = [
        assess_red_flag(success, samples(metrics, success_of)),
        assess_red_flag(manual_review, samples(metrics, manual_review_of)),
        assess_sustained_errors(
            metrics.error_buckets,
            params.sustained_error_buckets,
            params.error_bucket,
            outcome_counts=metrics.outcome_event_buckets,
            share=params.sustained_error_share,
        ),
        assess_circuit_opens(
            metrics.circuit_opens_max_per_hour,
            metrics.circuit_opens,
            params.circuit_open_max_per_hour,
        ),
        assess_v3_traffic(metrics.traffic, silence_of(metrics, params.confidence)),
        assess_telemetry_coverage(metrics.traffic),
        assess_telemetry_quality(metrics.quality),
    ]
    if metrics.flags is not None:
        checks.append(assess_flags_vs_telemetry(metrics.flags))
    return checks


def advice(result: Assessment) -> list[str]:
    """On FAIL, the runbook's immediate rollback: rollback first, investigate later."""
    if result.status is not Status.FAIL:
        return []
    return plan_commands("rollback", result.env)
