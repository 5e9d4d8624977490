"""Arrivals: bookings created, and silence judged against the bookings expected.

A booking's arrival is the application's `booking.creation.success` event of source
`capacity.transaction` (params/taxonomy.yaml, `arrivals`), unless its context says
`duplicate: true` (an idempotent replay that returned an existing booking). The ids are only
in its context (`context.bookingId`): the row's booking_id column is NULL. It is the one
record of bookings that does not depend on which planner handles them, so it tells "the
planner is silent" from "no one booked". A database written by an older deploy has no
creation event at all: the gates then count bookings with planner activity instead, and say
so (rules.signals.FALLBACK), rather than counting zero.

Silence (no planner event, and no arrival either) is judged against the arrival rate before
it. Arrivals are a Poisson process; with n arrivals in the lookback L before the event and
none in the t since, the probability of that much silence, were the rate unchanged, is

    p = P(none of the n + 0 arrivals falls in t | the split is binomial) = (L / (L + t))^n,

the exact conditional test of two Poisson rates (Przyborowski and Wilenski, 1940; scipy's
binomial distribution). It is the Poisson probability exp(-lambda * t) of no arrival in t at
the rate lambda = n / L, made exact for a rate that was itself measured from n arrivals: the
two agree when n is large (8 an hour over 1h, 3 silent hours: 1.5e-5 here, 4e-11 for
exp(-24)), and at small n this one does not mistake a lucky busy hour for a rate (1 arrival
in the hour before decides nothing for 19 hours, where exp(-t) would call 3 hours
improbable). Silence is improbable when p < 1 - confidence. The probability only falls as
the silence lasts, so looking again and again does not inflate the chance of a false
verdict: the first look past the decidable time is the one test.

`fetch_*` run the queries (queries/arrivals*.sql); everything else is pure.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from scipy.stats import binom
from sqlalchemy.engine import Connection

from ..rules.signals import RECORDED_LOOKBACK
from .metrics import Window, fetch_frame


def creation_binds(taxonomy: dict) -> dict:
    """The creation event's source and type, from params/taxonomy.yaml."""
    arrivals = taxonomy["arrivals"]
    return {"arrivals_source": arrivals["source"], "created_type": arrivals["created"]}


def arrival_binds(taxonomy: dict) -> dict:
    """The creation event's names and the context paths of its booking id and replay flag."""
    arrivals = taxonomy["arrivals"]
    return {
        **creation_binds(taxonomy),
        "arrival_id_path": list(arrivals["booking_id_path"]),
        "duplicate_path": list(arrivals["duplicate_path"]),
    }


@dataclass(frozen=True)
class Arrivals:
    """Bookings created in a window; `recorded` False when the database has no creation event."""

    window: Window
    created: int = 0  # booking.creation.success, duplicates aside, one per booking
    duplicates: int = 0  # replays (context.duplicate true): not arrivals
    planner_bookings: int = 0  # bookings with planner activity: the fallback
    recorded: bool = True

    @property
    def count(self) -> int:
        return self.created if self.recorded else self.planner_bookings

    @property
    def span(self) -> timedelta:
        return self.window.end - self.window.start

    @property
    def what(self) -> str:
        return "bookings created" if self.recorded else "bookings with planner activity"


def fetch_arrivals(
    connection: Connection, taxonomy: dict, window: Window, recorded: bool | None = None
) -> Arrivals:
    """Arrivals in `window`; `recorded` None asks the database when the window has none."""
    frame = fetch_frame(
        connection,
        "arrivals",
        **window.binds(),
        **arrival_binds(taxonomy),
        activity_sources=list(taxonomy["booking_activity_sources"]),
    )
    row = frame.iloc[0]
    created, duplicates = int(row["created"]), int(row["duplicates"])
    if recorded is None:
        recorded = bool(created or duplicates) or fetch_recorded(connection, taxonomy, window.end)
    return Arrivals(
        window=window,
        created=created,
        duplicates=duplicates,
        planner_bookings=int(row["planner_bookings"]),
        recorded=recorded,
    )


def fetch_recorded(connection: Connection, taxonomy: dict, as_of: datetime) -> bool:
    """Whether any creation event was written in the RECORDED_LOOKBACK before `as_of`."""
    frame = fetch_frame(
        connection,
        "arrivals_recorded",
        **Window(as_of - RECORDED_LOOKBACK, as_of).binds(),
        **creation_binds(taxonomy),
    )
    return bool(frame.iloc[0]["recorded"])


# --- silence (pure) ------------------------------------------------------------------------------


def silence_probability(before: int, lookback: timedelta, silent: timedelta) -> float:
    """P(no arrival in `silent` | `before` arrivals in `lookback` and an unchanged rate).

    1 when nothing arrived before: no rate makes any silence improbable.
    """
    if before == 0 and silent >= timedelta(0):
        return 1.0
    if lookback <= timedelta(0):
        raise ValueError(f"the lookback must be longer than zero, not {lookback}")
    if before < 0 or silent < timedelta(0):
        raise ValueError("arrivals and the silent time cannot be negative")
    share = silent / (lookback + silent)  # of all arrivals, the share due in the silent time
    return float(binom.pmf(0, before, share))


def decidable_after(before: int, lookback: timedelta, confidence: float) -> timedelta | None:
    """The silence after which silence_probability < 1 - confidence; None with no arrival."""
    _check_confidence(confidence)
    if before <= 0:
        return None
    alpha = 1.0 - confidence
    # (L / (L + t))^n = alpha  <=>  t = L * (alpha^(-1/n) - 1); a second more is below alpha
    return lookback * math.expm1(-math.log(alpha) / before) + timedelta(seconds=1)


@dataclass(frozen=True)
class Silence:
    """No arrival and no planner event from `since` to the as-of, against the rate before."""

    before: int  # arrivals in the lookback before `since`
    lookback: timedelta
    since: datetime
    silent: timedelta
    confidence: float
    probability: float  # of that much silence at the rate before; 1 without arrivals before
    decidable_at: datetime | None  # when silence would become improbable; None: never

    @property
    def improbable(self) -> bool:
        return self.probability < 1.0 - self.confidence

    @property
    def odds(self) -> str:
        """Why the silence is a FAIL, in the words every detail line uses."""
        return (
            f"at that rate so long a silence has probability {self.probability:.2g}, "
            f"below {1 - self.confidence:.2g}"
        )

    @property
    def chance(self) -> str:
        """Why it is not a FAIL (yet), in the words every detail line uses."""
        return f"likely enough by chance (probability {self.probability:.2g})"

    @property
    def expected(self) -> float:
        """Arrivals the rate before makes expected in the silent time."""
        return self.before * (self.silent / self.lookback)


def judge_silence(
    before: int, lookback: timedelta, since: datetime, as_of: datetime, confidence: float
) -> Silence:
    """Silence from `since` to `as_of` after `before` arrivals in the `lookback` before `since`."""
    _check_confidence(confidence)
    silent = max(as_of - since, timedelta(0))
    after = decidable_after(before, lookback, confidence)
    return Silence(
        before=before,
        lookback=lookback,
        since=since,
        silent=silent,
        confidence=confidence,
        probability=silence_probability(before, lookback, silent),
        decidable_at=None if after is None else since + after,
    )


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
