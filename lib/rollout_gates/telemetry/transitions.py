"""The booking state machine (spec/telemetry.md): allowed transitions and stuck bookings.

SQL counts transitions per (from, to) and finds each booking's last state; the rules
here are pure: an observed transition outside params/taxonomy.yaml `state_machine.allowed`
is a defect, and so is a booking left in a non-terminal state for longer than
`stuck_after`. In the shipped code a `coordinator.retry` is never rescheduled, so a
retried booking stays in assignment_pending: it is a stuck booking, not a pending one.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy.engine import Connection

from ..core.outcomes import FAILURES
from ..core.timefmt import format_duration
from ..core.verdict import Check, Status
from .metrics import Window, fetch_frame

MISSING = "(missing)"  # a transition event without `from` or `to` in its context
MAX_LISTED = 200  # stuck bookings listed by name; the total is always counted


@dataclass(frozen=True)
class TransitionCount:
    from_state: str
    to_state: str
    transitions: int
    bookings: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None

    @property
    def arrow(self) -> str:
        return f"{self.from_state}→{self.to_state}"


@dataclass(frozen=True)
class StuckBookings:
    """Bookings with transitions in the window, those stuck, and the first MAX_LISTED of them."""

    bookings_observed: int
    total: int
    listed: pd.DataFrame  # booking_id, last_state, from_state, since, last_outcome, ...
    failed: int = 0  # non-terminal too, but decided failures: the success rate counts them


def state_machine_binds(taxonomy: dict) -> dict:
    machine = taxonomy["state_machine"]
    return {"state_machine_source": machine["source"], "transition_type": machine["transition"]}


def fetch_transition_counts(
    connection: Connection, taxonomy: dict, window: Window
) -> list[TransitionCount]:
    """Transitions per (from, to) in the window: one row a pair."""
    frame = fetch_frame(
        connection, "success_transitions", **window.binds(), **state_machine_binds(taxonomy)
    )
    return [
        TransitionCount(
            from_state=row.from_state if row.from_state is not None else MISSING,
            to_state=row.to_state if row.to_state is not None else MISSING,
            transitions=int(row.transitions),
            bookings=int(row.bookings),
            first_at=row.first_at,
            last_at=row.last_at,
        )
        for row in frame.itertuples(index=False)
    ]


def fetch_stuck_bookings(
    connection: Connection, taxonomy: dict, window: Window, stuck_after: timedelta
) -> StuckBookings:
    """Bookings whose last transition in the window is non-terminal and older than stuck_after."""
    coordinator = taxonomy["coordinator"]
    frame = fetch_frame(
        connection,
        "success_stuck_bookings",
        **window.binds(),
        as_of=window.end,
        **state_machine_binds(taxonomy),
        terminal_states=list(taxonomy["state_machine"]["terminal_states"]),
        stuck_after=stuck_after,
        coordinator_source=coordinator["source"],
        outcome_types=list(coordinator["outcomes"].values()),
        # a booking left non-terminal after a failure is judged by the success rate, not
        # again as stuck
        failure_types=[coordinator["outcomes"][name] for name in FAILURES],
        max_listed=MAX_LISTED,
    )
    if frame.empty:
        return StuckBookings(0, 0, frame)
    first = frame.iloc[0]
    observed, total = int(first["bookings_observed"]), int(first["stuck_total"])
    counts = ["bookings_observed", "stuck_total", "failed_total"]
    listed = frame.dropna(subset=["booking_id"]).drop(columns=counts)
    listed = listed.assign(booking_id=listed["booking_id"].astype(str)).reset_index(drop=True)
    return StuckBookings(observed, total, listed, failed=int(first["failed_total"]))


def is_allowed(count: TransitionCount, allowed: dict[str, list[str]]) -> bool:
    return count.to_state in (allowed.get(count.from_state) or [])


def assess_transitions(counts: list[TransitionCount], allowed: dict[str, list[str]]) -> Check:
    """Every observed (from, to) must be in the allowed table; any other is FAIL, listed."""
    total = sum(c.transitions for c in counts)
    invalid = [c for c in counts if not is_allowed(c, allowed)]
    common = {
        "id": "state_transitions",
        "rule": "every state transition is allowed by the state machine",
        "observed": sum(c.transitions for c in invalid),
        "threshold": 0,
        "sample_size": total,
    }
    if invalid:
        listed = "; ".join(
            f"{c.arrow} ×{c.transitions} ({c.bookings} bookings)"
            for c in sorted(invalid, key=lambda c: -c.transitions)
        )
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{common['observed']} of {total} transitions are not allowed: {listed}",
        )
    if not total:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail="no booking.assignment_state_transition in the window",
            no_data=True,
        )
    return Check(
        **common,
        status=Status.PASS,
        detail=f"{total} transitions of {len(counts)} kinds, all allowed",
    )


def assess_stuck(stuck: StuckBookings, stuck_after: timedelta) -> Check:
    """No booking may stay in a non-terminal state longer than `stuck_after`."""
    after = format_duration(stuck_after)
    common = {
        "id": "stuck_bookings",
        "rule": f"no booking in a non-terminal state for more than {after} without a "
        "failure outcome (those count in the success rate)",
        "observed": stuck.total,
        "threshold": 0,
        "sample_size": stuck.bookings_observed,
    }
    if stuck.total:
        listed = stuck.listed
        by_state = listed["last_state"].fillna(MISSING).value_counts()
        states = ", ".join(f"{state} {count}" for state, count in by_state.items())
        partial = f" (of the first {len(listed)} listed)" if len(listed) < stuck.total else ""
        oldest = listed["since"].min()
        examples = ", ".join(listed["booking_id"].head(3))
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{stuck.total} of {stuck.bookings_observed} bookings stuck for more than "
            f"{after}: last state {states}{partial}; oldest since {oldest:%Y-%m-%d %H:%M} UTC; "
            f"e.g. {examples}",
        )
    if not stuck.bookings_observed:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail="no booking had a state transition in the window",
            no_data=True,
        )
    failed = (
        f"; {stuck.failed} more left non-terminal after a failure outcome, counted by the "
        "success rate"
        if stuck.failed
        else ""
    )
    return Check(
        **common,
        status=Status.PASS,
        detail=f"no booking without a decided outcome stuck for more than {after} among the "
        f"{stuck.bookings_observed} with transitions{failed}",
    )


def ordered_states(allowed: dict[str, list[str]], counts: list[TransitionCount]) -> list[str]:
    """The taxonomy's states in its order, then any other state seen."""
    states = list(allowed)
    for state in (*(c.from_state for c in counts), *(c.to_state for c in counts)):
        if state not in states:
            states.append(state)
    return states


