"""The phase clock's evidence as tables: the flag ledger, and the soak beside telemetry."""

from datetime import datetime, timedelta

import pandas as pd

from ..config.ledger import FlagChange
from ..core.timefmt import format_duration, utc
from ..telemetry.phase import ActiveStretch, PhaseClock


def ledger_table(changes: list[FlagChange], as_of: datetime) -> pd.DataFrame:
    """The flag ledger as a table; changes after the as-of are shown but marked ignored."""
    rows = [
        {
            "at": change.at,
            "variable": change.variable,
            "old": change.old,
            "new": change.new,
            "by": change.by,
            "used": "yes" if change.at <= as_of else "no: after the as-of",
        }
        for change in changes
    ]
    return pd.DataFrame(rows, columns=["at", "variable", "old", "new", "by", "used"])


def phase_table(
    clock: PhaseClock, stretch: ActiveStretch, as_of: datetime, soak: timedelta
) -> pd.DataFrame:
    """How the phase start was found: the clock used, and what telemetry shows beside it."""
    started = clock.started
    rows = [
        ("phase at the as-of", clock.phase or "unknown"),
        ("source used", clock.source or "–"),
        ("how", clock.how),
        ("since", f"{'at least ' if clock.at_least else ''}{utc(started)}" if started else "–"),
        ("on for", format_duration(as_of - started) if started else "–"),
        ("soak needed", format_duration(soak)),
        ("can pass at", utc(started + soak) if started else "–"),
        ("telemetry lookback", f"{utc(stretch.lookback.start)} to {utc(stretch.lookback.end)}"),
        ("active coordinator.start in it", str(stretch.active_starts)),
        ("first active start", utc(stretch.first_active_at)),
        ("last active start", utc(stretch.last_active_at)),
        ("legacy planner events in it", str(stretch.legacy_events)),
        ("last legacy activity", utc(stretch.last_legacy_at)),
        ("first active start after it", utc(stretch.stretch_start)),
    ]
    return pd.DataFrame(rows, columns=["fact", "value"])
