"""success: the runbook's Success Criteria over the last 48h of full mode.

Checks, each over the `window` (48h) before the as-of:

- soak: full mode on for `soak` (48h), from the flag ledger, else telemetry:
  a rate "sustained for 48 hours" needs 48 hours of V3 (INCONCLUSIVE until then, with
  the time it can pass).
- success_rate: >= `success_rate_min` (97%), a criterion (rates.py) on `min_decided` (50).
- success_sustained: "sustained" also means no stretch of 1 to 6 `trend_bucket`s (1h) of
  the window is confidently below `red_flag_success_rate_min` (90%, full-health's red
  flag), given how many stretches were examined; a 48h average can hide a bad hour.
- manual_review_rate: strictly below `manual_review_rate_max` (1% exactly is not below).
- sustained_errors: coordinator.error in `sustained_error_buckets` consecutive buckets.
- circuit_opens: "no circuit breaker trips": any coordinator.circuit_open is a FAIL.
- state_transitions: every observed (from, to) is allowed by the taxonomy's state machine.
- stuck_bookings: no booking's last transition is non-terminal and older than
  `stuck_after`; a booking whose retry was never rescheduled (shipped code) is stuck.
- attest.no_customer_reports, attest.confirmation_emails: human items, missing is
  INCONCLUSIVE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..config.params import Attestations, Duration, SuccessCriteriaParams
from ..core.stats import Proportion, percent
from ..core.timefmt import format_duration
from ..core.verdict import Check, Status
from ..rules.checklist import RunbookChecklist
from ..rules.rates import (
    Sample,
    assess_criterion,
    assess_red_flag_stretches,
    manual_review_rule,
    success_rule,
)
from ..rules.signals import assess_attestations, assess_no_circuit_opens, assess_sustained_errors
from ..rules.soak import assess_soak
from .base import Assessment, GateMetrics, GateSpec

if TYPE_CHECKING:
    import pandas as pd

    from ..telemetry.metrics import OutcomeSummary, Window
    from ..telemetry.phase import PhaseClock
    from ..telemetry.transitions import StuckBookings, TransitionCount

ATTESTATIONS = {
    "no_customer_reports": "No customer-reported issues",
    "confirmation_emails": "Booking confirmation emails sent properly",
}

# The runbook's Success Criteria as it wrote them, and the checks that decide each item:
# the one list the notebook, the banner and verification.md tick.
CHECKLIST = RunbookChecklist.of(
    "Success Criteria",
    [
        ("Success rate ≥97% sustained for 48 hours",
         ("soak", "success_rate", "success_sustained")),
        ("Manual review rate <1%", ("manual_review_rate",)),
        ("No sustained errors or circuit breaker trips", ("sustained_errors", "circuit_opens")),
        ("State machine transitions working correctly", ("state_transitions", "stuck_bookings")),
        ("No customer-reported issues", ("attest.no_customer_reports",)),
        ("Booking confirmation emails sent properly", ("attest.confirmation_emails",)),
    ],
)  # fmt: skip


class SuccessAttestations(Attestations):
    no_customer_reports: str | None = None
    confirmation_emails: str | None = None


class SuccessParams(SuccessCriteriaParams):
    """params/defaults.yaml, gates.success."""

    trend_bucket: Duration
    stuck_after: Duration
    attest: SuccessAttestations = SuccessAttestations()


SPEC = GateSpec(
    id="success",
    runbook_step="Success Criteria: success >= 97% sustained 48h, manual review < 1%, no "
    "sustained errors or breaker trips, state machine correct, customers and emails fine",
    window="48h",
    env="production",
    params_model=SuccessParams,
)


@dataclass(frozen=True)
class SuccessMetrics(GateMetrics):
    as_of: datetime
    phase: PhaseClock
    outcomes: OutcomeSummary
    buckets: list[tuple[datetime, Proportion]]  # success per trend bucket
    error_buckets: list[int]
    circuit_opens_max_per_hour: int
    circuit_opens: int
    transitions: list[TransitionCount]
    stuck: StuckBookings
    allowed: dict  # the taxonomy's state machine: the transitions it allows
    outcome_event_buckets: list[int] | None = None  # per error bucket: the errors' denominator
    attested_at: datetime | None = None  # when the attestations are recorded (default: as-of)


def success_by_bucket(
    frame: pd.DataFrame, window: Window, bucket
) -> list[tuple[datetime, Proportion]]:
    """(bucket start, success proportion) for every bucket of the window, empty ones too."""
    from ..telemetry.metrics import bucket_starts, summarize_outcomes

    result = []
    for start in bucket_starts(window, bucket):
        summary = summarize_outcomes(frame[frame["bucket_start"] == start])
        result.append((start, summary.success))
    return result


def collect(ctx) -> SuccessMetrics:
    """Run the gate's queries; the flag ledger dates full mode (else telemetry)."""
    from ..telemetry.metrics import (
        Window,
        fetch_event_buckets,
        fetch_max_per_hour,
        fetch_outcome_event_buckets,
        fetch_outcomes,
        summarize_outcomes,
    )
    from ..telemetry.phase import clock_from_stretch, fetch_active_stretch, resolve_phase_clock
    from ..telemetry.stability import lookback_of
    from ..telemetry.transitions import fetch_stuck_bookings, fetch_transition_counts

    connection, taxonomy, window, params = ctx.connection, ctx.taxonomy, ctx.window, ctx.params
    as_of = window.end
    events = taxonomy["coordinator"]["outcomes"]
    # full mode's start is searched for over the soak plus the window before the as-of
    stretch = fetch_active_stretch(connection, taxonomy, Window.ending(as_of, lookback_of(params)))
    outcomes = fetch_outcomes(
        connection, taxonomy, window, params.trend_bucket, params.outcome_grace
    )
    errors = fetch_event_buckets(connection, taxonomy, window, params.error_bucket, events["error"])
    max_opens, opens = fetch_max_per_hour(connection, taxonomy, window, events["circuit_open"])
    hourly = {
        name: fetch_event_buckets(connection, taxonomy, window, params.trend_bucket, events[name])
        for name in ("error", "circuit_open")
    }
    return SuccessMetrics(
        as_of=as_of,
        phase=resolve_phase_clock(ctx.ledger(), as_of, lambda: clock_from_stretch(stretch)),
        outcomes=summarize_outcomes(outcomes),
        buckets=success_by_bucket(outcomes, window, params.trend_bucket),
        error_buckets=errors["events"].tolist(),
        outcome_event_buckets=fetch_outcome_event_buckets(
            connection, taxonomy, window, params.error_bucket
        ),
        circuit_opens_max_per_hour=max_opens,
        circuit_opens=opens,
        transitions=fetch_transition_counts(connection, taxonomy, window),
        stuck=fetch_stuck_bookings(connection, taxonomy, window, params.stuck_after),
        allowed=taxonomy["state_machine"]["allowed"],
        attested_at=ctx.attested_at,
        frames={"outcomes": outcomes, "errors": errors, "stretch": stretch, **hourly},
    )


