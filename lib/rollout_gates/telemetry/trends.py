"""full-extended's 48h trends per trend bucket, for its notebook: the verdict reads none of them.

Rates, errors and circuit opens per bucket (the verdict's hourly frames when the bucket is 1h),
p50/p95 of coordinator call durations, and retries by reason.
"""

from dataclasses import dataclass

import pandas as pd

from .metrics import (
    Window,
    bucket_starts,
    fetch_event_buckets,
    fetch_frame,
    fetch_outcomes,
    gate_rates_by_bucket,
)
from .stability import RED_FLAG_BUCKET, StabilityFrames


@dataclass(frozen=True)
class ExtendedTrends:
    """Per trend bucket over the window: rates, errors, circuit opens, durations, retries."""

    rates: pd.DataFrame
    errors: pd.DataFrame
    circuit_opens: pd.DataFrame
    durations: pd.DataFrame
    retries: pd.DataFrame  # one row per bucket and reason


def fetch_coordinator_buckets(
    connection, name: str, taxonomy: dict, window: Window, bucket, **binds
) -> pd.DataFrame:
    """A full_extended_* query over the coordinator's events of the window, per bucket."""
    return fetch_frame(
        connection,
        name,
        **window.binds(),
        bucket=bucket,
        coordinator_source=taxonomy["coordinator"]["source"],
        **binds,
    )


def fetch_durations(connection, taxonomy: dict, window: Window, bucket) -> pd.DataFrame:
    """p50/p95 of context.duration_ms per bucket, every bucket of the window present."""
    outcomes = taxonomy["coordinator"]["outcomes"]
    frame = fetch_coordinator_buckets(
        connection,
        "full_extended_durations",
        taxonomy,
        window,
        bucket,
        outcome_types=list(outcomes.values()),
    )
    frame = every_bucket(frame, window, bucket, {"calls": 0, "unreadable": 0})
    return frame.astype(
        {"calls": "int64", "unreadable": "int64", "p50_ms": "float64", "p95_ms": "float64"}
    )


def fetch_retry_reasons(connection, taxonomy: dict, window: Window, bucket) -> pd.DataFrame:
    retry_type = taxonomy["coordinator"]["outcomes"]["retry"]
    frame = fetch_coordinator_buckets(
        connection, "full_extended_retry_reasons", taxonomy, window, bucket, retry_type=retry_type
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
    params,
    frames: StabilityFrames,
) -> ExtendedTrends:
    """The 48h trends per `trend_bucket` (the verdict's hourly frames when that is 1h)."""
    bucket = params.trend_bucket
    events = taxonomy["coordinator"]["outcomes"]
    if bucket == RED_FLAG_BUCKET:
        rates, errors, opens = frames.hourly, frames.errors_hourly, frames.circuit_opens_hourly
    else:
        outcomes = fetch_outcomes(connection, taxonomy, window, bucket, params.outcome_grace)
        rates = gate_rates_by_bucket(outcomes, window, bucket, params)
        errors = fetch_event_buckets(connection, taxonomy, window, bucket, events["error"])
        opens = fetch_event_buckets(connection, taxonomy, window, bucket, events["circuit_open"])
    return ExtendedTrends(
        rates=rates,
        errors=errors,
        circuit_opens=opens,
        durations=fetch_durations(connection, taxonomy, window, bucket),
        retries=fetch_retry_reasons(connection, taxonomy, window, bucket),
    )
