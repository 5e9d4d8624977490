"""The rules of preflight, scale and success, named after the behaviour they guarantee.

No database: each rule is fed the observation it judges. Expected statuses are worked
out by hand from DESIGN.md's rules and the runbook; Wilson bounds in the comments use
z = 1.96.
"""

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from rollout_gates.config.ledger import MAX_PARALLEL, SHADOW, V3, FlagChange
from rollout_gates.config.params import load_params, load_taxonomy
from rollout_gates.core.errors import RolloutGatesError
from rollout_gates.core.stats import Proportion
from rollout_gates.core.verdict import Check, GateResult, Status
from rollout_gates.gates import preflight, scale, success
from rollout_gates.telemetry.checklist import (
    ParallelSetting,
    PhaseStart,
    RunbookChecklist,
    assess_change_spacing,
    assess_max_parallel,
    assess_recorded_verdict,
    assess_soak,
    checklist_markdown,
    current_max_parallel,
    full_mode_start,
    raise_commands,
)
from rollout_gates.telemetry.metrics import OutcomeSummary, Window
from rollout_gates.telemetry.phase import ActiveStretch
from rollout_gates.telemetry.transitions import (
    StuckBookings,
    TransitionCount,
    assess_stuck,
    assess_transitions,
    transition_matrix,
)

AS_OF = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
ALLOWED = load_taxonomy()["state_machine"]["allowed"]


def ago(hours: float) -> datetime:
    return AS_OF - timedelta(hours=hours)


def recorded(status: str, hours_old: float, simulated: bool = False, checks=()) -> GateResult:
    return GateResult(
        gate="prerequisites",
        env="staging",
        status=Status(status),
        as_of=ago(hours_old),
        checks=list(checks),
        simulated=simulated,
        scenario="healthy" if simulated else None,
        run_dir="/evidence/staging/prerequisites/20261129T080000Z",
    )


def judge_recorded(verdict, simulated=False, max_age=24 * H):
    return assess_recorded_verdict(
        "staging_prerequisites",
        "Staging has been stable for 48+ hours",
        verdict,
        gate="prerequisites",
        env="staging",
        as_of=AS_OF,
        max_age=max_age,
        simulated=simulated,
    )


# --- recorded verdicts (preflight) --------------------------------------------------------------


def test_no_recorded_verdict_is_inconclusive_and_names_the_command():
    check = judge_recorded(None)
    assert check.status is Status.INCONCLUSIVE
    assert "rollout-gates run prerequisites --env staging" in check.detail


def test_recent_pass_passes():
    check = judge_recorded(recorded("PASS", 3))
    assert check.status is Status.PASS
    assert "3h 00m" in check.detail and "/evidence/staging/prerequisites" in check.detail


def test_pass_exactly_at_the_maximum_age_still_passes():
    # "not older than 24h": 24h old is not older.
    assert judge_recorded(recorded("PASS", 24)).status is Status.PASS


def test_stale_pass_is_inconclusive():
    check = judge_recorded(recorded("PASS", 30))
    assert check.status is Status.INCONCLUSIVE
    assert "stale" in check.detail and "30h 00m" in check.detail


def test_recorded_fail_fails_whatever_its_age():
    failing = Check(id="success_rate", rule="r", status=Status.FAIL, detail="d")
    for hours_old in (2, 100):
        check = judge_recorded(recorded("FAIL", hours_old, checks=[failing]))
        assert check.status is Status.FAIL
        assert "success_rate" in check.detail


@pytest.mark.parametrize("status", ["INCONCLUSIVE", "ERROR"])
def test_recorded_inconclusive_or_error_is_inconclusive(status):
    assert judge_recorded(recorded(status, 1)).status is Status.INCONCLUSIVE


def test_simulated_pass_is_no_evidence_for_a_real_database():
    assert judge_recorded(recorded("PASS", 1, simulated=True)).status is Status.INCONCLUSIVE
    assert judge_recorded(recorded("PASS", 1, simulated=True), simulated=True).status is (
        Status.PASS
    )


