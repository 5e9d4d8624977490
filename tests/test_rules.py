"""The decision rules, named after the behaviour they guarantee.

Expected statuses are worked out by hand from DESIGN.md's rules; Wilson bounds
used below are computed in the comments with z = 1.96.
"""

from datetime import UTC, datetime, timedelta

import pytest

from rollout_gates.metrics import Traffic
from rollout_gates.rules import (
    assess_circuit_opens,
    assess_no_circuit_opens,
    assess_rate,
    assess_red_flag_buckets,
    assess_sustained_errors,
    assess_telemetry_coverage,
    assess_v3_traffic,
    judge_bucket,
)
from rollout_gates.stats import Proportion
from rollout_gates.verdict import Status

RED_FLAG = {"min_decided": 10, "red_flag_min_decided": 10}


def success(k, n, **rules):
    return assess_rate(
        "success_rate", "success rate", Proportion(k, n), 0.90, at_least=True, **(RED_FLAG | rules)
    )


def manual_review(k, n, **rules):
    return assess_rate(
        "manual_review_rate",
        "manual review rate",
        Proportion(k, n),
        0.05,
        at_least=False,
        **(RED_FLAG | rules),
    )


def test_no_decided_bookings_is_inconclusive():
    check = success(0, 0)
    assert check.status is Status.INCONCLUSIVE
    assert "no decided bookings" in check.detail


def test_success_below_limit_with_enough_bookings_fails():
    # 34/40 = 85% < 90% with 40 >= 10 decided: the point estimate decides.
    check = success(34, 40)
    assert check.status is Status.FAIL
    assert check.sample_size == 40


def test_success_exactly_at_limit_passes():
    # ">= 90%": 36/40 is exactly 90%, not a red flag.
    assert success(36, 40).status is Status.PASS


def test_red_flag_needs_whole_interval_below_limit_when_sample_small():
    # 3/5: Wilson upper = (0.6 + 0.384)/1.768 + 1.96*sqrt(0.048 + 0.0384)/1.768 = 0.882 < 0.90.
    assert success(3, 5).status is Status.FAIL
    # 4/5: upper = 0.670 + 0.294 = 0.964 >= 0.90: below the limit, but not provably.
    check = success(4, 5)
    assert check.status is Status.INCONCLUSIVE
    assert "small sample" in check.detail


def test_small_sample_within_limit_is_inconclusive_not_pass():
    check = success(5, 5)
    assert check.status is Status.INCONCLUSIVE
    assert "5 decided bookings, 10 needed" in check.detail


def test_point_below_limit_never_passes_when_min_decided_is_lowered():
    # min_decided 3 < red_flag_min_decided 10: 4/5 is below 90% but cannot fail yet.
    assert success(4, 5, min_decided=3).status is Status.INCONCLUSIVE


def test_manual_review_above_limit_fails():
    # 3/40 = 7.5% > 5%.
    assert manual_review(3, 40).status is Status.FAIL


def test_manual_review_at_limit_passes():
    # 2/40 = 5% is not "> 5%".
    assert manual_review(2, 40).status is Status.PASS


def test_single_manual_review_fails_on_its_interval():
    # 1/1: Wilson lower = 0.603 - 0.397 = 0.207 > 5%: even one booking proves it.
    assert manual_review(1, 1).status is Status.FAIL


def test_sustained_errors_fail():
    check = assess_sustained_errors([0, 1, 2, 1, 0, 0], 3, timedelta(minutes=10))
    assert check.status is Status.FAIL
    assert check.observed == 3
    assert check.sample_size == 4


def test_isolated_errors_warn_without_failing():
    check = assess_sustained_errors([1, 0, 1, 1, 0, 1], 3, timedelta(minutes=10))
    assert check.status is Status.WARN
    assert check.observed == 2


def test_no_errors_pass():
    assert assess_sustained_errors([0] * 6, 3, timedelta(minutes=10)).status is Status.PASS


def test_frequent_circuit_opens_fail():
    assert assess_circuit_opens(6, 6, limit=5).status is Status.FAIL


def test_circuit_opens_at_limit_only_warn():
    assert assess_circuit_opens(5, 9, limit=5).status is Status.WARN


@pytest.mark.parametrize(
    ("traffic", "expected"),
    [
        (
            Traffic(active_starts=0, bookings_with_activity=80, bookings_seen_by_coordinator=0),
            "FAIL",
        ),
        (
            Traffic(active_starts=0, bookings_with_activity=0, bookings_seen_by_coordinator=0),
            "INCONCLUSIVE",
        ),
        (
            Traffic(active_starts=41, bookings_with_activity=40, bookings_seen_by_coordinator=40),
            "PASS",
        ),
    ],
)
def test_v3_without_traffic_while_bookings_exist_fails(traffic, expected):
    assert assess_v3_traffic(traffic).status == expected


