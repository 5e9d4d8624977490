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

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field
from sqlalchemy.engine import Connection

from ..config.ledger import FlagChange
from ..config.params import Duration, GateParams, Rate
from ..core.verdict import Check, Status
from ..rules.rates import Sample, assess_criterion, success_rule
from ..telemetry.checklist import (
    ParallelSetting,
    PhaseStart,
    assess_change_spacing,
    assess_max_parallel,
    assess_soak,
    current_max_parallel,
    full_mode_start,
    raise_commands,
)
from ..telemetry.metrics import (
    OutcomeSummary,
    Window,
    fetch_outcomes,
    rates_by_bucket,
    summarize_outcomes,
)
from ..telemetry.phase import fetch_active_stretch
from . import GateSpec

# The notebook's trend of the success rate (the verdict judges the whole window).
TREND_BUCKET = timedelta(hours=1)


class ScaleParams(GateParams):
    soak: Duration
    success_rate_min: Rate
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
class ScaleMetrics:
    setting: ParallelSetting
    phase: PhaseStart
    outcomes: OutcomeSummary


def lookback(as_of: datetime, params) -> Window:
    """Telemetry searched for full mode's start: the soak plus the window before the as-of."""
    return Window.ending(as_of, params.soak + params.window)


def collect(
    connection: Connection,
    taxonomy: dict,
    window: Window,
    params: ScaleParams,
    changes: list[FlagChange],
):
    """Run the gate's queries; returns the metrics and the frames the notebook shows."""
    as_of = window.end
    stretch = fetch_active_stretch(connection, taxonomy, lookback(as_of, params))
    outcomes = fetch_outcomes(connection, taxonomy, window, TREND_BUCKET, params.outcome_grace)
    metrics = ScaleMetrics(
        setting=current_max_parallel(params.max_parallel, changes, as_of),
        phase=full_mode_start(changes, stretch, as_of),
        outcomes=summarize_outcomes(outcomes),
    )
    rates = rates_by_bucket(
        outcomes,
        window,
        TREND_BUCKET,
        confidence=params.confidence,
        alone_min_decided=params.red_flag_min_decided,
    )
    return metrics, {"outcomes": outcomes, "rates": rates, "stretch": stretch}


def evaluate(metrics: ScaleMetrics, params: ScaleParams, as_of: datetime) -> list[Check]:
    """The runbook's conditions for one more step of concurrency; pure."""
    return [
        assess_max_parallel(metrics.setting, params.max_parallel_cap),
        assess_soak(metrics.phase, as_of, params.soak),
        assess_criterion(
            success_rule(params.success_rate_min, params),
            Sample.ending(metrics.outcomes.success, as_of, params.window),
        ),
        assess_change_spacing(metrics.setting.last_change, as_of, params.min_time_between_changes),
    ]


def advice(
    status: Status, env: str, setting: ParallelSetting, params: ScaleParams, checks: list[Check]
) -> list[str]:
    """On PASS the commands for the next value; otherwise why not, as comments."""
    if status is Status.PASS and setting.value is not None:
        return raise_commands(
            setting.value, params.max_parallel_cap, env, params.min_time_between_changes
        )
    blocking = [c.id for c in checks if c.status not in (Status.PASS, Status.WARN)]
    if not blocking:
        return []
    return [f"# Do not raise MAX_PARALLEL now ({status}): see {', '.join(blocking)} above"]


def assess(gate) -> list[Check]:
    """The gate's checks at `gate.as_of`, as its notebook computes them (used by replay)."""
    metrics, _ = collect(gate.connection, gate.taxonomy, gate.window, gate.params, gate.ledger())
    return evaluate(metrics, gate.params, gate.as_of)


def actions(status: Status, env: str) -> list[str]:
    """Without the run's MAX_PARALLEL no command can be rendered: the notebook passes
    `advice` to gate.finish, which gives the commands for the next value on PASS."""
    return []