def preflight_params(**attest):
    overrides = {f"attest.{name}": who for name, who in attest.items()}
    return load_params(preflight.PreflightParams, "preflight", "production", overrides)


ALL_ATTESTED = {
    "oncall": "Ana",
    "rollback_plan": "Ben",
    "db_monitoring": "Chloe",
    "alert_channels": "Dev",
}


def test_preflight_with_fresh_passes_and_all_attestations_passes():
    shadow = recorded("PASS", 2).model_copy(update={"gate": "shadow", "env": "production"})
    verdicts = {"staging_prerequisites": recorded("PASS", 5), "production_shadow": shadow}
    checks = preflight.evaluate(verdicts, preflight_params(**ALL_ATTESTED), AS_OF, False)
    assert [c.status for c in checks] == [Status.PASS] * 6
    assert checks[2].id == "attest.oncall" and "Ana" in checks[2].detail
    assert preflight.actions(Status.PASS, "production")[0] == (
        "vercel env add FEATURE_ASSIGNMENT_PIPELINE_V3 production"
    )


def test_preflight_missing_attestation_is_inconclusive():
    verdicts = {"staging_prerequisites": recorded("PASS", 5), "production_shadow": None}
    attested = {k: v for k, v in ALL_ATTESTED.items() if k != "alert_channels"}
    statuses = {
        c.id: c.status
        for c in preflight.evaluate(verdicts, preflight_params(**attested), AS_OF, False)
    }
    assert statuses["attest.alert_channels"] is Status.INCONCLUSIVE
    assert statuses["production_shadow"] is Status.INCONCLUSIVE


def test_unreadable_recorded_verdict_is_an_error():
    verdicts = {
        "staging_prerequisites": RolloutGatesError("unreadable recorded verdict x"),
        "production_shadow": None,
    }
    checks = preflight.evaluate(verdicts, preflight_params(), AS_OF, False)
    assert checks[0].status is Status.ERROR


def test_checklist_ticks_only_passed_items():
    checks = [
        Check(id="a", rule="r", status=Status.PASS, detail="fine"),
        Check(id="b", rule="r", status=Status.INCONCLUSIVE, detail="not yet"),
    ]
    items = RunbookChecklist.of("S", [("First", "a"), ("Second", "b"), ("Third", "c")])
    text = checklist_markdown(items, checks)
    assert text.splitlines() == [
        "- [x] First — **PASS**: fine",
        "- [ ] Second — **INCONCLUSIVE**: not yet",
        "- [ ] Third — not checked",
    ]


# --- full mode's start and soak ---------------------------------------------------------------

LOOKBACK = Window.ending(AS_OF, 96 * H)
FULL_SINCE_60H = [
    FlagChange(ago(76), SHADOW, "true"),
    FlagChange(ago(76), MAX_PARALLEL, "3"),
    FlagChange(ago(60), V3, "true", old="false"),
    FlagChange(ago(60), SHADOW, "false", old="true"),
]
NO_TELEMETRY = ActiveStretch(lookback=LOOKBACK)


def test_soak_from_the_ledger_passes_after_48h_and_names_its_source():
    check = assess_soak(full_mode_start(FULL_SINCE_60H, NO_TELEMETRY, AS_OF), AS_OF, 48 * H)
    assert check.status is Status.PASS
    assert check.observed == "60h 00m"
    assert "flag ledger" in check.detail


def test_soak_not_yet_over_is_inconclusive_with_the_time_it_can_pass():
    # Full mode 60h before AS_OF; judged 20h after it was turned on: passes at +48h.
    as_of = ago(40)
    check = assess_soak(full_mode_start(FULL_SINCE_60H, NO_TELEMETRY, as_of), as_of, 48 * H)
    assert check.status is Status.INCONCLUSIVE
    assert f"can pass at {ago(60) + 48 * H:%Y-%m-%d %H:%M} UTC" in check.detail


def test_ledger_changes_after_the_as_of_are_ignored():
    # At 70h before AS_OF the ledger knows only the shadow phase: full mode is not on.
    as_of = ago(70)
    phase = full_mode_start(FULL_SINCE_60H, NO_TELEMETRY, as_of)
    assert phase.on is False and phase.source == "flag ledger"
    assert assess_soak(phase, as_of, 48 * H).status is Status.INCONCLUSIVE