def test_telemetry_gap_is_an_advisory_warning():
    gap = Traffic(active_starts=20, bookings_with_activity=40, bookings_seen_by_coordinator=20)
    assert assess_telemetry_coverage(gap).status is Status.WARN


def test_strict_limit_fails_at_the_limit_itself():
    # "manual review rate < 1%": 1 of 100 is exactly 1%, which is not below 1%.
    check = assess_rate(
        "manual_review_rate",
        "manual review rate",
        Proportion(1, 100),
        0.01,
        at_least=False,
        strict=True,
        min_decided=50,
        red_flag_min_decided=10,
    )
    assert check.status is Status.FAIL
    assert check.rule == "manual review rate < 1%"


def strict_manual(k, n, **rules):
    rules = {"min_decided": 50, "red_flag_min_decided": 10} | rules
    return assess_rate(
        "manual_review_rate",
        "manual review rate",
        Proportion(k, n),
        0.01,
        at_least=False,
        strict=True,
        **rules,
    )


def test_manual_review_exactly_at_one_percent_is_not_below_it():
    # 2/200 = 1%: "< 1%" is not met.
    check = strict_manual(2, 200)
    assert check.status is Status.FAIL
    assert check.rule == "manual review rate < 1%"


def test_manual_review_just_below_one_percent_passes():
    # 2/201 = 0.995% < 1%.
    assert strict_manual(2, 201).status is Status.PASS


def test_manual_review_at_limit_on_a_small_sample_is_inconclusive():
    # 1/100 with red_flag_min_decided raised to 200: at the limit, but too few to call it.
    assert strict_manual(1, 100, red_flag_min_decided=200).status is Status.INCONCLUSIVE


def test_strict_limit_fails_above_the_limit():
    # 5/200 = 2.5% > 1%.
    assert strict_manual(5, 200).status is Status.FAIL


# --- red-flag buckets and circuit breaker trips ------------------------------------------------

H = timedelta(hours=1)
NOON = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def success_buckets(*proportions):
    """A success-rate red flag (< 90%, 10 decided to call it) for hourly buckets ending at noon."""
    count = len(proportions)
    verdicts = [
        judge_bucket(NOON - (count - i) * H, [("success rate", p, 0.90, True)], 10)
        for i, p in enumerate(proportions)
    ]
    return assess_red_flag_buckets("success_sustained", "no red-flag hour", verdicts, H)


def test_one_red_flag_hour_fails():
    # Hour 2: 34/40 = 85% < 90% with 40 >= 10 decided. Hours 1 and 3: 40/40.
    check = success_buckets(Proportion(40, 40), Proportion(34, 40), Proportion(40, 40))
    assert check.status is Status.FAIL
    assert check.observed == 1 and check.sample_size == 3
    assert "2026-11-29 10:00-11:00 UTC" in check.detail
    assert "85.0% (34/40" in check.detail


def test_small_hour_below_the_line_is_not_a_red_flag_unless_provably():
    # 4/5 = 80%: Wilson upper 0.964 >= 90%, not provably below; 3/5: upper 0.882 < 90%.
    check = success_buckets(Proportion(4, 5))
    assert check.status is Status.PASS
    assert "1 beyond a limit on too small a sample" in check.detail
    assert success_buckets(Proportion(3, 5)).status is Status.FAIL


def test_hour_without_decided_bookings_judges_nothing():
    assert success_buckets(Proportion(0, 0), Proportion(0, 0)).status is Status.INCONCLUSIVE
    check = success_buckets(Proportion(0, 0), Proportion(40, 40))
    assert check.status is Status.PASS and check.sample_size == 1


def test_any_circuit_open_is_a_breaker_trip():
    check = assess_no_circuit_opens(1, 1)
    assert check.status is Status.FAIL
    assert check.rule == "no coordinator.circuit_open in the window (no circuit breaker trips)"
    assert assess_no_circuit_opens(0, 0).status is Status.PASS


def test_active_starts_while_the_ledger_says_off_mean_flags_and_telemetry_disagree():
    from datetime import UTC, datetime

    from rollout_gates.metrics import FlagDisagreement
    from rollout_gates.rules import assess_flags_vs_telemetry

    t = datetime(2026, 11, 27, 0, 30, tzinfo=UTC)
    check = assess_flags_vs_telemetry(FlagDisagreement(40, t, t + timedelta(minutes=58)))
    assert check.status is Status.FAIL
    assert "flags and telemetry disagree" in check.detail
    assert assess_flags_vs_telemetry(FlagDisagreement(0)).status is Status.PASS
