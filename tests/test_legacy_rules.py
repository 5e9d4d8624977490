"""The shadow, rollback and cleanup rules, named after the behaviour they guarantee.

Pure: no database. Times are built around one as-of; every expected status follows from
DESIGN.md's verdict rules and the gate modules' docstrings.
"""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from rollout_gates.config import params as config
from rollout_gates.config.ledger import MAX_PARALLEL, SHADOW, V3, FlagChange
from rollout_gates.core.errors import UsageError
from rollout_gates.core.verdict import Check, Status
from rollout_gates.gates import cleanup, rollback, shadow
from rollout_gates.gates.base import Assessment
from rollout_gates.telemetry.metrics import Window
from rollout_gates.telemetry.phase import LEDGER, clock_from_ledger
from rollout_gates.telemetry.planner import LegacyActivity, V3Events

AS_OF = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)
QUERIES = Path(__file__).resolve().parents[1] / "lib" / "rollout_gates" / "telemetry" / "queries"


def params(gate: str, **overrides):
    module = {"shadow": shadow, "rollback": rollback, "cleanup": cleanup}[gate]
    return config.load_params(module.SPEC.params_model, gate, "production", overrides)


def change(hours_before: float, variable: str, new: str, old: str | None = None) -> FlagChange:
    return FlagChange(AS_OF - hours_before * H, variable, new, old, by="test")


SHADOW_FLIP = [change(30, V3, "false"), change(30, SHADOW, "true"), change(30, MAX_PARALLEL, "3")]
FULL_FLIP = [change(20, V3, "true", "false"), change(20, SHADOW, "false", "true")]
ROLLBACK = [change(2, V3, "false", "true"), change(2, SHADOW, "false", "false")]

NO_V3 = V3Events()
NOTHING_IN_FLIGHT = rollback.InFlight()
V3_BUSY = LegacyActivity(bookings_with_activity=3360, bookings_created=3360)
BUSY = LegacyActivity(
    legacy_events=2242,
    legacy_starts=320,
    legacy_bookings=960,
    first_legacy_at=AS_OF + M,
    last_legacy_at=AS_OF + 20 * M,
    bookings_with_activity=960,
    bookings_created=960,
    handled=950,
    succeeded=903,
)


# --- shadow ----------------------------------------------------------------------------------


def shadow_metrics(v3=NO_V3, legacy=BUSY, changes=SHADOW_FLIP, as_of=AS_OF):
    return shadow.ShadowMetrics(
        as_of=as_of,
        window=Window(as_of - 24 * H, as_of),
        v3=v3,
        legacy=legacy,
        phase=clock_from_ledger(changes, as_of),
    )


def shadow_checks(**kwargs):
    return {c.id: c for c in shadow.evaluate(shadow_metrics(**kwargs), params("shadow"))}


def test_clean_shadow_with_24h_on_the_ledger_passes():
    checks = shadow_checks()
    assert {k: c.status for k, c in checks.items()} == {
        "coordinator_events": Status.PASS,
        "legacy_routing": Status.PASS,
        "soak": Status.PASS,
        "legacy_baseline": Status.PASS,
    }
    assert "flag ledger" in checks["soak"].detail


def test_leaked_coordinator_events_fail_and_point_at_the_table():
    leak = V3Events(events=40, bookings=4, first_at=AS_OF - 5 * H, last_at=AS_OF - 4 * H)
    check = shadow_checks(v3=leak)["coordinator_events"]
    assert check.status is Status.FAIL
    assert check.observed == 40
    assert "4 bookings" in check.detail and "tables/v3-events.csv" in check.detail


def test_no_legacy_events_while_bookings_exist_fails():
    silent = LegacyActivity(bookings_with_activity=960, bookings_created=960)
    check = shadow_checks(legacy=silent)["legacy_routing"]
    assert check.status is Status.FAIL
    assert check.sample_size == 960


def test_no_bookings_at_all_is_inconclusive_not_pass():
    checks = shadow_checks(legacy=LegacyActivity())
    assert checks["legacy_routing"].status is Status.INCONCLUSIVE
    assert checks["coordinator_events"].status is Status.INCONCLUSIVE
    assert checks["legacy_baseline"].status is Status.WARN


def test_shadow_younger_than_soak_is_inconclusive_with_the_time_it_can_pass():
    # Shadow on since 10:00, 2h before the as-of: 24h later, at 2026-11-30 10:00, it can pass.
    recent = [change(2, V3, "false"), change(2, SHADOW, "true")]
    check = shadow_checks(changes=recent)["soak"]
    assert check.status is Status.INCONCLUSIVE
    assert "can pass at 2026-11-30 10:00:00 UTC" in check.detail