def test_rolled_back_per_ledger_is_not_full_mode():
    changes = [*FULL_SINCE_60H, FlagChange(ago(2), V3, "false", old="true")]
    check = assess_soak(full_mode_start(changes, NO_TELEMETRY, AS_OF), AS_OF, 48 * H)
    assert check.status is Status.INCONCLUSIVE
    assert "not on" in check.detail and "legacy" in check.detail


def test_without_ledger_the_start_is_the_first_active_start_after_legacy_activity():
    stretch = ActiveStretch(
        lookback=LOOKBACK,
        active_starts=2400,
        first_active_at=ago(90),
        last_active_at=ago(0.01),
        legacy_events=300,
        last_legacy_at=ago(60.1),
        stretch_start=ago(60),
    )
    phase = full_mode_start([], stretch, AS_OF)
    assert phase.source == "telemetry" and phase.started == ago(60)
    check = assess_soak(phase, AS_OF, 48 * H)
    assert check.status is Status.PASS
    assert "telemetry" in check.detail


def test_without_ledger_or_telemetry_the_soak_is_inconclusive():
    check = assess_soak(full_mode_start([], NO_TELEMETRY, AS_OF), AS_OF, 48 * H)
    assert check.status is Status.INCONCLUSIVE
    assert "cannot tell" in check.detail


def test_legacy_activity_after_the_last_active_start_means_v3_is_off():
    stretch = ActiveStretch(
        lookback=LOOKBACK,
        active_starts=100,
        first_active_at=ago(50),
        last_active_at=ago(2),
        legacy_events=40,
        last_legacy_at=ago(1),
        stretch_start=None,
    )
    phase = full_mode_start([], stretch, AS_OF)
    assert phase.on is False
    assert assess_soak(phase, AS_OF, 48 * H).status is Status.INCONCLUSIVE


def test_no_legacy_in_the_lookback_means_on_at_least_since_its_first_start():
    stretch = ActiveStretch(
        lookback=LOOKBACK,
        active_starts=4000,
        first_active_at=ago(95.9),
        last_active_at=ago(0.01),
        stretch_start=ago(95.9),
    )
    check = assess_soak(full_mode_start([], stretch, AS_OF), AS_OF, 48 * H)
    assert check.status is Status.PASS
    assert "at least since" in check.detail


# --- MAX_PARALLEL -----------------------------------------------------------------------------


def test_current_max_parallel_comes_from_the_ledger():
    setting = current_max_parallel(None, FULL_SINCE_60H, AS_OF)
    assert setting.value == 3 and setting.source == "the flag ledger"
    assert setting.last_change.at == ago(76)


def test_max_parallel_parameter_wins_over_the_ledger_and_says_so():
    setting = current_max_parallel(4, FULL_SINCE_60H, AS_OF)
    assert setting.value == 4
    assert "the flag ledger says 3" in setting.note


def test_ledger_value_above_twenty_is_clamped_as_the_application_does():
    setting = current_max_parallel(None, [FlagChange(ago(10), MAX_PARALLEL, "30")], AS_OF)
    assert setting.value == 20
    assert assess_max_parallel(setting, 5).status is Status.FAIL


def test_unreadable_ledger_value_is_unknown():
    setting = current_max_parallel(None, [FlagChange(ago(10), MAX_PARALLEL, "three")], AS_OF)
    check = assess_max_parallel(setting, 5)
    assert check.status is Status.INCONCLUSIVE and "'three'" in check.detail


def test_unknown_max_parallel_is_inconclusive():
    check = assess_max_parallel(current_max_parallel(None, [], AS_OF), 5)
    assert check.status is Status.INCONCLUSIVE
    assert "--set max_parallel=N" in check.detail


@pytest.mark.parametrize(("value", "expected"), [(4, "PASS"), (5, "FAIL"), (6, "FAIL")])
def test_max_parallel_at_or_above_the_cap_fails(value, expected):
    check = assess_max_parallel(ParallelSetting(value, "the max_parallel parameter"), 5)
    assert check.status == expected
    if expected == "FAIL":
        assert "at the cap 5" in check.detail


