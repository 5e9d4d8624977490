"""cleanup: is it time to delete the legacy planner? (Post-Rollout Actions, 2 and 3)

Three checks, over the `window` (7 days) before the as-of:

- full mode on for at least `soak` (7 days). The phase start comes from the flag ledger
  when it records the V3 flag; otherwise from telemetry: the first active
  `coordinator.start` of the uninterrupted stretch, in hourly buckets, that reaches the
  as-of (an hour with bookings but no active start breaks the stretch; an hour without
  bookings does not). The last `outcome_grace` is left out so a booking made seconds ago
  does not look unhandled. V3 off at the as-of is a FAIL: the legacy planner is still needed.
- the latest recorded `success` verdict at or before the as-of is PASS. None recorded is
  INCONCLUSIVE; FAIL is FAIL (the latest judgement wins, even over an earlier PASS);
  INCONCLUSIVE or ERROR is INCONCLUSIVE. A PASS older than the window, older than the
  current full phase (it judged an earlier attempt), or from simulated data when this run's
  data is real (or the reverse) is INCONCLUSIVE: re-run `success`.
- no legacy activity (auto_assign.started, inline_auto_assign.*; V3 mirror events with
  trigger=coordinator aside) in the window. When full mode began inside the window the
  check starts `outcome_grace` after the flip, so the legacy jobs of bookings made just
  before it are not counted. Any is a FAIL, listed; none without any booking is INCONCLUSIVE.

On PASS the notebook writes the follow-up task (task_markdown) to tables/cleanup-task.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..config.params import SoakParams
from ..core.timefmt import DAY, HOUR, as_utc, format_duration, utc
from ..core.verdict import Check, GateResult, Status
from ..rules.soak import assess_soak
from ..run.evidence import latest_verdict
from .base import Assessment, GateMetrics, GateSpec, empty_telemetry

if TYPE_CHECKING:
    import pandas as pd

    from ..telemetry.metrics import OutcomeSummary, Window
    from ..telemetry.phase import PhaseClock
    from ..telemetry.planner import LegacyActivity


class CleanupParams(SoakParams):
    """params/defaults.yaml, gates.cleanup: `soak` is full mode's."""


SPEC = GateSpec(
    id="cleanup",
    runbook_step="Post-Rollout Actions 2-3: legacy planner cleanup readiness "
    "(7 days of full mode, success verdict, legacy planner silent)",
    window="7d",
    env="production",
    params_model=CleanupParams,
    after=("success",),
)

LEGACY_EVENTS_TABLE = "legacy-events"
TASK_FILE = "cleanup-task.md"
CLOCK_BUCKET = HOUR


@dataclass(frozen=True)
class RecordedSuccess:
    """The latest recorded `success` verdict, as much of it as the rules need."""

    status: Status
    as_of: datetime
    simulated: bool = False
    scenario: str | None = None
    run_dir: str | None = None
    success_rate: str | None = None  # the detail of its success_rate check, if it has one

    @classmethod
    def from_result(cls, result: GateResult) -> RecordedSuccess:
        rate = next((c.detail for c in result.checks if c.id == "success_rate"), None)
        return cls(
            status=result.status,
            as_of=as_utc(result.as_of),
            simulated=result.simulated,
            scenario=result.scenario,
            run_dir=result.run_dir,
            success_rate=rate,
        )


@dataclass(frozen=True)
class CleanupMetrics(GateMetrics):
    as_of: datetime
    window: Window
    legacy_window: Window  # the window, or from the full-mode flip + grace if that is later
    phase: PhaseClock  # the clock the checks judge by; the verdict's phase fields too
    legacy: LegacyActivity
    success: RecordedSuccess | None
    simulated: bool = False
    v3: OutcomeSummary = field(default_factory=empty_telemetry("metrics", "OutcomeSummary"))