def test_without_a_ledger_the_soak_is_inconclusive_because_shadow_is_invisible():
    check = shadow_checks(changes=[])["soak"]
    assert check.status is Status.INCONCLUSIVE
    assert "cannot be seen in telemetry" in check.detail
    assert "no V3 event in the last" in check.detail


def test_shadow_gate_in_full_mode_is_not_a_shadow_soak():
    check = shadow_checks(changes=SHADOW_FLIP + FULL_FLIP)["soak"]
    assert check.status is Status.INCONCLUSIVE
    assert "full mode since 2026-11-28 16:00:00 UTC, not shadow mode" in check.detail


def test_legacy_baseline_records_rate_and_interval_and_warns_on_small_samples():
    check = shadow_checks()["legacy_baseline"]
    assert check.observed == pytest.approx(903 / 950)
    assert check.interval[0] < 903 / 950 < check.interval[1]
    assert check.sample_size == 950
    small = LegacyActivity(legacy_events=9, bookings_with_activity=3, handled=3, succeeded=3)
    assert shadow_checks(legacy=small)["legacy_baseline"].status is Status.WARN


def test_shadow_fail_advice_reapplies_shadow_flags_and_escalates_a_silent_planner():
    silent = LegacyActivity(bookings_with_activity=5, bookings_created=5)
    leak = V3Events(events=1, bookings=1, first_at=AS_OF - H, last_at=AS_OF - H)
    metrics = shadow_metrics(v3=leak, legacy=silent)
    checks = shadow.evaluate(metrics, params("shadow"))
    assert {c.id for c in checks if c.status is Status.FAIL} == {
        "coordinator_events",
        "legacy_routing",
    }
    lines = "\n".join(shadow.advice(Assessment("production", params("shadow"), metrics, checks)))
    assert "vercel env add FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW production" in lines
    assert "# When prompted, enter: true" in lines
    assert "Escalate" in lines


# --- rollback --------------------------------------------------------------------------------


def test_rollback_at_parameter_wins_over_the_ledger():
    given = params("rollback", rollback_at="2026-11-29T11:00:00Z")
    found = rollback.rollback_time(given, SHADOW_FLIP + FULL_FLIP + ROLLBACK, AS_OF)
    assert found.at == AS_OF - H and found.source == rollback.PARAMETER
    from_ledger = rollback.rollback_time(params("rollback"), FULL_FLIP + ROLLBACK, AS_OF)
    assert from_ledger.at == AS_OF - 2 * H and from_ledger.source == LEDGER


def test_rollback_at_naive_time_is_utc_and_nonsense_is_a_usage_error():
    assert params("rollback", rollback_at="2026-11-29T10:00:00").rollback_at == AS_OF - 2 * H
    assert params("rollback").rollback_at is None
    with pytest.raises(UsageError, match="rollback_at"):
        params("rollback", rollback_at="yesterday")


def rollback_metrics(
    minutes_after: float,
    legacy=BUSY,
    v3_after=NO_V3,
    stragglers=NO_V3,
    created_after_drain=10,
    rollback_at=AS_OF,
    in_flight=NOTHING_IN_FLIGHT,
):
    as_of = rollback_at + minutes_after * M
    drained = minutes_after >= 30
    return rollback.RollbackMetrics(
        as_of=as_of,
        window=H,
        drain=30 * M,
        rollback=rollback.RollbackTime(rollback_at, LEDGER, "test"),
        errors_captured=4,
        legacy_after=legacy,
        legacy_after_drain=LegacyActivity(bookings_created=created_after_drain)
        if drained
        else None,
        v3_after=v3_after,
        stragglers=stragglers if drained else None,
        in_flight=in_flight,
    )


def rollback_checks(metrics):
    return {c.id: c for c in rollback.evaluate(metrics, params("rollback"))}


def test_clean_rollback_after_the_drain_passes():
    checks = rollback_checks(rollback_metrics(45))
    assert {k: c.status for k, c in checks.items()} == {
        "rollback_time": Status.PASS,
        "errors_captured": Status.PASS,
        "legacy_resumed": Status.PASS,
        "stragglers_drained": Status.PASS,
        "in_flight_bookings": Status.PASS,
    }
    assert checks["errors_captured"].observed == 4


