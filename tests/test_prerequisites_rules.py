"""The stability rules of `prerequisites` and `full-extended`, named after their behaviour.

Pure: no database. Expected statuses are worked out by hand from DESIGN.md's rules and the
runbook's thresholds (97% / 1% over 48h, red flags 90% / 5% per hour). "Confidently beyond"
is the uniform beta-binomial mixture's evidence against the limit, ln B(k+1, n-k+1) -
k ln p - (n-k) ln(1-p), at least ln(looks / 0.05); its values are given in the comments.
"""

import re
from datetime import UTC, datetime, timedelta
from importlib import resources

import pandas as pd
import pytest

from rollout_gates.config.ledger import MAX_PARALLEL, SHADOW, V3, FlagChange
from rollout_gates.config.params import load_params
from rollout_gates.core.verdict import Status, gate_status
from rollout_gates.gates import full_extended, prerequisites
from rollout_gates.telemetry.metrics import OutcomeSummary, Window
from rollout_gates.telemetry.stability import (
    LEDGER,
    TELEMETRY,
    ActiveStarts,
    PhaseStart,
    StabilityMetrics,
    assess_soak,
    evaluate,
    resolve_phase_start,
)

AS_OF = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
LOOKBACK = 96 * H


@pytest.fixture(scope="module")
def params():
    return load_params(prerequisites.PrerequisitesParams, "prerequisites", "staging")


def hours_of(*summaries):
    """Hourly outcomes ending at AS_OF, oldest first."""
    count = len(summaries)
    return tuple((AS_OF - (count - i) * H, s) for i, s in enumerate(summaries))


STABLE = OutcomeSummary(confirmed=985, manual_review=5, unresolved=10)


def metrics(
    outcomes=STABLE,
    hours=None,
    errors=(0,) * 288,
    circuit_opens=0,
    max_opens=0,
    started=AS_OF - 60 * H,
):
    return StabilityMetrics(
        as_of=AS_OF,
        phase=PhaseStart(started, TELEMETRY, "first active start"),
        outcomes=outcomes,
        hours=hours if hours is not None else hours_of(*[OutcomeSummary(confirmed=20)] * 48),
        error_buckets=tuple(errors),
        circuit_opens=circuit_opens,
        circuit_opens_max_per_hour=max_opens,
    )


def statuses(checks):
    return {check.id: check.status for check in checks}


# --- the whole gate --------------------------------------------------------------------------


def test_stable_staging_passes_every_check(params):
    # 985/1000 = 98.5% >= 97%; 5/1000 = 0.5% < 1%; every hour 20/20; V3 on for 60h >= 48h.
    checks = evaluate(metrics(), params)
    assert statuses(checks) == dict.fromkeys(
        [
            "soak",
            "success_rate",
            "manual_review_rate",
            "red_flag_hours",
            "sustained_errors",
            "circuit_opens",
        ],
        Status.PASS,
    )
    assert gate_status(checks) is Status.PASS


def test_no_data_is_inconclusive_never_pass(params):
    empty = metrics(
        outcomes=OutcomeSummary(),
        hours=hours_of(*[OutcomeSummary()] * 48),
        started=None,
    )
    checks = statuses(evaluate(empty, params))
    assert checks["soak"] is Status.INCONCLUSIVE
    assert checks["success_rate"] is Status.INCONCLUSIVE
    assert checks["manual_review_rate"] is Status.INCONCLUSIVE
    assert checks["red_flag_hours"] is Status.INCONCLUSIVE
    assert gate_status(evaluate(empty, params)) is Status.INCONCLUSIVE


def test_fewer_decided_bookings_than_needed_is_inconclusive(params):
    # 49 of 49 confirmed: a perfect rate, but 49 < min_decided 50.
    check = evaluate(metrics(outcomes=OutcomeSummary(confirmed=49)), params)[1]
    assert check.id == "success_rate" and check.status is Status.INCONCLUSIVE
    assert "judged on 50 decided: 1 more decided booking" in check.detail