def collect(ctx) -> CleanupMetrics:
    """Run the gate's queries and read the recorded success verdict."""
    from ..telemetry.metrics import Window, fetch_outcomes, summarize_outcomes
    from ..telemetry.phase import resolve_phase_clock
    from ..telemetry.planner import fetch_legacy_activity, fetch_legacy_activity_table

    connection, taxonomy, as_of, params = ctx.connection, ctx.taxonomy, ctx.as_of, ctx.params
    changes = ctx.ledger()
    window = Window(as_of - params.window, as_of)
    buckets = None

    def from_telemetry() -> PhaseClock:
        nonlocal buckets
        found, buckets = telemetry_clock(connection, taxonomy, as_of, params)
        return found

    clock = resolve_phase_clock(changes, as_of, from_telemetry)
    legacy_window = legacy_window_of(window, clock, params.outcome_grace)
    legacy = fetch_legacy_activity(connection, taxonomy, legacy_window, params.outcome_grace)
    events = fetch_legacy_activity_table(connection, taxonomy, legacy_window, legacy)
    outcomes = fetch_outcomes(connection, taxonomy, window, DAY, params.outcome_grace)
    recorded = latest_verdict(ctx.evidence_root, ctx.env, "success", at_or_before=as_of)
    return CleanupMetrics(
        as_of=as_of,
        window=window,
        legacy_window=legacy_window,
        phase=clock,
        legacy=legacy,
        success=RecordedSuccess.from_result(recorded) if recorded else None,
        simulated=ctx.simulated,
        v3=summarize_outcomes(outcomes),
        frames={"legacy_events": events, "outcomes": outcomes, "clock_buckets": buckets},
    )


def telemetry_clock(connection, taxonomy: dict, as_of: datetime, params: CleanupParams):
    """The full-mode clock from telemetry, over twice the soak time before the as-of."""
    from ..telemetry.metrics import Window
    from ..telemetry.phase import clock_from_buckets
    from ..telemetry.planner import fetch_activity_buckets

    lookback = Window(as_of - 2 * params.soak, as_of - params.outcome_grace)
    buckets = fetch_activity_buckets(connection, taxonomy, lookback, CLOCK_BUCKET)
    return clock_from_buckets(buckets, lookback), buckets


def legacy_window_of(window: Window, clock: PhaseClock, grace: timedelta) -> Window:
    """The window, starting `grace` after the full-mode flip when that falls inside it."""
    from ..telemetry.metrics import Window

    if clock.phase != "full" or clock.started is None:
        return window
    start = min(max(window.start, clock.started + grace), window.end)
    return Window(start, window.end)


def describe_clock(metrics: CleanupMetrics) -> str:
    clock = metrics.phase
    if clock.phase is None:
        note = f": {clock.how}" if clock.how else ""
        return f"Full mode cannot be dated{note}."
    text = f"Production is in **{clock.describe()}**."
    if clock.how:
        text += f" {clock.how[0].upper()}{clock.how[1:]}."
    if clock.phase == "full" and clock.started:
        text += f" On for {format_duration(metrics.as_of - clock.started)} at the as-of."
    if metrics.legacy_window.start != metrics.window.start:
        text += (
            f" The legacy planner is looked for from {utc(metrics.legacy_window.start)}, "
            "just after the flip, not over the whole window."
        )
    return text


def success_table(metrics: CleanupMetrics) -> pd.DataFrame:
    """The recorded success verdict the gate relies on, as one row (none: an empty table)."""
    import pandas as pd

    columns = ["status", "as_of", "simulated", "scenario", "success_rate", "run_dir"]
    recorded = metrics.success
    if recorded is None:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame([{column: getattr(recorded, column) for column in columns}])


def daily_outcomes(metrics: CleanupMetrics):
    """(V3 decided bookings and rates per day of the window, the success-rate figure)."""
    from ..present.plots import plot_daily_rate
    from ..telemetry.metrics import rates_by_bucket

    rates = rates_by_bucket(metrics.frames["outcomes"], metrics.window, DAY)
    return rates, plot_daily_rate(rates, "success", "V3 success rate per day")


