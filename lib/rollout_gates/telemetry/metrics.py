"""Outcome-based metrics (DESIGN.md, "Metrics"): SQL does the counting, Python the arithmetic."""

import re
import textwrap
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..core.outcomes import PENDABLE
from ..core.stats import DEFAULT_CONFIDENCE, Proportion
from ..rules.signals import Traffic
from .db import QUERY_NAME_PREFIX


@dataclass(frozen=True)
class Window:
    """[start, end): end is the as-of time."""

    start: datetime
    end: datetime

    @classmethod
    def ending(cls, end: datetime, length: timedelta) -> "Window":
        return cls(end - length, end)

    def binds(self) -> dict:
        return {"window_start": self.start, "window_end": self.end}


# A line `-- part: NAME` stands for queries/parts/NAME.sql (followed by the line's comma, if
# it has one): SQL that queries must agree on.
_PART = re.compile(r"^([ \t]*)-- part: (\w+)(,?)\n", re.MULTILINE)


def query_text(name: str) -> str:
    """queries/<name>.sql with its parts written in, each indented as the line it replaces."""
    queries = resources.files(__package__).joinpath("queries")

    def written_in(line: re.Match) -> str:
        part = queries.joinpath("parts", f"{line[2]}.sql").read_text().rstrip("\n")
        return textwrap.indent(f"{part}{line[3]}\n", line[1])

    return _PART.sub(written_in, queries.joinpath(f"{name}.sql").read_text())


@cache
def load_query(name: str) -> sa.TextClause:
    """queries/<name>.sql as a statement with bound parameters, its first line naming it."""
    text = query_text(name)
    return sa.text(f"{QUERY_NAME_PREFIX}{name}\n{text}")


def fetch_frame(connection: Connection, name: str, **binds) -> pd.DataFrame:
    result = connection.execute(load_query(name), binds)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def active_start_binds(taxonomy: dict) -> dict:
    """What makes an event an active coordinator start: V3 deciding, not shadowing."""
    coordinator = taxonomy["coordinator"]
    return {
        "coordinator_source": coordinator["source"],
        "start_type": coordinator["start"],
        "active_mode": coordinator["active_mode"],
    }


def coordinator_binds(taxonomy: dict) -> dict:
    coordinator = taxonomy["coordinator"]
    outcomes = coordinator["outcomes"]
    return {
        "coordinator_source": coordinator["source"],
        "outcome_classes": list(outcomes),
        "outcome_types": list(outcomes.values()),
    }


def fetch_outcomes(
    connection: Connection, taxonomy: dict, window: Window, bucket: timedelta, grace: timedelta
) -> pd.DataFrame:
    """Bookings per (bucket_start, outcome, pending); at most one row per bucket and outcome."""
    frame = fetch_frame(
        connection,
        "outcome_buckets",
        **window.binds(),
        as_of=window.end,
        **coordinator_binds(taxonomy),
        bucket=bucket,
        grace=grace,
    )
    return frame.astype({"bookings": "int64", "pending": "bool"})


@dataclass(frozen=True)
class OutcomeSummary:
    """Counts of bookings by outcome, and the rates the gates judge."""

    confirmed: int = 0
    manual_review: int = 0
    error: int = 0
    unresolved: int = 0
    pending: int = 0

    @property
    def decided(self) -> int:
        return self.confirmed + self.manual_review + self.error + self.unresolved

    @property
    def bookings(self) -> int:
        """Bookings with a coordinator outcome in the window, decided or pending."""
        return self.decided + self.pending

    @property
    def success(self) -> Proportion:
        return Proportion(self.confirmed, self.decided)

    @property
    def manual_review_rate(self) -> Proportion:
        return Proportion(self.manual_review, self.decided)


def summarize_outcomes(frame: pd.DataFrame) -> OutcomeSummary:
    """Fold outcome rows into decided and pending counts."""
    counts = dict.fromkeys(("confirmed", "manual_review", "error", "unresolved", "pending"), 0)
    for outcome, pending, bookings in frame[["outcome", "pending", "bookings"]].itertuples(
        index=False
    ):
        if outcome in PENDABLE:
            counts["pending" if pending else "unresolved"] += int(bookings)
        else:
            counts[outcome] += int(bookings)
    return OutcomeSummary(**counts)


def rates_by_bucket(
    frame: pd.DataFrame,
    window: Window,
    bucket: timedelta,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    alone_min_decided: int = 0,
) -> pd.DataFrame:
    """Per bucket: decided bookings, success and manual-review rates with the gates' bounds
    (stats.py), and whether the bucket holds enough decided bookings to be judged alone."""
    rows = []
    for start in bucket_starts(window, bucket):
        summary = summarize_outcomes(frame[frame["bucket_start"] == start])
        row = {
            "bucket_start": start,
            "decided": summary.decided,
            "pending": summary.pending,
            "judged_alone": summary.decided >= max(alone_min_decided, 1),
        }
        for name, proportion in (
            ("success", summary.success),
            ("manual_review", summary.manual_review_rate),
        ):
            interval = proportion.bounds(confidence) or (None, None)
            row |= {
                f"{name}_rate": proportion.rate,
                f"{name}_low": interval[0],
                f"{name}_high": interval[1],
            }
        rows.append(row)
    return pd.DataFrame(rows)