def test_success_confidently_below_97_percent_over_48h_fails(params):
    # 900/1000 = 90%: evidence against 97% is 49.3 nats, far above ln 20 = 3.0.
    check = evaluate(metrics(outcomes=OutcomeSummary(confirmed=900, unresolved=100)), params)[1]
    assert check.status is Status.FAIL
    assert check.rule == "success rate >= 97% over 48h"


def test_success_just_below_97_percent_on_100_bookings_is_inconclusive(params):
    # 96/100 = 96% < 97% on the point estimate, but the evidence is -2.85 nats: not a FAIL.
    check = evaluate(metrics(outcomes=OutcomeSummary(confirmed=96, unresolved=4)), params)[1]
    assert check.status is Status.INCONCLUSIVE
    assert "not confidently" in check.detail


def test_success_exactly_97_percent_passes(params):
    # ">= 97%": 97/100 is not below.
    check = evaluate(metrics(outcomes=OutcomeSummary(confirmed=97, unresolved=3)), params)[1]
    assert check.status is Status.PASS


# --- manual review: strictly below 1% --------------------------------------------------------


def manual_review(params, k, n, **overrides):
    outcomes = OutcomeSummary(confirmed=n - k, manual_review=k)
    check = evaluate(metrics(outcomes=outcomes), params.model_copy(update=overrides))[2]
    assert check.id == "manual_review_rate"
    return check


def test_manual_review_exactly_at_one_percent_does_not_pass(params):
    # The runbook says "< 1%": 5/500 is 1% exactly, not below it; nor confidently above it
    # (evidence -4.5 nats), so INCONCLUSIVE rather than FAIL.
    check = manual_review(params, 5, 500)
    assert check.status is Status.INCONCLUSIVE
    assert check.rule == "manual review rate < 1% over 48h"
    assert "not below" in check.detail


def test_manual_review_just_below_one_percent_passes(params):
    # 4/500 = 0.8% < 1%.
    assert manual_review(params, 4, 500).status is Status.PASS


def test_manual_review_confidently_above_one_percent_fails(params):
    # 30/500 = 6%: evidence against 1% is 25.8 nats > ln 20.
    assert manual_review(params, 30, 500).status is Status.FAIL


def test_manual_review_a_little_above_one_percent_is_inconclusive(params):
    # 6/500 = 1.2% > 1% on the point estimate only (evidence -4.3 nats).
    assert manual_review(params, 6, 500).status is Status.INCONCLUSIVE


# --- red-flag hours --------------------------------------------------------------------------


def red_flags(params, *summaries):
    check = evaluate(metrics(hours=hours_of(*summaries)), params)[3]
    assert check.id == "red_flag_hours"
    return check


FULL = OutcomeSummary(confirmed=40)


def test_a_dip_of_three_hours_is_a_red_flag_and_named(params):
    # 8 hours: 5 of 40/40, then 3 of 30 confirmed and 10 errors (75%). Stretches examined:
    # spans 1, 2, 3, 6 give 8 + 7 + 6 + 3 = 24, for 2 rates: 48 looks, threshold ln(48/0.05)
    # = 6.87. The 3h dip 90/120 has evidence 8.76 against 90%: a red flag, named by its hours.
    bad = OutcomeSummary(confirmed=30, error=10)
    check = red_flags(params, *[FULL] * 5, *[bad] * 3)
    assert check.status is Status.FAIL
    # The dip is the last 3 of 8 hours ending at 12:00: 09:00-12:00.
    assert "2026-11-29 09:00-12:00 UTC" in check.detail
    assert "75.0% (90/120" in check.detail


def test_one_hour_of_85_percent_is_only_a_warn(params):
    # 34/40 = 85% < 90% on 40 >= 10 decided, but its evidence is -1.48 nats: a WARN, listed.
    dip = OutcomeSummary(confirmed=34, unresolved=5, manual_review=1)
    check = red_flags(params, FULL, dip, FULL)
    assert check.status is Status.WARN
    assert "2026-11-29 10:00-11:00 UTC" in check.detail


