"""full-health: the runbook's red flags over the last hour (Phase 2, Step 3)."""

from dataclasses import dataclass

from ..config import Duration, GateParams, Rate
from ..flags import plan_commands
from ..ledger import FlagChange, v3_off_intervals
from ..metrics import (
    FlagDisagreement,
    OutcomeSummary,
    Traffic,
    Window,
    fetch_active_starts_while_off,
    fetch_event_buckets,
    fetch_max_per_hour,
    fetch_outcomes,
    fetch_traffic,
    summarize_outcomes,
)
from ..quality import TelemetryQuality, assess_telemetry_quality, fetch_telemetry_quality
from ..rules import (
    assess_circuit_opens,
    assess_flags_vs_telemetry,
    assess_rate,
    assess_sustained_errors,
    assess_telemetry_coverage,
    assess_v3_traffic,
)
from ..verdict import Check, Status
from . import GateSpec


class FullHealthParams(GateParams):
    success_rate_min: Rate
    manual_review_rate_max: Rate
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
class FullHealthMetrics:
    """Everything the red-flag rules look at, for one window."""

    outcomes: OutcomeSummary
    error_buckets: list[int]
    circuit_opens_max_per_hour: int
    circuit_opens: int
    traffic: Traffic
    flags: FlagDisagreement | None = None  # None: no flag ledger to compare with
    quality: TelemetryQuality = TelemetryQuality()


def collect(
    connection,
    taxonomy: dict,
    window: Window,
    params: FullHealthParams,
    changes: list[FlagChange] = (),
):
    """Run the gate's queries; returns the metrics and the frames the notebook shows.

    With a flag ledger (`changes`), telemetry is also checked against it.
    """
    off = v3_off_intervals(list(changes), window.start, window.end, params.ledger_drain)
    events = taxonomy["coordinator"]["outcomes"]
    outcomes = fetch_outcomes(
        connection, taxonomy, window, params.error_bucket, params.outcome_grace
    )
    errors = fetch_event_buckets(connection, taxonomy, window, params.error_bucket, events["error"])
    max_opens, opens = fetch_max_per_hour(connection, taxonomy, window, events["circuit_open"])
    metrics = FullHealthMetrics(
        outcomes=summarize_outcomes(outcomes),
        error_buckets=errors["events"].tolist(),
        circuit_opens_max_per_hour=max_opens,
        circuit_opens=opens,
        traffic=fetch_traffic(connection, taxonomy, window),
        flags=None
        if off is None
        else fetch_active_starts_while_off(connection, taxonomy, window, off),
        quality=fetch_telemetry_quality(connection, taxonomy, window),
    )
    return metrics, {"outcomes": outcomes, "errors": errors}


def evaluate(metrics: FullHealthMetrics, params: FullHealthParams) -> list[Check]:
    """The runbook's red flags, each a check; pure."""
    small_sample = {
        "min_decided": params.min_decided,
        "red_flag_min_decided": params.red_flag_min_decided,
    }
    checks = [
        assess_rate(
            "success_rate",
            "success rate",
            metrics.outcomes.success,
            params.success_rate_min,
            at_least=True,
            **small_sample,
        ),
        assess_rate(
            "manual_review_rate",
            "manual review rate",
            metrics.outcomes.manual_review_rate,
            params.manual_review_rate_max,
            at_least=False,
            **small_sample,
        ),
        assess_sustained_errors(
            metrics.error_buckets, params.sustained_error_buckets, params.error_bucket
        ),
        assess_circuit_opens(
            metrics.circuit_opens_max_per_hour,
            metrics.circuit_opens,
            params.circuit_open_max_per_hour,
        ),
        assess_v3_traffic(metrics.traffic),
        assess_telemetry_coverage(metrics.traffic),
        assess_telemetry_quality(metrics.quality),
    ]
    if metrics.flags is not None:
        checks.append(assess_flags_vs_telemetry(metrics.flags))
    return checks


def assess(gate) -> list[Check]:
    """The gate's checks at `gate.as_of`, as its notebook computes them (used by replay)."""
    metrics, _ = collect(gate.connection, gate.taxonomy, gate.window, gate.params, gate.ledger())
    return evaluate(metrics, gate.params)


def actions(status: Status, env: str) -> list[str]:
    """On FAIL, the runbook's immediate rollback: rollback first, investigate later."""
    if status is not Status.FAIL:
        return []
    return plan_commands("rollback", env)