def transition_matrix(counts: list[TransitionCount], allowed: dict[str, list[str]]) -> pd.DataFrame:
    """from_state x to_state transition counts; a disallowed non-zero cell is marked with '!'."""
    states = ordered_states(allowed, counts)
    cells = {(c.from_state, c.to_state): c for c in counts}
    rows = []
    for source in states:
        row = {"from_state": source}
        for target in states:
            count = cells.get((source, target))
            if count is None:
                row[target] = ""
            else:
                mark = "" if is_allowed(count, allowed) else " !"
                row[target] = f"{count.transitions}{mark}"
        rows.append(row)
    return pd.DataFrame(rows, columns=["from_state", *states])


def transitions_table(counts: list[TransitionCount], allowed: dict[str, list[str]]) -> pd.DataFrame:
    """One row a observed (from, to): counts, first and last time, and whether it is allowed."""
    return pd.DataFrame(
        [
            {
                "from_state": c.from_state,
                "to_state": c.to_state,
                "allowed": is_allowed(c, allowed),
                "transitions": c.transitions,
                "bookings": c.bookings,
                "first_at": c.first_at,
                "last_at": c.last_at,
            }
            for c in counts
        ],
        columns=[
            "from_state", "to_state", "allowed", "transitions", "bookings", "first_at", "last_at",
        ],
    )  # fmt: skip