def test_manual_review_of_7_5_percent_in_one_hour_is_only_a_warn(params):
    # 3/40 = 7.5% > 5% on the point estimate; evidence -2.03 nats.
    check = red_flags(params, FULL, OutcomeSummary(confirmed=37, manual_review=3))
    assert check.status is Status.WARN
    assert "manual review" in check.detail


def test_hour_exactly_at_the_red_flag_limits_is_not_a_red_flag(params):
    # 18/20 = 90% is not below 90%; 1/20 = 5% is not above 5%; 60 >= 50 decided in all.
    check = red_flags(params, FULL, OutcomeSummary(confirmed=18, manual_review=1, unresolved=1))
    assert check.status is Status.PASS


def test_single_failed_booking_alone_in_its_hour_is_not_a_red_flag(params):
    # 0/1: evidence against 90% is ln 5 = 1.6 < ln 20 even alone; pooled with its neighbours
    # it is 40/41 or 80/81. 81 >= 50 decided: PASS. (The old Wilson rule called it a FAIL.)
    check = red_flags(params, FULL, OutcomeSummary(unresolved=1), FULL)
    assert check.status is Status.PASS


def test_no_decided_booking_in_any_hour_is_inconclusive(params):
    check = red_flags(params, *[OutcomeSummary(pending=2)] * 3)
    assert check.status is Status.INCONCLUSIVE


def test_many_red_flag_stretches_are_counted_and_the_first_listed(params):
    # 8 hours of 30/40 (75%): alone 1.92 nats, 2h 60/80 5.27, both < 6.87; every 3h stretch
    # (90/120, 8.76) and 6h stretch (180/240, 19.5) is flagged: 6 + 3 = 9, 5 listed.
    bad = OutcomeSummary(confirmed=30, error=10)
    check = red_flags(params, *[bad] * 8)
    assert check.status is Status.FAIL and check.observed == 9
    assert "and 4 more" in check.detail


# --- errors and circuit opens ----------------------------------------------------------------


def test_sustained_errors_anywhere_in_48h_fail(params):
    # Errors in 3 consecutive 10-minute buckets, 40 hours ago.
    errors = [0] * 288
    errors[48:51] = [1, 2, 1]
    check = statuses(evaluate(metrics(errors=errors), params))["sustained_errors"]
    assert check is Status.FAIL


def test_isolated_errors_only_warn(params):
    errors = [0] * 288
    errors[10], errors[200] = 1, 1
    checks = evaluate(metrics(errors=errors), params)
    assert statuses(checks)["sustained_errors"] is Status.WARN
    assert gate_status(checks) is Status.PASS


def test_a_single_circuit_open_fails(params):
    # "No circuit breaker trips": unlike full-health's "more than 5 in an hour", any is a FAIL.
    check = evaluate(metrics(circuit_opens=1, max_opens=1), params)[-1]
    assert check.id == "circuit_opens" and check.status is Status.FAIL
    assert check.rule == "no coordinator.circuit_open over 48h (no circuit breaker trips)"


# --- soak ------------------------------------------------------------------------------------


def test_soak_not_reached_is_inconclusive_and_names_when_it_can_pass():
    # Full mode since 30h before the as-of: 48h are reached 18h after it.
    phase = PhaseStart(AS_OF - 30 * H, LEDGER, "full mode set")
    check = assess_soak(phase, AS_OF, 48 * H)
    assert check.status is Status.INCONCLUSIVE
    assert "can pass at 2026-11-30 06:00:00 UTC" in check.detail
    assert "flag ledger" in check.detail
    assert check.observed == "30.0h"


def test_soak_a_few_minutes_short_never_reads_as_complete():
    # 47h58m of 48h: rounded down to 47.9h, and INCONCLUSIVE until 2 minutes later.
    phase = PhaseStart(AS_OF - 48 * H + timedelta(minutes=2), TELEMETRY, "first start")
    check = assess_soak(phase, AS_OF, 48 * H)
    assert check.status is Status.INCONCLUSIVE
    assert check.observed == "47.9h"
    assert "can pass at 2026-11-29 12:02:00 UTC" in check.detail


