"""full-extended: 48 hours of extended monitoring in production (Phase 2, Step 4).

The runbook: "Continue monitoring every 6-12 hours. Run full observability query suite.
Save results to artifacts folder." Its observability-queries.sql is not available, so
the suite is reconstructed in the runbook's own style under queries/runbook/ (each file
says so, and what its numbers do and do not mean), shown beside the tool's outcome-based
metrics and 48h trends. The verdict is stability.py's, on production: the same checks
and thresholds as `prerequisites`.
"""

from dataclasses import dataclass

import pandas as pd

from ..config.flags import plan_commands
from ..config.params import Duration
from ..core.verdict import Check, Status
from ..present.plots import bucket_centres, new_figure
from ..telemetry.metrics import (
    Window,
    bucket_starts,
    fetch_event_buckets,
    fetch_frame,
    fetch_outcomes,
)
from ..telemetry.metrics import rates_by_bucket as rates_per_bucket
from ..telemetry.stability import (
    RED_FLAG_BUCKET,
    StabilityFrames,
    StabilityMetrics,
    StabilityParams,
)
from ..telemetry.stability import collect as collect_stability
from ..telemetry.stability import evaluate as evaluate_stability
from . import GateSpec


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
    return {
        query.name: fetch_frame(connection, f"runbook/{query.name}", **window.binds())
        for query in RUNBOOK_SUITE
    }


# --- collection and verdict ------------------------------------------------------------------


def collect(connection, taxonomy: dict, window: Window, params: FullExtendedParams, changes):
    """Run the verdict's queries; `changes` is the production flag ledger ([] if none)."""
    return collect_stability(connection, taxonomy, window, params, changes, SPEC.env)


def evaluate(metrics: StabilityMetrics, params: FullExtendedParams) -> list[Check]:
    return evaluate_stability(metrics, params)


def assess(gate) -> list[Check]:
    """The gate's checks at `gate.as_of`, as its notebook computes them (used by replay)."""
    metrics, _ = collect(gate.connection, gate.taxonomy, gate.window, gate.params, gate.ledger())
    return evaluate(metrics, gate.params)


def actions(status: Status, env: str, checks: list[Check] | None = None) -> list[str]:
    """FAIL: the runbook's rollback plan ("If issues arise ... immediately execute rollback")."""
    reasons = [f"# {c.id}: {c.detail}" for c in checks or [] if c.status is status]
    if status is Status.FAIL:
        return [
            "# Runbook, Contact & Escalation: if issues arise during the production rollout,",
            "# execute the rollback plan first, investigate later.",
            *reasons,
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
            *reasons,
            f"rollout-gates run full-extended --env {env}",
        ]
    return []


# --- trends ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtendedTrends:
    """Per trend bucket over the window: rates, errors, circuit opens, durations, retries."""

    rates: pd.DataFrame
    errors: pd.DataFrame
    circuit_opens: pd.DataFrame
    durations: pd.DataFrame
    retries: pd.DataFrame  # one row per bucket and reason


def fetch_durations(connection, taxonomy: dict, window: Window, bucket) -> pd.DataFrame:
    """p50/p95 of context.duration_ms per bucket, every bucket of the window present."""
    coordinator = taxonomy["coordinator"]
    frame = fetch_frame(
        connection,
        "full_extended_durations",
        **window.binds(),
        bucket=bucket,
        coordinator_source=coordinator["source"],
        outcome_types=list(coordinator["outcomes"].values()),
    )
    frame = every_bucket(frame, window, bucket, {"calls": 0, "unreadable": 0})
    return frame.astype(
        {"calls": "int64", "unreadable": "int64", "p50_ms": "float64", "p95_ms": "float64"}
    )


def fetch_retry_reasons(connection, taxonomy: dict, window: Window, bucket) -> pd.DataFrame:
    coordinator = taxonomy["coordinator"]
    frame = fetch_frame(
        connection,
        "full_extended_retry_reasons",
        **window.binds(),
        bucket=bucket,
        coordinator_source=coordinator["source"],
        retry_type=coordinator["outcomes"]["retry"],
    )
    return frame.astype({"retries": "int64"})


