"""scale: may FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL go up by one? (Phase 2, Step 5)

"ONLY after 48+ hours of stable operation with success rate >= 97%", one step at a time,
"monitor for 6+ hours before next increase", "max recommended: 5". Checks:

- max_parallel_below_cap: the current value is known (the `max_parallel` parameter,
  else the production flag ledger; unknown is INCONCLUSIVE) and below `max_parallel_cap`
  (at or above it is FAIL).
- soak: full mode on for `soak` (ledger, else telemetry; INCONCLUSIVE with the
  time it can pass).
- success_rate: >= `success_rate_min` over the `window` (small-sample rule, `min_decided`).
- time_since_last_change: the ledger's last MAX_PARALLEL change at least
  `min_time_between_changes` ago (INCONCLUSIVE with the time it may go up). Without a
  ledger entry the time of the last change is unknown, because no telemetry shows a flag
  value or a deploy: INCONCLUSIVE, even with `max_parallel` given; record the changes.

On PASS the verdict's actions are the runbook's commands for the next value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from ..config.params import Duration, SuccessRateParams
from ..core.verdict import Check, Status
from ..rules.parallel import (
    ParallelSetting,
    assess_change_spacing,
    assess_max_parallel,
    current_max_parallel,
    raise_commands,
)
from ..rules.rates import Sample, assess_criterion, success_rule
from ..rules.soak import assess_soak
from .base import Assessment, GateMetrics, GateSpec

if TYPE_CHECKING:
    from ..telemetry.metrics import OutcomeSummary
    from ..telemetry.phase import PhaseClock

# The notebook's trend of the success rate (the verdict judges the whole window).
TREND_BUCKET = timedelta(hours=1)


class ScaleParams(SuccessRateParams):
    """params/defaults.yaml, gates.scale."""

    max_parallel_cap: Annotated[int, Field(ge=1, le=20)]
    min_time_between_changes: Duration
    max_parallel: Annotated[int, Field(ge=1, le=20)] | None = None


SPEC = GateSpec(
    id="scale",
    runbook_step="Phase 2, Step 5: scale concurrency (MAX_PARALLEL +1 after 48h stable, "
    "6h between increases, cap 5)",
    window="48h stable, 6h since last change",
    env="production",
    params_model=ScaleParams,
)


@dataclass(frozen=True)
class ScaleMetrics(GateMetrics):
    as_of: datetime
    setting: ParallelSetting
    phase: PhaseClock
    outcomes: OutcomeSummary


def collect(ctx) -> ScaleMetrics:
    """Run the gate's queries; the flag ledger gives MAX_PARALLEL and full mode's start."""
    from ..telemetry.metrics import Window, fetch_outcomes, gate_rates_by_bucket, summarize_outcomes
    from ..telemetry.phase import clock_from_stretch, fetch_active_stretch, resolve_phase_clock
    from ..telemetry.stability import lookback_of

    connection, taxonomy, window, params = ctx.connection, ctx.taxonomy, ctx.window, ctx.params
    as_of, changes = window.end, ctx.ledger()
    # full mode's start is searched for over the soak plus the window before the as-of
    stretch = fetch_active_stretch(connection, taxonomy, Window.ending(as_of, lookback_of(params)))
    outcomes = fetch_outcomes(connection, taxonomy, window, TREND_BUCKET, params.outcome_grace)
    rates = gate_rates_by_bucket(outcomes, window, TREND_BUCKET, params)
    return ScaleMetrics(
        as_of=as_of,
        setting=current_max_parallel(params.max_parallel, changes, as_of),
        phase=resolve_phase_clock(changes, as_of, lambda: clock_from_stretch(stretch)),
        outcomes=summarize_outcomes(outcomes),
        frames={"outcomes": outcomes, "rates": rates, "stretch": stretch},
    )


def evaluate(metrics: ScaleMetrics, params: ScaleParams) -> list[Check]:
    """The runbook's conditions for one more step of concurrency; pure."""

    as_of = metrics.as_of
    return [
        assess_max_parallel(metrics.setting, params.max_parallel_cap),
        assess_soak(metrics.phase, as_of, params.soak),
        assess_criterion(
            success_rule(params.success_rate_min, params),
            Sample.ending(metrics.outcomes.success, as_of, params.window),
        ),
        assess_change_spacing(metrics.setting.last_change, as_of, params.min_time_between_changes),
    ]


def advice(result: Assessment) -> list[str]:
    """On PASS the commands for the next value; otherwise why not, as comments."""

    status, setting, params = result.status, result.metrics.setting, result.params
    if status is Status.PASS and setting.value is not None:
        return raise_commands(
            setting.value, params.max_parallel_cap, result.env, params.min_time_between_changes
        )
    blocking = [c.id for c in result.checks if c.status not in (Status.PASS, Status.WARN)]
    if not blocking:
        return []
    return [f"# Do not raise MAX_PARALLEL now ({status}): see {', '.join(blocking)} above"]