def test_soak_reached_passes_and_names_its_source():
    check = assess_soak(PhaseStart(AS_OF - 48 * H, TELEMETRY, "first start"), AS_OF, 48 * H)
    assert check.status is Status.PASS
    assert "from the telemetry" in check.detail


def test_soak_without_a_phase_start_is_inconclusive():
    phase = PhaseStart(None, TELEMETRY, "no coordinator.start with mode=active")
    assert assess_soak(phase, AS_OF, 48 * H).status is Status.INCONCLUSIVE


def change(hours_before, variable, value):
    return FlagChange(AS_OF - hours_before * H, variable, value, by="test")


FULL_60H = [
    change(76, SHADOW, "true"),
    change(60, V3, "true"),
    change(60, SHADOW, "false"),
    change(60, MAX_PARALLEL, "3"),
]
TELEMETRY_20H = ActiveStarts(
    first_active_start=AS_OF - 20 * H,
    active_since=AS_OF - 20 * H,
    last_active_start=AS_OF,
    active_starts=800,
)


def test_ledger_wins_over_telemetry():
    phase = resolve_phase_start(FULL_60H, TELEMETRY_20H, AS_OF, "staging", LOOKBACK)
    assert phase.source == LEDGER and phase.started == AS_OF - 60 * H


def test_ledger_entries_after_the_as_of_are_ignored():
    # A rollback recorded after the as-of does not change what was true at it.
    later = [*FULL_60H, FlagChange(AS_OF + H, V3, "false", "true")]
    phase = resolve_phase_start(later, TELEMETRY_20H, AS_OF, "staging", LOOKBACK)
    assert phase.started == AS_OF - 60 * H


def test_ledger_in_shadow_means_v3_is_not_active():
    shadow = [change(30, SHADOW, "true"), change(30, V3, "false")]
    phase = resolve_phase_start(shadow, TELEMETRY_20H, AS_OF, "production", LOOKBACK)
    assert phase.source == LEDGER and phase.started is None
    assert "phase shadow" in phase.how


def test_ledger_without_v3_flags_falls_back_to_telemetry():
    only_parallel = [change(10, MAX_PARALLEL, "4")]
    phase = resolve_phase_start(only_parallel, TELEMETRY_20H, AS_OF, "production", LOOKBACK)
    assert phase.source == TELEMETRY and phase.started == AS_OF - 20 * H


def test_telemetry_restarts_the_clock_after_legacy_activity():
    # V3 seen since 90h ago, but the legacy planner ran 10h ago (a rollback and re-enable):
    # the clock starts at the first active start after that.
    active = ActiveStarts(
        first_active_start=AS_OF - 90 * H,
        active_since=AS_OF - 9 * H,
        last_active_start=AS_OF,
        last_legacy_activity=AS_OF - 10 * H,
        active_starts=3000,
    )
    phase = resolve_phase_start([], active, AS_OF, "production", LOOKBACK)
    assert phase.started == AS_OF - 9 * H
    assert "after the last legacy-planner event" in phase.how


def test_legacy_activity_after_the_last_active_start_means_v3_is_off():
    active = ActiveStarts(
        first_active_start=AS_OF - 50 * H,
        last_active_start=AS_OF - 3 * H,
        last_legacy_activity=AS_OF - H,
        active_starts=1900,
    )
    phase = resolve_phase_start([], active, AS_OF, "production", LOOKBACK)
    assert phase.started is None and "rolled back" in phase.how


def test_no_active_start_and_no_ledger_has_no_phase_start():
    phase = resolve_phase_start([], ActiveStarts(), AS_OF, "staging", LOOKBACK)
    assert phase.started is None and "96h lookback" in phase.how


# --- advice ----------------------------------------------------------------------------------


def test_prerequisites_pass_prints_the_shadow_phase_commands():
    lines = prerequisites.actions(Status.PASS, "staging")
    assert "vercel env add FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW production" in lines
    assert "vercel --prod" in lines


