"""full-extended: 48 hours of extended monitoring in production (Phase 2, Step 4).

The runbook: "Continue monitoring every 6-12 hours. Run full observability query suite.
Save results to artifacts folder." Its observability-queries.sql is not available, so
the suite is reconstructed in the runbook's own style under queries/runbook/ (each file
says so, and what its numbers do and do not mean), shown beside the tool's outcome-based
metrics and 48h trends. The verdict is rules/stability.py's, on production: the same checks
and thresholds as `prerequisites`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config.flags import plan_commands
from ..config.params import Duration
from ..core.verdict import Status
from ..rules.stability import StabilityParams
from ..rules.stability import evaluate as evaluate  # the stability checks, on production
from .base import Assessment, GateSpec

if TYPE_CHECKING:
    import pandas as pd

    from ..telemetry.metrics import Window
    from ..telemetry.stability import StabilityMetrics


class FullExtendedParams(StabilityParams):
    """params/defaults.yaml, gates.full-extended."""

    trend_bucket: Duration


SPEC = GateSpec(
    id="full-extended",
    runbook_step="Phase 2, Step 4: extended monitoring (48 hours): full observability query "
    "suite, results saved to the artifacts folder",
    window="48h",
    env="production",
    params_model=FullExtendedParams,
)


# --- the runbook's query suite ---------------------------------------------------------------


@dataclass(frozen=True)
class RunbookQuery:
    """queries/runbook/<name>.sql: a reconstruction of one query of the runbook's suite."""

    name: str
    title: str
    caveat: str


RUNBOOK_SUITE = (
    RunbookQuery(
        "success_error_ratio",
        "Success/error ratio",
        "counts rows, not bookings: any row without context.reason is a success (start, "
        "lock_acquired, error, circuit_open too), any retry, manual review or noop a failure.",
    ),
    RunbookQuery(
        "event_summary",
        "Event summary",
        "rows, not bookings: a normal success writes 4 coordinator rows and 5 transitions; "
        "a lost insert leaves no trace.",
    ),
    RunbookQuery(
        "retry_reasons",
        "Retry reasons",
        "rows, not bookings; free-text reasons split one cause over many spellings; a retry is "
        "never rescheduled, so an unanswered one is an unresolved booking.",
    ),
    RunbookQuery(
        "manual_review_by_restaurant",
        "Manual review by restaurant",
        "the percent divides manual reviews by confirmed rows, not by all outcomes: it reads high.",
    ),
    RunbookQuery(
        "state_transitions",
        "State transitions",
        "counts transitions without checking them against the allowed table; stuck bookings "
        "do not show.",
    ),
    RunbookQuery(
        "error_details",
        "Error details",
        "rows per message, not bookings; whether errors are sustained is not visible here.",
    ),
    RunbookQuery(
        "lock_contention",
        "Lock contention",
        "clock hours, the first and last partial; a contention decides nothing and is not a "
        "failure.",
    ),
    RunbookQuery(
        "circuit_trips",
        "Circuit breaker trips",
        "there is no trip event: it counts bookings an open breaker rejected, per process, "
        "per clock hour.",
    ),
    RunbookQuery(
        "timing_percentiles",
        "Timing p50/p95",
        "per call, not per booking; error and circuit_open report no duration; non-numeric "
        "values are left out.",
    ),
    RunbookQuery(
        "hourly_event_rate",
        "Hourly event rate",
        "rows, not bookings; clock hours, the first and last partial; an hour without rows "
        "is missing, not zero.",
    ),
)


def run_runbook_suite(connection, window: Window) -> dict[str, pd.DataFrame]:
    """Every query of the suite over the gate's window, by name."""
    from ..telemetry.metrics import fetch_frame

    return {
        query.name: fetch_frame(connection, f"runbook/{query.name}", **window.binds())
        for query in RUNBOOK_SUITE
    }


# --- collection and verdict ------------------------------------------------------------------


def collect(ctx) -> StabilityMetrics:
    """Run the verdict's queries (telemetry/stability.py's, on production), with the frames."""
    from ..telemetry import stability

    return stability.collect(ctx)


def advice(result: Assessment) -> list[str]:
    """FAIL: the runbook's rollback plan ("If issues arise ... immediately execute rollback")."""
    status, env = result.status, result.env
    if status is Status.FAIL:
        return [
            "# Runbook, Contact & Escalation: if issues arise during the production rollout,",
            "# execute the rollback plan first, investigate later.",
            *result.reasons(),
            *plan_commands("rollback", env),
        ]
    if status is Status.PASS:
        return [
            "# 48 hours of extended monitoring passed: keep this run's tables/ and figures/",
            "# as the phase-2 artifacts. Whether MAX_PARALLEL may go up by one is the scale",
            "# gate's call:",
            f"rollout-gates run scale --env {env}",
        ]
    if status is Status.INCONCLUSIVE:
        return [
            "# Not enough evidence yet for 48 hours of stable operation.",
            *result.reasons(),
            f"rollout-gates run full-extended --env {env}",
        ]
    return []