# --- rules (pure) ------------------------------------------------------------------------------


def evaluate(metrics: CleanupMetrics, params: CleanupParams) -> list[Check]:
    started = metrics.phase.started if metrics.phase.phase == "full" else None
    return [
        assess_soak(
            metrics.phase,
            metrics.as_of,
            params.soak,
            unknown="full mode cannot be dated: no flag ledger entry for "
            f"FEATURE_ASSIGNMENT_PIPELINE_V3 and {metrics.phase.how or 'no telemetry'}",
            wrong_phase=Status.FAIL,
        ),
        assess_success_verdict(
            metrics.success, metrics.as_of, params.window, started, metrics.simulated
        ),
        assess_legacy_silent(metrics.legacy, metrics.legacy_window),
    ]


def assess_success_verdict(
    recorded: RecordedSuccess | None,
    as_of: datetime,
    max_age: timedelta,
    phase_started: datetime | None,
    simulated: bool,
) -> Check:
    common = {
        "id": "success_verdict",
        "rule": "the latest recorded success verdict is PASS (within "
        f"{format_duration(max_age)}, in the current full phase)",
        "threshold": "PASS",
    }
    if recorded is None:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail="no success verdict recorded at or before the as-of: run "
            "`rollout-gates run success --env production` first",
        )
    common["observed"] = str(recorded.status)
    which = f"the latest success verdict, as of {utc(recorded.as_of)}"
    if recorded.simulated != simulated:
        kind = "simulated" if recorded.simulated else "real"
        here = "simulated" if simulated else "real"
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"{which}, was judged on {kind} data and this run reads {here} data: "
            "re-run success on this database",
        )
    if recorded.status is Status.FAIL:
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{which}, is FAIL: the success criteria are not met",
        )
    if recorded.status is not Status.PASS:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"{which}, is {recorded.status}: the success criteria are not shown to be "
            "met; re-run success",
        )
    if recorded.as_of < as_of - max_age:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"{which}, is PASS but {format_duration(as_of - recorded.as_of)} old, older "
            f"than {format_duration(max_age)}: re-run success",
        )
    if phase_started is not None and recorded.as_of < phase_started:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"{which}, is PASS but judged an earlier attempt: the current full phase "
            f"began at {utc(phase_started)}; re-run success",
        )
    rate = f" ({recorded.success_rate})" if recorded.success_rate else ""
    return Check(**common, status=Status.PASS, detail=f"{which}, is PASS{rate}")


def assess_legacy_silent(legacy: LegacyActivity, window: Window) -> Check:
    common = {
        "id": "legacy_silent",
        "rule": "no legacy planner event (auto_assign.started, inline_auto_assign.*; V3 "
        "mirror events aside) in the window",
        "observed": legacy.legacy_events,
        "threshold": 0,
        "sample_size": legacy.bookings_with_activity,
    }
    since = f"since {utc(window.start)}"
    if legacy.legacy_events:
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{legacy.legacy_events} legacy planner events for {legacy.legacy_bookings} "
            f"bookings {since}, first at {utc(legacy.first_legacy_at)}, last at "
            f"{utc(legacy.last_legacy_at)}: the legacy planner still runs "
            f"(tables/{LEGACY_EVENTS_TABLE}.csv)",
        )
    if legacy.bookings_with_activity:
        return Check(
            **common,
            status=Status.PASS,
            detail=f"no legacy planner event {since}; {legacy.bookings_with_activity} bookings "
            "with activity",
        )
    return Check(
        **common,
        status=Status.INCONCLUSIVE,
        detail=f"no legacy planner event {since}, but no booking either: nothing shows V3 "
        "does the legacy planner's work",
    )


# --- the follow-up task ------------------------------------------------------------------------


