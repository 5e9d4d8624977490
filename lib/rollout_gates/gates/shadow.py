"""shadow: production in shadow mode routes through the legacy planner (Phase 1, Steps 3-4).

Shadow mode runs nothing (spec/telemetry.md): no code reads the shadow flag, so the
coordinator is never called and no `assignment.*` event may appear, while the legacy
planner keeps assigning every booking. The gate checks exactly that over 24 hours, that
shadow mode has been on for the soak time, and records the legacy success rate as the
baseline later gates compare V3 with. Bookings made are arrivals (arrivals.py: the
application's booking.creation.success) and bookings with planner activity; a window with
neither is judged against the arrivals of the same length before it (a FAIL when that much
silence is improbable at the gate's confidence).

Soak time: the shadow flag cannot be seen in telemetry (shadow and legacy write the same
events), so the phase start comes from the flag ledger only. Without a ledger entry for the
V3 or shadow flag the soak check is INCONCLUSIVE, saying how long telemetry has been
legacy-only: a stretch without V3 events does not show when the shadow deploy went live,
and a PASS must not start the 24 hours before the deploy did.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from ..config.flags import plan_commands
from ..config.ledger import FlagChange
from ..config.params import Duration, GateParams
from ..core.timefmt import utc
from ..core.verdict import Check, Status
from ..present.plots import plot_counts
from ..telemetry.arrivals import Arrivals, fetch_arrivals
from ..telemetry.metrics import Window
from ..telemetry.planner import (
    LegacyActivity,
    PhaseClock,
    V3Events,
    assess_legacy_baseline,
    assess_legacy_routing,
    assess_no_v3_events,
    assess_soak,
    count_series,
    fetch_activity_buckets,
    fetch_legacy_activity,
    fetch_legacy_events,
    fetch_v3_events,
    ledger_clock,
    length,
)
from . import GateSpec


class ShadowParams(GateParams):
    soak: Duration


SPEC = GateSpec(
    id="shadow",
    runbook_step="Phase 1, Steps 3-4: legacy routing, no coordinator events, 24h of shadow mode",
    window="24h",
    env="production",
    params_model=ShadowParams,
)

V3_EVENTS_TABLE = "v3-events"
FIGURE_BUCKET = timedelta(hours=1)


@dataclass(frozen=True)
class ShadowMetrics:
    """Everything the shadow rules look at."""

    as_of: datetime
    window: Window
    v3: V3Events
    legacy: LegacyActivity
    clock: PhaseClock | None  # from the flag ledger; None without a V3 or shadow entry
    arrivals_before: Arrivals | None = None  # the window's length before it: silence's rate


def collect(
    connection, taxonomy: dict, window: Window, params: ShadowParams, changes: list[FlagChange]
):
    """Run the gate's queries; returns the metrics and the frames the notebook shows."""
    v3, v3_table = fetch_v3_events(connection, taxonomy, window)
    legacy = fetch_legacy_activity(connection, taxonomy, window, params.outcome_grace)
    events = fetch_legacy_events(connection, taxonomy, window)
    before = None
    if not legacy.legacy_events and not legacy.bookings_with_activity:  # silence: judge it
        duration = window.end - window.start
        seen = bool(legacy.duplicate_creations) or None
        before = fetch_arrivals(
            connection, taxonomy, Window(window.start - duration, window.start), recorded=seen
        )
    metrics = ShadowMetrics(
        as_of=window.end,
        window=window,
        v3=v3,
        legacy=legacy,
        clock=ledger_clock(changes, window.end),
        arrivals_before=before,
    )
    return metrics, {"v3_events": v3_table, "legacy_events": events}