def evaluate(metrics: SuccessMetrics, params: SuccessParams) -> list[Check]:
    """The runbook's success criteria, each a check; pure."""
    from ..telemetry.transitions import assess_stuck, assess_transitions

    as_of = metrics.as_of
    success = success_rule(params.success_rate_min, params)
    manual_review = manual_review_rule(params.manual_review_rate_max, params, strict=True)
    red_flag = success_rule(params.red_flag_success_rate_min, params, params.red_flag_min_decided)
    return [
        assess_soak(metrics.phase, as_of, params.soak),
        assess_criterion(success, Sample.ending(metrics.outcomes.success, as_of, params.window)),
        assess_red_flag_stretches(
            "success_sustained",
            f"no stretch of {format_duration(params.trend_bucket)} buckets with success rate "
            f"confidently below {percent(params.red_flag_success_rate_min)} (red flag)",
            [(start, {red_flag.name: proportion}) for start, proportion in metrics.buckets],
            params.trend_bucket,
            [red_flag],
            min_decided=params.min_decided,
            alone_min_decided=params.red_flag_min_decided,
        ),
        assess_criterion(
            manual_review, Sample.ending(metrics.outcomes.manual_review_rate, as_of, params.window)
        ),
        assess_sustained_errors(
            metrics.error_buckets,
            params.sustained_error_buckets,
            params.error_bucket,
            seen=metrics.outcomes.bookings,
            outcome_counts=metrics.outcome_event_buckets,
            share=params.sustained_error_share,
        ),
        assess_no_circuit_opens(
            metrics.circuit_opens_max_per_hour,
            metrics.circuit_opens,
            seen=metrics.outcomes.bookings,
        ),
        assess_transitions(metrics.transitions, metrics.allowed),
        assess_stuck(metrics.stuck, params.stuck_after),
        *assess_attestations(params.attest, ATTESTATIONS, metrics.attested_at or as_of),
    ]


def advice(result: Assessment) -> list[str]:
    """On PASS, the runbook's Post-Rollout Actions; on FAIL, where to look first."""
    env = result.env
    if result.status is Status.PASS:
        return [
            "# Success criteria met. Post-rollout actions (runbook):",
            "# 1. Update verification.md with the production metrics: rollout-gates report "
            f"--env {env}",
            "# 2. File the legacy cleanup task (server/jobs/auto-assign.ts while loop and "
            "helpers, auto_assign.* telemetry, unused server/capacity/planner-* helpers); "
            f"check readiness after 7 days with: rollout-gates run cleanup --env {env}",
            "# 3. Mark V3 as default in .env.example, update architecture docs, remove "
            "shadow-mode guidance",
        ]
    if result.status is Status.FAIL:
        return [
            "# Success criteria not met: no post-rollout cleanup yet. Investigate the failing",
            "# checks above; if a red flag is live, the runbook says roll back first:",
            f"rollout-gates run full-health --env {env}",
        ]
    return []
