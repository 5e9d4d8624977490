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

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..config.flags import plan_commands
from ..config.params import SoakParams
from ..core.timefmt import format_duration, utc
from ..core.verdict import Check, Status
from ..rules.soak import assess_soak
from .base import Assessment, GateMetrics, GateSpec

if TYPE_CHECKING:
    import pandas as pd

    from ..telemetry.arrivals import Arrivals
    from ..telemetry.metrics import Window
    from ..telemetry.phase import PhaseClock
    from ..telemetry.planner import LegacyActivity, V3Events


class ShadowParams(SoakParams):
    """params/defaults.yaml, gates.shadow: `soak` is shadow mode's."""


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
class ShadowMetrics(GateMetrics):
    """Everything the shadow rules look at."""

    as_of: datetime
    window: Window
    v3: V3Events
    legacy: LegacyActivity
    phase: PhaseClock | None  # from the flag ledger; None without a V3 or shadow entry
    arrivals_before: Arrivals | None = None  # the window's length before it: silence's rate


def collect(ctx) -> ShadowMetrics:
    """Run the gate's queries, with the flag ledger for the soak's start."""
    from ..telemetry.arrivals import fetch_arrivals
    from ..telemetry.metrics import Window
    from ..telemetry.phase import clock_from_ledger
    from ..telemetry.planner import (
        fetch_legacy_activity,
        fetch_legacy_events,
        fetch_v3_events,
    )

    connection, taxonomy, window, params = ctx.connection, ctx.taxonomy, ctx.window, ctx.params
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
    return ShadowMetrics(
        as_of=window.end,
        window=window,
        v3=v3,
        legacy=legacy,
        phase=clock_from_ledger(ctx.ledger(), window.end),
        arrivals_before=before,
        frames={"v3_events": v3_table, "legacy_events": events},
    )


def evaluate(metrics: ShadowMetrics, params: ShadowParams) -> list[Check]:
    """The runbook's Phase 1 checks, each a check; pure."""
    from ..telemetry.planner import (
        assess_legacy_baseline,
        assess_legacy_routing,
        assess_no_v3_events,
    )

    window = format_duration(params.window)
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
            metrics.phase,
            metrics.as_of,
            params.soak,
            phase="shadow",
            unknown=no_ledger_detail(metrics, SPEC.env),
        ),
        assess_legacy_baseline(metrics.legacy, params.red_flag_min_decided),
    ]


def no_ledger_detail(metrics: ShadowMetrics, env: str) -> str:
    """Why the soak cannot be judged without a ledger, and what telemetry does show."""
    if metrics.v3.events:
        stretch = f"telemetry's last V3 event was at {utc(metrics.v3.last_at)}"
    else:
        window = format_duration(metrics.window.end - metrics.window.start)
        stretch = f"telemetry has no V3 event in the last {window}"
    return (
        "no flag ledger entry for FEATURE_ASSIGNMENT_PIPELINE_V3 or _SHADOW: the shadow flag "
        "cannot be seen in telemetry (shadow mode runs nothing), so the deploy time is "
        f"unknown; {stretch}. Record the shadow deploy: `rollout-gates flags record --env "
        f"{env} --set FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW=true --at <deploy time>`"
    )


def fetch_hourly_activity(ctx) -> pd.DataFrame:
    """Bookings created, bookings the legacy planner handled, and V3 events, per hour."""
    from ..telemetry.planner import fetch_activity_buckets

    return fetch_activity_buckets(ctx.connection, ctx.taxonomy, ctx.window, FIGURE_BUCKET)


def activity_figure(buckets: pd.DataFrame):
    """The hourly activity as counts: V3 events must stay at 0."""
    from ..present.plots import plot_counts
    from ..telemetry.planner import count_series

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
    import pandas as pd

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


def advice(result: Assessment) -> list[str]:
    """What to do for a verdict, tailored to the failing checks."""
    status, env = result.status, result.env
    failing = {c.id for c in result.checks if c.status is Status.FAIL}
    if status is Status.PASS:
        return [
            "# Shadow mode is healthy: go on with the Phase 2 pre-flight checklist",
            f"rollout-gates run preflight --env {env}",
        ]
    if status is not Status.FAIL:
        return []
    lines = ["# Do not start Phase 2 (full mode) while this gate fails."]
    if "coordinator_events" in failing:
        lines += [
            "# V3 events in shadow mode: shadow runs nothing, so V3 is on somewhere.",
            "# Re-apply the shadow-mode flags (runbook Phase 1, Step 1) and redeploy:",
            *plan_commands("shadow", env),
        ]
    if "legacy_routing" in failing:
        lines += [
            "# No legacy planner activity while bookings are made: bookings are not being",
            "# assigned. Escalate now (runbook, Contact & Escalation): notify the engineering",
            "# team and capture the telemetry of this run (tables/*.csv).",
        ]
    return lines