def task_markdown(metrics: CleanupMetrics, params: CleanupParams, env: str) -> str:
    """The runbook's post-rollout cleanup as a task to file, with the figures behind it."""
    clock, success, v3 = metrics.phase, metrics.success, metrics.v3
    on_for = format_duration(metrics.as_of - clock.started) if clock.started else "unknown"
    since = utc(clock.started) if clock.started else "unknown"
    success_line = (
        f"the latest `success` verdict, as of {utc(success.as_of)}, is **{success.status}**"
        + (f": {success.success_rate}" if success.success_rate else "")
        + (f" (evidence: `{success.run_dir}`)" if success.run_dir else "")
        if success
        else "no success verdict recorded"
    )
    return "\n".join(
        [
            "# Remove the legacy planner (Assignment Pipeline V3 is the default)",
            "",
            f"Filed from the `cleanup` gate on **{env}**, as of {utc(metrics.as_of)} "
            "(runbook: Post-Rollout Actions 2 and 3).",
            "",
            "## Why now",
            "",
            f"- V3 full mode on for **{on_for}**, since {since} (from the "
            f"{clock.source or 'unknown source'}); the cleanup needs "
            f"{format_duration(params.soak)}.",
            f"- Success criteria met: {success_line}.",
            f"- Legacy planner silent: **{metrics.legacy.legacy_events}** `auto_assign.started` "
            f"or `inline_auto_assign.*` events since {utc(metrics.legacy_window.start)} "
            "(V3 mirror events with trigger=coordinator aside).",
            f"- V3 over the last {format_duration(params.window)}: {v3.decided} decided "
            f"bookings, success {v3.success.describe()}, manual review "
            f"{v3.manual_review_rate.describe()}.",
            "",
            "## Scope",
            "",
            "1. Delete the legacy planner's while-loop in `server/jobs/auto-assign.ts` and "
            "its helpers.",
            "2. Remove the `auto_assign.*` telemetry events. Note: V3 writes mirror events "
            "under that source (`auto_assign.succeeded`, `auto_assign.manual_review`, "
            '`auto_assign.retry_scheduled` with `context.trigger = "coordinator"`); '
            "dashboards or queries reading them must move to `assignment.coordinator` first.",
            "3. Delete the unused `server/capacity/planner-*` helpers.",
            "4. Mark V3 as the default in `.env.example` (`FEATURE_ASSIGNMENT_PIPELINE_V3=true`).",
            "5. Update the architecture docs.",
            "6. Remove the shadow-mode guidance: no code reads "
            "`FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW`.",
            "",
            "## Evidence",
            "",
            "This run's folder: `verdict.json`, the executed notebook and its HTML, "
            f"`tables/{LEGACY_EVENTS_TABLE}.csv` (empty), `tables/v3-daily-outcomes.csv` and "
            "`figures/v3-daily-success.png`.",
            "",
        ]
    )


def write_task(run_dir, text: str) -> Path | None:
    """tables/cleanup-task.md in the run folder; None when there is no run folder."""
    if not run_dir:
        return None
    folder = Path(run_dir) / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TASK_FILE
    path.write_text(text)
    return path


# --- advice ------------------------------------------------------------------------------------


def advice(result: Assessment) -> list[str]:
    """PASS: file the follow-up task; otherwise what blocks it, and how to re-run."""
    status, env = result.status, result.env
    if status is Status.PASS:
        return [
            f"# Cleanup is ready: file the follow-up task in tables/{TASK_FILE} of this run",
            "# (runbook, Post-Rollout Actions 2-3), and update verification.md:",
            f"rollout-gates report --env {env}",
        ]
    if status is Status.FAIL:
        return [
            "# Do not remove the legacy planner: V3 is not on, the success criteria failed, or",
            f"# the legacy planner still runs (tables/{LEGACY_EVENTS_TABLE}.csv: look for a",
            "# process on an old deploy). Fix the failing check, then re-run:",
            f"rollout-gates run cleanup --env {env}",
        ]
    if status is Status.INCONCLUSIVE:
        return [
            "# Not yet judged: wait for the time in the soak check, or record a success verdict",
            f"rollout-gates run success --env {env}",
            f"rollout-gates run cleanup --env {env}",
        ]
    return []
