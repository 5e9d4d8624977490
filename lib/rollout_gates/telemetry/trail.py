"""The bookings behind a failing check, each with its event trail.

After a red flag the first question is "which bookings?". A failing rate check says where its
bookings are (verdict.Behind); the kernel lists them, capped, with every event of each one
across the coordinator, the state machine and the legacy planner, into the run's evidence
(verdict.BEHIND_TABLE), and the incident draft cites that table.
"""

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Connection

from ..core.outcomes import PENDABLE
from ..core.verdict import BEHIND_LISTED, BEHIND_TABLE, Behind, Check, GateResult, Status
from .arrivals import arrival_binds
from .metrics import coordinator_binds, fetch_frame

TRAIL_LOOKBACK = timedelta(hours=24)  # a booking's events before the window: its creation
BANNER_LISTED = 5  # bookings a FAIL banner names per check
COLUMNS = ["check", "booking_id", "restaurant_id", "outcome", "decided_at", "of"]


def fetch_bookings_behind(
    connection: Connection,
    taxonomy: dict,
    behind: Behind,
    as_of: datetime,
    grace: timedelta,
    cap: int = BEHIND_LISTED,
) -> pd.DataFrame:
    """The first `cap` bookings decided in the window with one of `behind.outcomes`, their
    outcome taken at the as-of as the gate took it."""
    return fetch_frame(
        connection,
        "bookings_behind",
        window_start=behind.start,
        window_end=behind.end,
        as_of=as_of,
        **coordinator_binds(taxonomy),
        against_classes=list(behind.outcomes),
        pendable_classes=sorted(PENDABLE),
        grace=grace,
        max_listed=cap,
    )


def fetch_trails(
    connection: Connection, taxonomy: dict, booking_ids: list[str], start: datetime, end: datetime
) -> pd.DataFrame:
    """Every event of these bookings in [start, end), in time order per booking."""
    return fetch_frame(
        connection,
        "booking_trail",
        window_start=start,
        window_end=end,
        booking_ids=booking_ids,
        **arrival_binds(taxonomy),
    )


def describe_event(event) -> str:
    """'07:58:02 coordinator.start', a transition with its states."""
    text = f"{event.at:%H:%M:%S} {event.event_type}"
    old, new = ("?" if pd.isna(state) else state for state in (event.from_state, event.to_state))
    if (old, new) != ("?", "?"):
        text += f" ({old}→{new})"
    return text


def describe_trail(events: pd.DataFrame) -> str:
    """One booking's events as one line, oldest first."""
    return " → ".join(describe_event(event) for event in events.itertuples(index=False))


def failing_with_bookings(checks: list[Check]) -> list[Check]:
    return [check for check in checks if check.status is Status.FAIL and check.behind]


def merged(windows: list[Behind]) -> list[Behind]:
    """Overlapping windows of the same outcomes as one, so that no booking counts twice."""
    found: list[Behind] = []
    for window in sorted(windows, key=lambda w: (w.outcomes, w.start)):
        last = found[-1] if found else None
        if last and last.outcomes == window.outcomes and window.start <= last.end:
            found[-1] = last.model_copy(update={"end": max(last.end, window.end)})
        else:
            found.append(window)
    return found


def bookings_behind(
    connection: Connection,
    taxonomy: dict,
    checks: list[Check],
    as_of: datetime,
    grace: timedelta,
    cap: int = BEHIND_LISTED,
) -> pd.DataFrame:
    """For each failing check, its bookings (at most `cap`) with their trails; `of` is how many
    there are in all. One row per (check, booking)."""
    rows = []
    for check in failing_with_bookings(checks):
        found, total = [], 0
        for behind in merged(check.behind):
            frame = fetch_bookings_behind(connection, taxonomy, behind, as_of, grace, cap)
            total += int(frame["total"].iloc[0]) if not frame.empty else 0
            found += list(frame.itertuples(index=False))
        seen = set()
        for row in found:
            if row.booking_id in seen or len(seen) >= cap:
                continue
            seen.add(row.booking_id)
            rows.append(
                {
                    "check": check.id,
                    "booking_id": row.booking_id,
                    "restaurant_id": row.restaurant_id,
                    "outcome": row.outcome,
                    "decided_at": row.decided_at,
                    "of": total,
                }
            )
    table = pd.DataFrame(rows, columns=COLUMNS)
    if table.empty:
        return table.assign(trail=pd.Series(dtype=str))
    earliest = min(b.start for check in failing_with_bookings(checks) for b in check.behind)
    trails = fetch_trails(
        connection,
        taxonomy,
        sorted(set(table["booking_id"])),
        earliest - TRAIL_LOOKBACK,
        as_of,
    )
    described = {
        booking: describe_trail(events) for booking, events in trails.groupby("booking_id")
    }
    return table.assign(trail=table["booking_id"].map(described).fillna(""))


def trace_pointer(run_dir: Path, result: GateResult, shown: int = BANNER_LISTED) -> str:
    """For a FAIL's banner: the bookings behind its failing checks (the first `shown` of each,
    and how many more) and the command that opens their trace. Empty when none were listed."""
    table_path = run_dir / "tables" / f"{BEHIND_TABLE}.csv"
    if result.status is not Status.FAIL or not table_path.exists():
        return ""
    table = pd.read_csv(table_path, dtype=str)
    if table.empty:
        return ""
    lines = ["**Bookings behind the failing checks:**", ""]
    for check, rows in table.groupby("check", sort=False):
        names = ", ".join(f"`{booking}`" for booking in rows["booking_id"][:shown])
        more = int(rows["of"].iloc[0]) - min(shown, len(rows))
        lines.append(f"- {check}: {names}" + (f" +{more} more" if more > 0 else ""))
    command = f"rollout-gates trace --env {result.env} --verdict {run_dir / 'verdict.json'}"
    lines += ["", "Their trails:", "", f"```bash\n{command}\n```"]
    return "\n".join(lines)