def test_no_rollback_time_is_inconclusive_and_says_how_to_give_one():
    metrics = rollback.RollbackMetrics(
        as_of=AS_OF, window=H, drain=30 * M, rollback=rollback.RollbackTime(None, None)
    )
    [check] = rollback.evaluate(metrics, params("rollback"))
    assert check.status is Status.INCONCLUSIVE
    assert "--set rollback_at=" in check.detail


def test_rollback_time_after_the_as_of_is_inconclusive():
    metrics = rollback.RollbackMetrics(
        as_of=AS_OF, window=H, drain=30 * M, rollback=rollback.RollbackTime(AS_OF + H, LEDGER)
    )
    assert [c.status for c in rollback.evaluate(metrics, params("rollback"))] == [
        Status.INCONCLUSIVE
    ]


def test_no_legacy_yet_during_the_drain_is_inconclusive_with_the_rerun_time():
    silent = LegacyActivity(bookings_created=4, bookings_with_activity=4)
    check = rollback_checks(rollback_metrics(10, legacy=silent))["legacy_resumed"]
    assert check.status is Status.INCONCLUSIVE
    assert "2026-11-29 12:30:00 UTC" in check.detail


def test_no_legacy_after_the_drain_while_bookings_are_created_fails():
    silent = LegacyActivity(bookings_created=30, bookings_with_activity=30)
    check = rollback_checks(rollback_metrics(45, legacy=silent))["legacy_resumed"]
    assert check.status is Status.FAIL
    assert check.sample_size == 30


def test_no_legacy_and_no_bookings_after_the_drain_is_inconclusive():
    check = rollback_checks(rollback_metrics(45, legacy=LegacyActivity()))["legacy_resumed"]
    assert check.status is Status.INCONCLUSIVE


def test_stragglers_during_the_drain_are_inconclusive_with_the_rerun_time():
    during = V3Events(events=20, bookings=2, first_at=AS_OF + 2 * M, last_at=AS_OF + 8 * M)
    check = rollback_checks(rollback_metrics(10, v3_after=during))["stragglers_drained"]
    assert check.status is Status.INCONCLUSIVE
    assert "re-run at or after 2026-11-29 12:30:00 UTC" in check.detail
    assert check.observed == 20


def test_coordinator_events_after_the_drain_fail_and_are_listed():
    late = V3Events(events=30, bookings=3, first_at=AS_OF + 31 * M, last_at=AS_OF + 43 * M)
    check = rollback_checks(rollback_metrics(45, v3_after=late, stragglers=late))[
        "stragglers_drained"
    ]
    assert check.status is Status.FAIL
    assert "3 bookings" in check.detail and "tables/rollback-stragglers.csv" in check.detail


def test_no_stragglers_but_no_bookings_since_the_drain_is_inconclusive():
    check = rollback_checks(rollback_metrics(45, created_after_drain=0))["stragglers_drained"]
    assert check.status is Status.INCONCLUSIVE


def test_bookings_left_undecided_at_the_rollback_only_warn():
    in_flight = rollback.InFlight(undecided=2, picked_up=1, active_after=1)
    check = rollback_checks(rollback_metrics(45, in_flight=in_flight))["in_flight_bookings"]
    assert check.status is Status.WARN and not check.gating


def test_in_flight_summary_counts_undecided_and_picked_up_bookings():
    taxonomy = config.load_taxonomy()
    frame = pd.DataFrame(
        {
            "first_coordinator_event": [AS_OF - M, AS_OF - M, AS_OF - M, pd.NaT],
            "outcome_before_rollback": [None, "coordinator.retry", "coordinator.confirmed", None],
            "coordinator_events_after": [2, 0, 1, 4],
            "legacy_events_after": [0, 3, 0, 0],
        }
    )
    assert rollback.summarize_in_flight(frame, taxonomy) == rollback.InFlight(
        undecided=2, picked_up=1, active_after=3
    )


def rollback_advice(status: Status, env: str, rolled_back: datetime | None) -> list[str]:
    """The advice for a verdict of `status`, the rollback at `rolled_back` (None: unknown)."""
    metrics = rollback.RollbackMetrics(
        as_of=AS_OF, window=H, drain=30 * M, rollback=rollback.RollbackTime(rolled_back, None)
    )
    return advice_for(rollback, status, env, metrics)


def advice_for(module, status: Status, env: str, metrics=None) -> list[str]:
    """The gate's advice for a verdict of `status` (one check with it) on `env`."""
    check = Check(id="x", rule="a check with the verdict's status", status=status, detail="")
    return module.advice(Assessment(env, params(module.SPEC.id), metrics, [check]))