def test_last_change_six_hours_ago_passes():
    change = FlagChange(ago(6), MAX_PARALLEL, "4", old="3")
    assert assess_change_spacing(change, AS_OF, 6 * H).status is Status.PASS


def test_recent_change_is_inconclusive_with_the_time_it_may_go_up():
    change = FlagChange(ago(3), MAX_PARALLEL, "4", old="3")
    check = assess_change_spacing(change, AS_OF, 6 * H)
    assert check.status is Status.INCONCLUSIVE
    assert f"may go up at {ago(3) + 6 * H:%Y-%m-%d %H:%M} UTC" in check.detail


def test_unknown_last_change_is_inconclusive():
    check = assess_change_spacing(None, AS_OF, 6 * H)
    assert check.status is Status.INCONCLUSIVE
    assert "unknown" in check.detail


def test_raise_commands_are_the_runbooks_for_the_next_value():
    assert raise_commands(3, 5, "production", 6 * H) == [
        "vercel env add FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL production",
        "# When prompted, enter: 4",
        "vercel --prod",
        "# Monitor for 6+ hours before the next increase (cap 5)",
    ]


def scale_params(**overrides):
    return load_params(scale.ScaleParams, "scale", "production", overrides)


def test_scale_passes_with_everything_met_and_advises_the_next_value():
    params = scale_params()
    metrics = scale.ScaleMetrics(
        setting=current_max_parallel(None, FULL_SINCE_60H, AS_OF),
        phase=full_mode_start(FULL_SINCE_60H, NO_TELEMETRY, AS_OF),
        outcomes=OutcomeSummary(confirmed=1900, manual_review=20),  # 1900/1920 = 98.96%
    )
    checks = scale.evaluate(metrics, params, AS_OF)
    assert [c.status for c in checks] == [Status.PASS] * 4
    assert scale.advice(Status.PASS, "production", metrics.setting, params, checks)[1] == (
        "# When prompted, enter: 4"
    )


def scale_success(confirmed, error):
    metrics = scale.ScaleMetrics(
        setting=current_max_parallel(None, FULL_SINCE_60H, AS_OF),
        phase=full_mode_start(FULL_SINCE_60H, NO_TELEMETRY, AS_OF),
        outcomes=OutcomeSummary(confirmed=confirmed, error=error),
    )
    checks = {c.id: c for c in scale.evaluate(metrics, scale_params(), AS_OF)}
    return metrics, checks["success_rate"]


def test_scale_success_confidently_below_97_percent_fails():
    # 1780/1920 = 92.7%: 1920 KL(0.927 || 0.97) = 1920 * 0.0228 = 43.8 nats, less the prior's
    # 0.5 ln(1920 / (2 pi 0.068)) = 4.2, leaves 39.6 > ln 20 = 3.0.
    metrics, check = scale_success(1780, 140)
    assert check.status is Status.FAIL
    advice = scale.advice(Status.FAIL, "production", metrics.setting, scale_params(), [])
    assert advice == []


def test_scale_success_a_little_below_97_percent_blocks_without_failing():
    # 1850/1920 = 96.4% < 97%: 1920 KL = 1920 * 0.00068 = 1.3 nats < 3.0 + ln 20: not
    # confidently below, so INCONCLUSIVE: the scale-up waits, nothing is rolled back.
    _, check = scale_success(1850, 70)
    assert check.status is Status.INCONCLUSIVE


# --- rates ------------------------------------------------------------------------------------


# --- the state machine ------------------------------------------------------------------------

NORMAL = [
    TransitionCount("created", "capacity_verified", 100, 100),
    TransitionCount("capacity_verified", "assignment_pending", 100, 100),
    TransitionCount("assignment_pending", "assignment_in_progress", 100, 100),
    TransitionCount("assignment_in_progress", "assigned", 100, 100),
    TransitionCount("assigned", "confirmed", 100, 100),
]