def every_bucket(frame: pd.DataFrame, window: Window, bucket, zeros: dict) -> pd.DataFrame:
    """One row per bucket of the window (aligned to its end); missing buckets get `zeros`."""
    rows = {row["bucket_start"]: row for row in frame.to_dict("records")}
    columns = [c for c in frame.columns if c != "bucket_start"]
    filled = []
    for start in bucket_starts(window, bucket):
        row = rows.get(start, {})
        filled.append({"bucket_start": start} | {c: row.get(c, zeros.get(c)) for c in columns})
    return pd.DataFrame(filled, columns=["bucket_start", *columns])


def retry_series(
    retries: pd.DataFrame, window: Window, bucket, keep: int = 4
) -> dict[str, pd.DataFrame]:
    """Retries per bucket for the `keep` most frequent reasons, the rest as "other reasons".

    Each value has bucket_start and events for every bucket, as plots.plot_counts takes them.
    """
    starts = bucket_starts(window, bucket)
    if retries.empty:
        return {"no coordinator.retry": pd.DataFrame({"bucket_start": starts, "events": 0})}
    totals = retries.groupby("reason")["retries"].sum()
    ranked = sorted(totals.index, key=lambda reason: (-totals[reason], reason))
    top = ranked[:keep]
    labels = retries["reason"].where(retries["reason"].isin(top), "other reasons")
    counts = retries.assign(label=labels).groupby(["label", "bucket_start"])["retries"].sum()
    series = {}
    for label in [*top, *(["other reasons"] if len(ranked) > keep else [])]:
        per_bucket = counts.get(label, pd.Series(dtype="int64"))
        series[label] = pd.DataFrame(
            {"bucket_start": starts, "events": [int(per_bucket.get(s, 0)) for s in starts]}
        )
    return series


def collect_trends(
    connection,
    taxonomy: dict,
    window: Window,
    params: FullExtendedParams,
    frames: StabilityFrames,
) -> ExtendedTrends:
    """The 48h trends per `trend_bucket` (the verdict's hourly frames when that is 1h)."""
    bucket = params.trend_bucket
    events = taxonomy["coordinator"]["outcomes"]
    if bucket == RED_FLAG_BUCKET:
        rates, errors, opens = frames.hourly, frames.errors_hourly, frames.circuit_opens_hourly
    else:
        outcomes = fetch_outcomes(connection, taxonomy, window, bucket, params.outcome_grace)
        rates = rates_per_bucket(
            outcomes,
            window,
            bucket,
            confidence=params.confidence,
            alone_min_decided=params.red_flag_min_decided,
        )
        errors = fetch_event_buckets(connection, taxonomy, window, bucket, events["error"])
        opens = fetch_event_buckets(connection, taxonomy, window, bucket, events["circuit_open"])
    return ExtendedTrends(
        rates=rates,
        errors=errors,
        circuit_opens=opens,
        durations=fetch_durations(connection, taxonomy, window, bucket),
        retries=fetch_retry_reasons(connection, taxonomy, window, bucket),
    )


def plot_durations(durations: pd.DataFrame, title: str):
    """p50 and p95 of duration_ms per bucket; buckets without a duration are gaps."""
    import matplotlib.dates as mdates

    figure, axis = new_figure(9, 3.2)
    centres = bucket_centres(durations)
    known = durations["calls"] > 0
    if not known.any():
        axis.text(
            0.5, 0.5, "no durations reported", ha="center", va="center", transform=axis.transAxes
        )
    for column, label in (("p50_ms", "p50"), ("p95_ms", "p95")):
        values = durations[column].where(known)
        axis.plot(centres, values, "o-", markersize=3, label=label)
    axis.set_ylabel("ms")
    axis.set_ylim(bottom=0)
    axis.set_title(title, loc="left")
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz="UTC"))
    axis.set_xlabel("UTC")
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    return figure
