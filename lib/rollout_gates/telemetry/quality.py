"""Telemetry quality: odd rows are counted and shown, never crashed on and never gating.

Inserts are fire-and-forget and the context is free JSON (spec/telemetry.md), so a gate
must survive any row; the on-call engineer still wants to know the data was odd.
"""

from dataclasses import asdict, dataclass, field, fields

import pandas as pd
from sqlalchemy.engine import Connection

from ..core.verdict import Check, Status
from ..rules.signals import nothing_seen
from .metrics import Window, load_query


def oddity(description: str):
    """A counter of odd rows (a column of the query), with how the notebook describes it."""
    return field(default=0, metadata={"oddity": description})


@dataclass(frozen=True)
class TelemetryQuality:
    """Rows of the coordinator and state machine in the window, and how many were odd."""

    events: int = 0
    null_context: int = oddity("context NULL")
    non_object_context: int = oddity("context not a JSON object")
    duration_not_number: int = oddity("duration_ms not a number")
    duration_negative: int = oddity("duration_ms negative")
    unknown_event_type: int = oddity("unknown coordinator event type")
    duplicates: int = oddity("duplicate event")
    out_of_order: int = oddity("state transition out of order")
    null_booking_id: int = oddity("booking_id NULL")

    @property
    def oddities(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in ODDITIES if getattr(self, name)}


# The oddity counters, in the query's order, and how each is described.
ODDITIES = {
    f.name: f.metadata["oddity"] for f in fields(TelemetryQuality) if "oddity" in f.metadata
}


def fetch_telemetry_quality(
    connection: Connection, taxonomy: dict, window: Window
) -> TelemetryQuality:
    coordinator = taxonomy["coordinator"]
    known_types = [
        coordinator["start"],
        *coordinator["outcomes"].values(),
        *coordinator["non_outcomes"].values(),
    ]
    row = connection.execute(
        load_query("telemetry_quality"),
        {
            **window.binds(),
            "coordinator_source": coordinator["source"],
            "state_machine_source": taxonomy["state_machine"]["source"],
            "transition_type": taxonomy["state_machine"]["transition"],
            "coordinator_types": known_types,
        },
    ).one()
    return TelemetryQuality(**{name: int(value) for name, value in row._mapping.items()})


def assess_telemetry_quality(quality: TelemetryQuality) -> Check:
    """WARN listing the oddities, PASS without any: advisory either way."""
    odd = quality.oddities
    common = {
        "id": "telemetry_quality",
        "rule": "coordinator and state machine events are well-formed (advisory)",
        "observed": sum(odd.values()),
        "sample_size": quality.events,
    }
    if not quality.events:  # advisory even then: telemetry quality never gates
        return nothing_seen(common, "no coordinator or state machine event", Status.WARN)
    if not odd:
        return Check(
            **common,
            status=Status.PASS,
            detail=f"no oddity in {quality.events} coordinator and state machine events",
        )
    listed = ", ".join(f"{count} {ODDITIES[name]}" for name, count in odd.items())
    return Check(
        **common,
        status=Status.WARN,
        detail=f"{listed} among {quality.events} events: counted as they are, "
        "not a verdict; tell the application team",
    )


def quality_table(quality: TelemetryQuality) -> pd.DataFrame:
    """Each counter with its description, for the notebook and tables/telemetry_quality.csv."""
    counts = asdict(quality)
    rows = [("events examined", counts.pop("events"))]
    rows += [(ODDITIES[name], count) for name, count in counts.items()]
    return pd.DataFrame(rows, columns=["rows", "count"])