def test_allowed_transitions_pass():
    check = assess_transitions(NORMAL, ALLOWED)
    assert check.status is Status.PASS
    assert check.sample_size == 500


def test_transition_out_of_a_terminal_state_fails_and_is_listed():
    invalid = TransitionCount("confirmed", "assignment_pending", 5, 5)
    check = assess_transitions([*NORMAL, invalid], ALLOWED)
    assert check.status is Status.FAIL
    assert check.observed == 5
    assert "confirmed→assignment_pending ×5 (5 bookings)" in check.detail


def test_transition_without_from_or_unknown_state_fails():
    odd = [TransitionCount("(missing)", "assigned", 1, 1), TransitionCount("limbo", "failed", 2, 2)]
    check = assess_transitions([*NORMAL, *odd], ALLOWED)
    assert check.status is Status.FAIL and check.observed == 3


def test_no_transitions_is_inconclusive():
    assert assess_transitions([], ALLOWED).status is Status.INCONCLUSIVE


def test_matrix_marks_disallowed_cells():
    matrix = transition_matrix(
        [*NORMAL, TransitionCount("confirmed", "assignment_pending", 5)], ALLOWED
    )
    row = matrix.set_index("from_state").loc["confirmed"]
    assert row["assignment_pending"] == "5 !"
    assert matrix.set_index("from_state").loc["assigned", "confirmed"] == "100"


def stuck(total, observed=100):
    listed = pd.DataFrame(
        {
            "booking_id": [f"b{i}" for i in range(total)],
            "last_state": ["assignment_in_progress"] * total,
            "from_state": ["assignment_pending"] * total,
            "since": [ago(5.5)] * total,
            "last_outcome": [None] * total,
        }
    )
    return StuckBookings(observed, total, listed)


def test_stuck_bookings_fail_and_are_counted_by_last_state():
    check = assess_stuck(stuck(5), timedelta(minutes=10))
    assert check.status is Status.FAIL
    assert check.observed == 5
    assert "assignment_in_progress 5" in check.detail


def test_no_stuck_booking_passes():
    assert assess_stuck(stuck(0), timedelta(minutes=10)).status is Status.PASS


def test_no_booking_with_transitions_is_inconclusive():
    assert assess_stuck(stuck(0, observed=0), timedelta(minutes=10)).status is Status.INCONCLUSIVE


# --- the success gate, pure -------------------------------------------------------------------


def success_params(**overrides):
    return load_params(success.SuccessParams, "success", "production", overrides)


def success_metrics(**changes):
    base = {
        "phase": PhaseStart(True, ago(60), "flag ledger", "full mode"),
        "outcomes": OutcomeSummary(confirmed=1920),
        "buckets": [(ago(h), Proportion(40, 40)) for h in range(48, 0, -1)],
        "error_buckets": [0] * 288,
        "circuit_opens_max_per_hour": 0,
        "circuit_opens": 0,
        "transitions": NORMAL,
        "stuck": stuck(0),
    }
    return success.SuccessMetrics(**(base | changes))


def test_success_passes_only_with_both_attestations():
    attested = {"attest.no_customer_reports": "Ana", "attest.confirmation_emails": "Ben"}
    checks = success.evaluate(success_metrics(), success_params(**attested), ALLOWED, AS_OF)
    assert {c.status for c in checks} == {Status.PASS}
    assert len(checks) == 10
    unattested = success.evaluate(success_metrics(), success_params(), ALLOWED, AS_OF)
    assert {c.id for c in unattested if c.status is Status.INCONCLUSIVE} == {
        "attest.no_customer_reports",
        "attest.confirmation_emails",
    }


def test_success_fails_on_stuck_bookings_and_on_breaker_trips():
    metrics = success_metrics(stuck=stuck(3), circuit_opens=2, circuit_opens_max_per_hour=2)
    statuses = {c.id: c.status for c in success.evaluate(metrics, success_params(), ALLOWED, AS_OF)}
    assert statuses["stuck_bookings"] is Status.FAIL
    assert statuses["circuit_opens"] is Status.FAIL
    assert statuses["success_rate"] is Status.PASS