def test_rollback_fail_advice_is_the_runbooks_rollback_and_escalation():
    lines = rollback_advice(Status.FAIL, "production", AS_OF)
    text = "\n".join(lines)
    assert "vercel env add FEATURE_ASSIGNMENT_PIPELINE_V3 production" in text
    assert "vercel --prod" in text
    assert "30 minutes" in text and "post-mortem" in text
    assert "--set rollback_at=2026-11-29T12:00:00Z" in text


def test_rollback_advice_reruns_at_the_real_rollback_time_in_the_gates_environment():
    rolled_back = AS_OF - 2 * H  # 2026-11-29 10:00 UTC
    rerun = "rollout-gates run rollback --env staging --set rollback_at=2026-11-29T10:00:00Z"
    for status in (Status.FAIL, Status.INCONCLUSIVE):
        assert rerun in rollback_advice(status, "staging", rolled_back), status


DATE = re.compile(r"\d{4}-\d\d-\d\d")


def test_without_a_rollback_time_the_advice_asks_for_it_and_invents_none():
    metrics = rollback.RollbackMetrics(
        as_of=AS_OF, window=H, drain=30 * M, rollback=rollback.RollbackTime(None, None)
    )
    [check] = rollback.evaluate(metrics, params("rollback"))
    lines = rollback.advice(Assessment("production", params("rollback"), metrics, [check]))
    assert "--set rollback_at=YYYY-MM-DDTHH:MM:SSZ" in lines[-1]
    assert "--set rollback_at=YYYY-MM-DDTHH:MM:SSZ" in check.detail
    assert not DATE.search("\n".join(lines)) and not DATE.search(check.detail)


# --- cleanup ---------------------------------------------------------------------------------


def cleanup_metrics(
    changes=FULL_FLIP,
    success=None,
    legacy=V3_BUSY,
    simulated=True,
    as_of=AS_OF,
):
    clock = clock_from_ledger(changes, as_of)
    window = Window(as_of - 7 * 24 * H, as_of)
    return cleanup.CleanupMetrics(
        as_of=as_of,
        window=window,
        legacy_window=cleanup.legacy_window_of(window, clock, 15 * M),
        phase=clock,
        legacy=legacy,
        success=success,
        simulated=simulated,
    )


def recorded(status=Status.PASS, days_before=4, simulated=True):
    return cleanup.RecordedSuccess(
        status=status, as_of=AS_OF - days_before * 24 * H, simulated=simulated
    )


EIGHT_DAYS_OF_FULL = [change(8 * 24, V3, "true", "false"), change(8 * 24, SHADOW, "false")]


def cleanup_checks(**kwargs):
    return {c.id: c for c in cleanup.evaluate(cleanup_metrics(**kwargs), params("cleanup"))}


def test_cleanup_passes_after_seven_days_with_a_recent_success_pass_and_a_silent_planner():
    checks = cleanup_checks(changes=EIGHT_DAYS_OF_FULL, success=recorded())
    assert {k: c.status for k, c in checks.items()} == dict.fromkeys(
        ("soak", "success_verdict", "legacy_silent"), Status.PASS
    )


def test_full_mode_younger_than_seven_days_is_inconclusive_with_the_time_it_can_pass():
    # Full mode since 2026-11-28 16:00 (20h before the as-of): it can pass on 2026-12-05 16:00.
    check = cleanup_checks(success=recorded(days_before=0))["soak"]
    assert check.status is Status.INCONCLUSIVE
    assert "can pass at 2026-12-05 16:00:00 UTC" in check.detail


def test_v3_off_on_the_ledger_fails_cleanup():
    check = cleanup_checks(changes=FULL_FLIP + ROLLBACK, success=recorded())["soak"]
    assert check.status is Status.FAIL
    assert "rollback mode since 2026-11-29 10:00:00 UTC, not full mode" in check.detail


def test_no_recorded_success_verdict_is_inconclusive():
    check = cleanup_checks(changes=EIGHT_DAYS_OF_FULL)["success_verdict"]
    assert check.status is Status.INCONCLUSIVE
    assert "rollout-gates run success" in check.detail


def test_latest_success_verdict_fail_fails_cleanup():
    check = cleanup_checks(changes=EIGHT_DAYS_OF_FULL, success=recorded(Status.FAIL))
    assert check["success_verdict"].status is Status.FAIL


