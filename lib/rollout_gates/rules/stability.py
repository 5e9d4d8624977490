"""Stable for 48 hours: the rules shared by `prerequisites` (staging) and `full-extended`.

The runbook asks the same question twice: staging "stable for 48+ hours with success
rates >= 97% and manual review rates < 1%, no sustained errors or circuit breaker
trips" before production starts, and production over its 48 hours of extended
monitoring. Both gates judge, over their window:

- soak: V3 (full mode) on for at least `soak` before the as-of (soak.py), on the phase
  clock (telemetry/phase.py: the flag ledger, else telemetry);
- the success rate (>= limit) and the manual review rate (strictly < limit) of the
  window, as criteria (rates.py): PASS on the point estimate with `min_decided`, FAIL only
  when confidently beyond;
- no red-flag stretch: no run of 1 to 6 hourly buckets aligned to the as-of confidently
  below the red-flag success limit or above the manual review one (the runbook's Phase 2
  red flags), each judged given how many stretches were examined;
- no sustained coordinator.error, and no coordinator.circuit_open at all.

Pure: the metrics (telemetry/stability.py's StabilityMetrics) are read, not imported.
"""

from datetime import datetime, timedelta

from ..config.params import Rate, SuccessCriteriaParams
from ..core.stats import percent
from ..core.timefmt import format_duration
from ..core.verdict import Check
from .rates import (
    RateRule,
    Sample,
    assess_criterion,
    assess_red_flag_stretches,
    manual_review_rule,
    success_rule,
)
from .signals import assess_no_circuit_opens, assess_sustained_errors
from .soak import assess_soak

# The runbook's red flags are judged hour by hour (full-health's window).
RED_FLAG_BUCKET = timedelta(hours=1)


class StabilityParams(SuccessCriteriaParams):
    """The parameters both stability gates share (params/defaults.yaml): the success
    criteria's, and the red flag of the manual review rate."""

    red_flag_manual_review_rate_max: Rate


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


def evaluate(metrics, params: StabilityParams) -> list[Check]:
    """The stability checks, in the runbook's order, on telemetry.stability.StabilityMetrics."""
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
