"""The decision rules, named after the behaviour they guarantee.

Expected statuses are worked out by hand from DESIGN.md's rules. The rate rules (red
flags and criteria) are tested in test_rates.py.
"""

from datetime import UTC, datetime, timedelta

import pytest

from rollout_gates.core.verdict import Status
from rollout_gates.rules.signals import (
    assess_circuit_opens,
    assess_no_circuit_opens,
    assess_sustained_errors,
    assess_telemetry_coverage,
    assess_v3_traffic,
)
from rollout_gates.telemetry.metrics import Traffic


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


# --- circuit breaker trips ------------------------------------------------


def test_any_circuit_open_is_a_breaker_trip():
    check = assess_no_circuit_opens(1, 1)
    assert check.status is Status.FAIL
    assert check.rule == "no coordinator.circuit_open in the window (no circuit breaker trips)"
    assert assess_no_circuit_opens(0, 0).status is Status.PASS


def test_active_starts_while_the_ledger_says_off_mean_flags_and_telemetry_disagree():

    from rollout_gates.rules.signals import assess_flags_vs_telemetry
    from rollout_gates.telemetry.metrics import FlagDisagreement

    t = datetime(2026, 11, 27, 0, 30, tzinfo=UTC)
    check = assess_flags_vs_telemetry(FlagDisagreement(40, t, t + timedelta(minutes=58)))
    assert check.status is Status.FAIL
    assert "flags and telemetry disagree" in check.detail
    assert assess_flags_vs_telemetry(FlagDisagreement(0)).status is Status.PASS


def test_a_silent_hour_after_steady_arrivals_fails_v3_traffic():
    # Nothing at all in the hour; 120 bookings in the 6h before (20 an hour). Silence for 1h
    # at that rate: P = (6/7)^120 = 9e-9 < 0.05: bookings are not arriving or not recorded.
    from rollout_gates.telemetry.arrivals import judge_silence

    start = datetime(2026, 11, 29, 11, 0, tzinfo=UTC)
    silence = judge_silence(120, timedelta(hours=6), start, start + timedelta(hours=1), 0.95)
    check = assess_v3_traffic(Traffic(0, 0, 0), silence)
    assert check.status is Status.FAIL
    assert "120 bookings in the 6h before it" in check.detail


def test_a_silent_hour_at_the_real_volume_decides_nothing():
    # 7 bookings in the 6h before (about 1.125 an hour): P = (6/7)^7 = 0.34, no evidence;
    # it says when the silence would become decidable: (6/7)^7 < 0.05 needs t > 6h x
    # (0.05^(-1/7) - 1) = 3.2h after the window began, at 14:12.
    from rollout_gates.telemetry.arrivals import judge_silence

    start = datetime(2026, 11, 29, 11, 0, tzinfo=UTC)
    silence = judge_silence(7, timedelta(hours=6), start, start + timedelta(hours=1), 0.95)
    check = assess_v3_traffic(Traffic(0, 0, 0), silence)
    assert check.status is Status.INCONCLUSIVE and check.no_data
    assert "decidable at 2026-11-29 14:12 UTC" in check.detail


def test_a_healthy_share_of_errors_at_high_volume_is_not_sustained():
    # 200 bookings an hour: ~33 outcomes per 10-minute bucket, 1% errors: one error in each of
    # six buckets is 1/33 = 3% of the bucket, not more than 10%: none counts, not sustained.
    check = assess_sustained_errors(
        [1] * 6, 3, timedelta(minutes=10), outcome_counts=[33] * 6, share=0.1
    )
    assert check.status is Status.WARN
    assert check.observed == 0


def test_errors_sustained_in_their_share_of_each_bucket_fail():
    # 5 of 33 (15% > 10%) in three consecutive buckets: sustained.
    check = assess_sustained_errors(
        [0, 5, 5, 5, 0], 3, timedelta(minutes=10), outcome_counts=[33] * 5, share=0.1
    )
    assert check.status is Status.FAIL and check.observed == 3


def test_one_error_in_a_quiet_bucket_is_all_of_it():
    # 1 of 2 outcomes (50%) in three consecutive buckets at a low volume: sustained, as before.
    check = assess_sustained_errors(
        [1, 1, 1], 3, timedelta(minutes=10), outcome_counts=[2, 1, 2], share=0.1
    )
    assert check.status is Status.FAIL