def gate_rates_by_bucket(
    frame: pd.DataFrame, window: Window, bucket: timedelta, params
) -> pd.DataFrame:
    """rates_by_bucket as a gate shows it: `params` (a gate's) gives the confidence, and
    red_flag_min_decided the decided bookings a bucket needs to be judged alone."""
    return rates_by_bucket(
        frame,
        window,
        bucket,
        confidence=params.confidence,
        alone_min_decided=params.red_flag_min_decided,
    )


def bucket_starts(window: Window, bucket: timedelta) -> list[datetime]:
    """Bucket starts aligned to the window end, as date_bin(bucket, t, window_end) gives them."""
    count = -(-(window.end - window.start) // bucket)
    return [window.end - bucket * (count - i) for i in range(count)]


def fetch_event_buckets(
    connection: Connection,
    taxonomy: dict,
    window: Window,
    bucket: timedelta,
    event_type: str | list[str],
) -> pd.DataFrame:
    """Coordinator events of one type (or any of a list) per bucket, every bucket present."""
    frame = fetch_frame(
        connection,
        "event_buckets",
        **window.binds(),
        coordinator_source=taxonomy["coordinator"]["source"],
        event_types=[event_type] if isinstance(event_type, str) else list(event_type),
        bucket=bucket,
    )
    counts = dict(zip(frame["bucket_start"], frame["events"], strict=True))
    starts = bucket_starts(window, bucket)
    return pd.DataFrame({"bucket_start": starts, "events": [int(counts.get(s, 0)) for s in starts]})


def fetch_outcome_event_buckets(
    connection: Connection, taxonomy: dict, window: Window, bucket: timedelta
) -> list[int]:
    """Coordinator outcome events per bucket: the denominator of the error share."""
    outcomes = list(taxonomy["coordinator"]["outcomes"].values())
    return fetch_event_buckets(connection, taxonomy, window, bucket, outcomes)["events"].tolist()


def fetch_max_per_hour(
    connection: Connection, taxonomy: dict, window: Window, event_type: str
) -> tuple[int, int]:
    """(most events of this type in any rolling hour, total in the window)."""
    row = connection.execute(
        load_query("max_events_per_hour"),
        {
            **window.binds(),
            "coordinator_source": taxonomy["coordinator"]["source"],
            "event_type": event_type,
        },
    ).one()
    return int(row.max_in_any_hour), int(row.total)


def fetch_traffic(connection: Connection, taxonomy: dict, window: Window) -> Traffic:
    from .arrivals import arrival_binds, fetch_recorded

    row = connection.execute(
        load_query("v3_traffic"),
        {
            **window.binds(),
            **active_start_binds(taxonomy),
            "activity_sources": list(taxonomy["booking_activity_sources"]),
            **arrival_binds(taxonomy),
        },
    ).one()
    traffic = Traffic(*(int(value) for value in row))
    if traffic.bookings_created or not traffic.bookings_with_activity:
        return traffic
    return replace(traffic, recorded=fetch_recorded(connection, taxonomy, window.end))


def outcome_table(summary: OutcomeSummary) -> pd.DataFrame:
    """The outcome counts and rates as one small table for display and CSV."""
    rows = [
        ("confirmed", summary.confirmed),
        ("manual_review", summary.manual_review),
        ("error", summary.error),
        ("unresolved (retry or circuit_open older than the grace period)", summary.unresolved),
        ("decided", summary.decided),
        ("pending (not counted)", summary.pending),
    ]
    frame = pd.DataFrame(rows, columns=["bookings", "count"])
    rates = pd.DataFrame(
        [
            ("success rate", summary.success.describe()),
            ("manual review rate", summary.manual_review_rate.describe()),
        ],
        columns=["bookings", "count"],
    )
    return pd.concat([frame, rates], ignore_index=True)


@dataclass(frozen=True)
class Trends:
    rates: pd.DataFrame
    errors: pd.DataFrame
    circuit_opens: pd.DataFrame


def fetch_trends(
    connection: Connection,
    taxonomy: dict,
    window: Window,
    rate_bucket: timedelta,
    event_bucket: timedelta,
    params,
) -> Trends:
    """Rates per `rate_bucket`, errors and circuit opens per `event_bucket`, over `window`;
    `params` (a gate's) gives the grace period, the confidence and red_flag_min_decided."""
    events = taxonomy["coordinator"]["outcomes"]
    outcomes = fetch_outcomes(connection, taxonomy, window, rate_bucket, params.outcome_grace)
    return Trends(
        rates=gate_rates_by_bucket(outcomes, window, rate_bucket, params),
        errors=fetch_event_buckets(connection, taxonomy, window, event_bucket, events["error"]),
        circuit_opens=fetch_event_buckets(
            connection, taxonomy, window, event_bucket, events["circuit_open"]
        ),
    )


@dataclass(frozen=True)
class FlagDisagreement:
    """Active coordinator starts at times the flag ledger says V3 was off."""

    active_starts: int
    first_at: datetime | None = None
    last_at: datetime | None = None


def fetch_active_starts_while_off(
    connection: Connection,
    taxonomy: dict,
    window: Window,
    intervals: list[tuple[datetime, datetime]],
) -> FlagDisagreement:
    if not intervals:
        return FlagDisagreement(0)
    row = connection.execute(
        load_query("active_starts_in_intervals"),
        {
            **window.binds(),
            "interval_starts": [start for start, _ in intervals],
            "interval_ends": [end for _, end in intervals],
            **active_start_binds(taxonomy),
        },
    ).one()
    return FlagDisagreement(int(row.active_starts), row.first_at, row.last_at)
