"""One booking's story after a red flag: its trail, its state path, why its outcome counts.

The trace is not a gate (no verdict); booking-trace.ipynb calls these. Which bookings: one id,
or the bookings behind a verdict's failing checks (trail.bookings_behind, as the FAIL run
listed them).
"""

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Connection

from ..core.outcomes import NOT_CONFIRMED, explain_outcome
from ..core.verdict import Behind, read_verdict
from ..present.plots import new_figure
from ..telemetry.trail import TRAIL_LOOKBACK, bookings_behind, fetch_bookings_behind, fetch_trails

ALL_LISTED = 10_000  # the window's non-confirmed bookings are counted, not listed


def choose_bookings(
    connection: Connection,
    taxonomy: dict,
    as_of: datetime,
    grace: timedelta,
    booking_id: str = "",
    verdict_path: str = "",
) -> pd.DataFrame:
    """The bookings to trace, one row each, with the check that named them; none without an
    id or a verdict (the notebook then shows the window's groups alone)."""
    if booking_id:
        return pd.DataFrame({"check": [""], "booking_id": [booking_id.lower()]})
    if not verdict_path:
        return pd.DataFrame({"check": [], "booking_id": []})
    result = read_verdict(Path(verdict_path))
    return bookings_behind(connection, taxonomy, result.checks, as_of, grace)


def fetch_booking_trail(
    connection: Connection, taxonomy: dict, booking_id: str, as_of: datetime
) -> pd.DataFrame:
    """Every event of the booking in the day before the as-of, in time order."""
    return fetch_trails(connection, taxonomy, [booking_id], as_of - TRAIL_LOOKBACK, as_of)


def explain_trail(trail: pd.DataFrame, taxonomy: dict, as_of: datetime, grace) -> list[str]:
    """explain_outcome on a fetched trail."""
    events = list(zip(trail["at"], trail["event_type"], strict=True))
    return explain_outcome(events, taxonomy["coordinator"]["outcomes"], as_of, grace)


def plot_state_path(trail: pd.DataFrame, booking_id: str):
    """The state machine's states over time, one step per transition."""
    moves = trail.dropna(subset=["to_state"])
    figure, axes = new_figure(8, 2.5)
    if moves.empty:
        axes.text(0.5, 0.5, "no state transitions", ha="center", va="center")
    else:
        axes.step(moves["at"], moves["to_state"], where="post", marker="o")
    axes.set_title(f"State path of {booking_id}")
    axes.set_xlabel("time (UTC)")
    figure.autofmt_xdate()
    return figure


def group_not_confirmed(
    connection: Connection, taxonomy: dict, start: datetime, as_of: datetime, grace
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The window's decided, non-confirmed bookings counted by reason and by restaurant."""
    frame = fetch_bookings_behind(
        connection, taxonomy, Behind(start=start, end=as_of, outcomes=NOT_CONFIRMED), as_of,
        grace, ALL_LISTED,
    )  # fmt: skip
    by_reason = frame.groupby("outcome").size().rename("bookings").reset_index()
    by_restaurant = (
        frame.groupby(["restaurant_id", "outcome"]).size().rename("bookings").reset_index()
    )
    return by_reason, by_restaurant.sort_values("bookings", ascending=False, kind="stable")