@pytest.mark.parametrize("status", [Status.INCONCLUSIVE, Status.ERROR])
def test_latest_success_verdict_not_judged_is_inconclusive(status):
    check = cleanup_checks(changes=EIGHT_DAYS_OF_FULL, success=recorded(status))
    assert check["success_verdict"].status is Status.INCONCLUSIVE


def test_success_pass_older_than_the_window_is_stale():
    check = cleanup_checks(changes=EIGHT_DAYS_OF_FULL, success=recorded(days_before=7.5))
    assert check["success_verdict"].status is Status.INCONCLUSIVE
    assert "old" in check["success_verdict"].detail


def test_success_pass_from_before_the_current_full_phase_does_not_count():
    # Full mode re-enabled 2 days ago after a rollback; the PASS is 4 days old.
    again = [*EIGHT_DAYS_OF_FULL, change(3 * 24, V3, "false", "true"), change(48, V3, "true")]
    check = cleanup_checks(changes=again, success=recorded(days_before=4))["success_verdict"]
    assert check.status is Status.INCONCLUSIVE
    assert "earlier attempt" in check.detail


def test_simulated_success_verdict_does_not_count_for_real_data():
    check = cleanup_checks(
        changes=EIGHT_DAYS_OF_FULL, success=recorded(simulated=True), simulated=False
    )
    assert check["success_verdict"].status is Status.INCONCLUSIVE


def test_legacy_events_in_the_last_seven_days_fail_cleanup():
    running = LegacyActivity(
        legacy_events=12, legacy_bookings=5, bookings_with_activity=3360, bookings_created=3360
    )
    check = cleanup_checks(changes=EIGHT_DAYS_OF_FULL, success=recorded(), legacy=running)
    assert check["legacy_silent"].status is Status.FAIL
    assert "tables/legacy-events.csv" in check["legacy_silent"].detail


def test_a_silent_planner_without_any_booking_is_inconclusive():
    check = cleanup_checks(changes=EIGHT_DAYS_OF_FULL, legacy=LegacyActivity())
    assert check["legacy_silent"].status is Status.INCONCLUSIVE


def test_legacy_is_looked_for_from_just_after_a_flip_inside_the_window():
    # Full mode since 20h before: the check starts 15 min after the flip, not 7 days back.
    metrics = cleanup_metrics()
    assert metrics.legacy_window.start == AS_OF - 20 * H + 15 * M
    assert cleanup_metrics(changes=EIGHT_DAYS_OF_FULL).legacy_window == metrics.window


def test_cleanup_task_lists_the_runbooks_follow_up_work_with_its_figures():
    metrics = cleanup_metrics(changes=EIGHT_DAYS_OF_FULL, success=recorded())
    task = cleanup.task_markdown(metrics, params("cleanup"), "production")
    for item in (
        "server/jobs/auto-assign.ts",
        "auto_assign.*",
        "server/capacity/planner-*",
        ".env.example",
        "architecture docs",
        "shadow-mode guidance",
        "8d",
        "**PASS**",
    ):
        assert item in task


def test_write_task_without_a_run_folder_writes_nothing(tmp_path):
    assert cleanup.write_task("", "text") is None
    path = cleanup.write_task(tmp_path, "text")
    assert path == tmp_path / "tables" / "cleanup-task.md" and path.read_text() == "text"


# --- shared --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    sorted(
        p for prefix in ("shadow", "rollback", "cleanup") for p in QUERIES.glob(f"{prefix}_*.sql")
    ),
    ids=lambda p: p.stem,
)
def test_queries_bound_created_at_first_and_bind_every_event_name(path):
    text = path.read_text()
    where = text.index("WHERE created_at >= :window_start")
    assert "AND created_at < :window_end" in text[where : where + 90]
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    for literal in ("'auto_assign", "'assignment.", "'coordinator", "'inline_", "'booking"):
        assert literal not in body, f"{path.name}: event name {literal}... written as a literal"


def test_the_cleanup_task_and_advice_name_the_environment_they_ran_for():
    metrics = cleanup_metrics(changes=EIGHT_DAYS_OF_FULL, success=recorded())
    task = cleanup.task_markdown(metrics, params("cleanup"), "staging")
    assert "Filed from the `cleanup` gate on **staging**" in task
    assert "production" not in task
    for status in (Status.PASS, Status.FAIL, Status.INCONCLUSIVE):
        commands = [line for line in advice_for(cleanup, status, "staging") if line[0] != "#"]
        assert commands and all(line.endswith("--env staging") for line in commands), status
