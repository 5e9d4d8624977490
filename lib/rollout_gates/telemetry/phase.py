"""Full mode's start as telemetry shows it: the one query every gate's phase clock reads.

Over a lookback: the active coordinator.start events, the legacy planner's activity
(auto_assign.started and inline_auto_assign.*, V3 mirror events aside) and the first active
start after the last legacy activity (queries/full_mode_start.sql). The prerequisites,
full-extended, full-health, scale and success gates, and the kernel's phase label, read it
when the flag ledger says nothing.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from .metrics import Window, load_query


@dataclass(frozen=True)
class ActiveStretch:
    """Telemetry of a lookback window: active coordinator starts and legacy activity.

    One row of queries/full_mode_start.sql.
    """

    lookback: Window
    active_starts: int = 0
    first_active_at: datetime | None = None
    last_active_at: datetime | None = None
    legacy_events: int = 0
    last_legacy_at: datetime | None = None
    stretch_start: datetime | None = None  # first active start after the last legacy event


def fetch_active_stretch(connection: Connection, taxonomy: dict, window: Window) -> ActiveStretch:
    """Active coordinator starts and legacy activity in `window` (one row)."""
    coordinator, legacy = taxonomy["coordinator"], taxonomy["legacy"]
    row = connection.execute(
        load_query("full_mode_start"),
        {
            **window.binds(),
            "coordinator_source": coordinator["source"],
            "start_type": coordinator["start"],
            "active_mode": coordinator["active_mode"],
            "legacy_sources": list(legacy["sources"]),
            "legacy_started": legacy["started"],
            "inline_source": legacy["inline_source"],
            "coordinator_trigger": legacy["coordinator_trigger"],
        },
    ).one()
    return ActiveStretch(
        lookback=window,
        active_starts=int(row.active_starts),
        first_active_at=row.first_active_at,
        last_active_at=row.last_active_at,
        legacy_events=int(row.legacy_events),
        last_legacy_at=row.last_legacy_at,
        stretch_start=row.stretch_start,
    )