def evaluate(metrics: ShadowMetrics, params: ShadowParams) -> list[Check]:
    """The runbook's Phase 1 checks, each a check; pure."""
    window = length(params.window)
    return [
        assess_no_v3_events(
            "coordinator_events",
            f"no assignment.coordinator or assignment.state_machine event (nor V3 mirror "
            f"event) in {window}",
            metrics.v3,
            metrics.legacy.bookings_with_activity,
            V3_EVENTS_TABLE,
            "shadow mode runs nothing, so the V3 coordinator is running in production",
        ),
        assess_legacy_routing(metrics.legacy, metrics.arrivals_before, params.confidence),
        assess_soak(
            "soak",
            "shadow",
            metrics.clock,
            params.soak,
            metrics.as_of,
            unknown=no_ledger_detail(metrics, SPEC.env),
        ),
        assess_legacy_baseline(metrics.legacy, params.red_flag_min_decided),
    ]


def no_ledger_detail(metrics: ShadowMetrics, env: str) -> str:
    """Why the soak cannot be judged without a ledger, and what telemetry does show."""
    if metrics.v3.events:
        stretch = f"telemetry's last V3 event was at {utc(metrics.v3.last_at)}"
    else:
        window = length(metrics.window.end - metrics.window.start)
        stretch = f"telemetry has no V3 event in the last {window}"
    return (
        "no flag ledger entry for FEATURE_ASSIGNMENT_PIPELINE_V3 or _SHADOW: the shadow flag "
        "cannot be seen in telemetry (shadow mode runs nothing), so the deploy time is "
        f"unknown; {stretch}. Record the shadow deploy: `rollout-gates flags record --env "
        f"{env} --set FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW=true --at <deploy time>`"
    )


def fetch_hourly_activity(connection, taxonomy: dict, window: Window) -> pd.DataFrame:
    return fetch_activity_buckets(connection, taxonomy, window, FIGURE_BUCKET)


def activity_figure(buckets: pd.DataFrame):
    """Bookings created, bookings the legacy planner handled, and V3 events, per hour."""
    return plot_counts(
        {
            "bookings created": count_series(buckets, "bookings_created"),
            "bookings with legacy activity": count_series(buckets, "legacy_bookings"),
            "V3 events (must stay 0)": count_series(buckets, "v3_events"),
        },
        "Bookings and legacy routing per hour",
    )


def baseline_table(metrics: ShadowMetrics) -> pd.DataFrame:
    """The legacy success baseline as recorded in the verdict (check legacy_baseline)."""
    legacy = metrics.legacy
    low, high = legacy.success.interval or (None, None)
    return pd.DataFrame(
        [
            {
                "window start": metrics.window.start,
                "window end": metrics.window.end,
                "bookings handled": legacy.handled,
                "succeeded": legacy.succeeded,
                "success rate": legacy.success.rate,
                "95% CI low": low,
                "95% CI high": high,
            }
        ]
    )


def assess(gate) -> list[Check]:
    """The gate's checks at `gate.as_of`, as its notebook computes them (used by replay)."""
    metrics, _ = collect(gate.connection, gate.taxonomy, gate.window, gate.params, gate.ledger())
    return evaluate(metrics, gate.params)


def actions(status: Status, env: str) -> list[str]:
    """What to do for a verdict; `advice` tailors it to the failing checks of a run."""
    return advice(status, env, [])


def advice(status: Status, env: str, checks: list[Check]) -> list[str]:
    failing = {c.id for c in checks if c.status is Status.FAIL}
    if status is Status.PASS:
        return [
            "# Shadow mode is healthy: go on with the Phase 2 pre-flight checklist",
            f"rollout-gates run preflight --env {env}",
        ]
    if status is not Status.FAIL:
        return []
    lines = ["# Do not start Phase 2 (full mode) while this gate fails."]
    if not checks or "coordinator_events" in failing:
        lines += [
            "# V3 events in shadow mode: shadow runs nothing, so V3 is on somewhere.",
            "# Re-apply the shadow-mode flags (runbook Phase 1, Step 1) and redeploy:",
            *plan_commands("shadow", env),
        ]
    if not checks or "legacy_routing" in failing:
        lines += [
            "# No legacy planner activity while bookings are made: bookings are not being",
            "# assigned. Escalate now (runbook, Contact & Escalation): notify the engineering",
            "# team and capture the telemetry of this run (tables/*.csv).",
        ]
    return lines