def test_prerequisites_inconclusive_says_why_and_how_to_rerun(params):
    checks = evaluate(metrics(started=AS_OF - 30 * H), params)
    lines = prerequisites.actions(gate_status(checks), "staging", checks)
    assert any("can pass at" in line for line in lines)
    assert lines[-1] == "rollout-gates run prerequisites --env staging"


def test_full_extended_fail_prints_the_rollback_plan(params):
    checks = evaluate(metrics(circuit_opens=1, max_opens=1), params)
    lines = full_extended.actions(gate_status(checks), "production", checks)
    assert "vercel env add FEATURE_ASSIGNMENT_PIPELINE_V3 production" in lines
    assert any(line.startswith("# circuit_opens:") for line in lines)


# --- parameters and queries ------------------------------------------------------------------


def test_both_gates_read_their_sections_of_the_defaults():
    extended = load_params(full_extended.FullExtendedParams, "full-extended", "production")
    staging = load_params(prerequisites.PrerequisitesParams, "prerequisites", "staging")
    for gate_params in (extended, staging):
        assert gate_params.window == gate_params.soak == 48 * H
        assert (gate_params.success_rate_min, gate_params.manual_review_rate_max) == (0.97, 0.01)
    assert extended.trend_bucket == H


def test_retry_series_keeps_the_top_reasons_and_groups_the_rest():
    window = Window.ending(AS_OF, 3 * H)
    starts = [AS_OF - 3 * H, AS_OF - 2 * H, AS_OF - H]
    retries = pd.DataFrame(
        {
            "bucket_start": [starts[0], starts[0], starts[1], starts[2], starts[2]],
            "reason": ["rate_limited", "timeout 1", "rate_limited", "timeout 2", "hold"],
            "retries": [3, 1, 2, 1, 1],
        }
    )
    series = full_extended.retry_series(retries, window, H, keep=2)
    # rate_limited 5; then hold, timeout 1, timeout 2 with 1 each: "hold" first by name.
    assert list(series) == ["rate_limited", "hold", "other reasons"]
    assert series["rate_limited"]["events"].tolist() == [3, 2, 0]
    assert series["other reasons"]["events"].tolist() == [1, 0, 1]


def test_no_retries_still_give_one_empty_series():
    series = full_extended.retry_series(
        pd.DataFrame(columns=["bucket_start", "reason", "retries"]), Window.ending(AS_OF, H), H
    )
    assert [frame["events"].sum() for frame in series.values()] == [0]


def sql(name):
    return resources.files("rollout_gates.telemetry").joinpath("queries", f"{name}.sql").read_text()


OWN_QUERIES = (
    "full_mode_start",
    "full_extended_durations",
    "full_extended_retry_reasons",
)


BOUNDED_FIRST = re.compile(
    r"observability_events(?:\s+AS\s+\w+)?\s+(?:WHERE|ON)\s+(?:\w+\.)?created_at >= :\w+"
    r"\s+AND\s+(?:\w+\.)?created_at < :window_end"
)


@pytest.mark.parametrize("name", OWN_QUERIES)
def test_own_queries_bind_event_names_and_bound_created_at_first(name):
    body = "\n".join(line for line in sql(name).splitlines() if not line.startswith("--"))
    assert not re.search(r"'(coordinator|booking|auto_assign|inline_auto_assign)\.", body)
    assert body.count("observability_events") == len(BOUNDED_FIRST.findall(body)) > 0
    assert "now()" not in body


@pytest.mark.parametrize("query", full_extended.RUNBOOK_SUITE, ids=lambda q: q.name)
def test_runbook_suite_is_a_labelled_reconstruction_over_a_bound_window(query):
    text = sql(f"runbook/{query.name}")
    header = "\n".join(line for line in text.splitlines() if line.startswith("--"))
    assert "RECONSTRUCTION" in header and "Caveat:" in header
    body = text.replace(header, "")
    assert "created_at >= :window_start" in body and "created_at < :window_end" in body
    assert "now()" not in body
    assert query.caveat
