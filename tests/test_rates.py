"""Red flags and criteria (DESIGN.md, "Statistics"), named after the behaviour.

Every expected status is worked out in the comments from the rules and the uniform-prior
beta-binomial mixture: after k of n the evidence against a rate p is
B(k+1, n-k+1) / (p^k (1-p)^(n-k)), and "confidently beyond" means evidence >= 1/alpha = 20.
"""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from rollout_gates.core.outcomes import MANUAL_REVIEW, NOT_CONFIRMED
from rollout_gates.core.stats import Proportion
from rollout_gates.core.verdict import Behind, Status
from rollout_gates.rules.rates import (
    Sample,
    assess_criterion,
    assess_red_flag,
    assess_red_flag_stretches,
    manual_review_rule,
    success_rule,
)

NOON = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
HOURLY = SimpleNamespace(min_decided=10, confidence=0.95)  # full-health's parameters
DAYS_2 = SimpleNamespace(min_decided=50, confidence=0.95)  # the 48h gates'


def last_hour(k, n):
    return Sample(Proportion(k, n), "the last hour", 1.0, NOON)


def over_48h(k, n):
    return Sample.ending(Proportion(k, n), NOON, 48 * H)


def red_flag_success(*samples):
    return assess_red_flag(success_rule(0.90, HOURLY), list(samples))


def criterion_success(k, n):
    return assess_criterion(success_rule(0.97, DAYS_2), over_48h(k, n))


def test_no_decided_bookings_is_inconclusive():
    check = red_flag_success(last_hour(0, 0))
    assert check.status is Status.INCONCLUSIVE
    assert "no decided bookings" in check.detail
    assert criterion_success(0, 0).status is Status.INCONCLUSIVE


def test_one_failed_booking_of_one_in_the_hour_is_not_a_fail():
    # P(0 of 1 | 90%) = 0.10; evidence (1/2) / 0.1 = 5 < 20. One booking < 10 to judge.
    check = red_flag_success(last_hour(0, 1))
    assert check.status is Status.INCONCLUSIVE
    assert check.evidence.bookings_to_decide == 1  # a second failure would make it a FAIL
    assert "not confidently" in check.detail


def test_two_failed_of_two_in_the_hour_is_a_fail():
    # P = 0.1^2 = 0.01; evidence (1/3) / 0.01 = 33 > 20: a FAIL even on 2 < 10 bookings.
    check = red_flag_success(last_hour(0, 2))
    assert check.status is Status.FAIL
    assert check.evidence.high < 0.90
    assert "the whole 95% bound is below 90%" in check.detail


def test_a_fail_says_where_its_bookings_are_and_other_verdicts_do_not():
    # The last hour before noon, against the success rate: every decided, unconfirmed booking.
    check = red_flag_success(last_hour(0, 2))
    assert check.behind == [Behind(start=NOON - H, end=NOON, outcomes=NOT_CONFIRMED)]
    assert red_flag_success(last_hour(0, 1)).behind == []  # INCONCLUSIVE
    reviews = assess_red_flag(manual_review_rule(0.05, HOURLY, strict=False), [last_hour(2, 2)])
    assert reviews.status is Status.FAIL  # 2 of 2 against 5%: evidence (1/3) / 0.0025 = 133
    assert reviews.behind == [Behind(start=NOON - H, end=NOON, outcomes=(MANUAL_REVIEW,))]


def test_one_manual_review_in_nineteen_is_a_warn_not_a_fail():
    # 1/19 = 5.3% > 5% on the point estimate; P(X >= 1 | 19, 5%) = 1 - 0.95^19 = 0.62.
    # Evidence B(2, 19) / (0.05 * 0.95^18) = (1/380) / 0.0199 = 0.13, far from 20.
    check = assess_red_flag(manual_review_rule(0.05, HOURLY, strict=False), [last_hour(1, 19)])
    assert check.status is Status.WARN
    assert not check.gating


def test_eighty_four_percent_of_nineteen_is_a_warn():
    # The old demo's failing hour: 16/19 = 84%, P(X <= 16 | 19, 0.9) = 0.29: no evidence.
    assert red_flag_success(last_hour(16, 19)).status is Status.WARN


def test_a_healthy_hour_with_enough_bookings_passes():
    # 19/20 = 95% >= 90% on 20 >= 10 decided.
    assert red_flag_success(last_hour(19, 20)).status is Status.PASS


def test_full_mode_so_far_decides_when_the_last_hour_is_too_small():
    # Last hour 1/1: too few. Full mode so far (6h): 24/25 = 96% on 25 >= 10: PASS, and the
    # detail says which window decided.
    since = Sample(Proportion(24, 25), "full mode so far", 6.0, NOON)
    check = red_flag_success(last_hour(1, 1), since)
    assert check.status is Status.PASS
    assert "decided by full mode so far" in check.detail
    assert check.evidence.window == "full mode so far"


def test_a_confident_last_hour_fails_even_when_full_mode_so_far_looks_fine():
    # Last hour 2/10: evidence against 90% is B(3, 9) / (0.9^2 0.1^8) = 0.00202 / 8.1e-9,
    # far above 20. Over 6h 52/60 = 86.7% is not confidently below 90%.
    since = Sample(Proportion(52, 60), "full mode so far", 6.0, NOON)
    check = red_flag_success(last_hour(2, 10), since)
    assert check.status is Status.FAIL
    assert check.evidence.window == "the last hour"


def test_53_of_54_over_48h_passes_uncertified_with_the_bookings_to_certify():
    # 98.1% >= 97% on 54 >= 50: PASS. Evidence against 97%: B(54, 2) / (0.97^53 0.03)
    # = (1/2970) / 0.00597 = 0.056, nowhere near 20: not certified.
    check = criterion_success(53, 54)
    assert check.status is Status.PASS
    assert check.evidence.certified is False
    assert check.evidence.bookings_to_decide > 1000
    assert f"about {check.evidence.bookings_to_decide} more decided bookings" in check.detail
    assert check.evidence.decidable_at > NOON


def test_52_of_54_over_48h_is_inconclusive_not_fail():
    # 96.3% < 97% on the point estimate, but P(X <= 52 | 54, 0.97) = 0.48: no evidence.
    check = criterion_success(52, 54)
    assert check.status is Status.INCONCLUSIVE
    assert "not confidently" in check.detail
    assert check.evidence.bookings_to_decide is not None


def test_1900_of_2000_over_48h_fails():
    # 95% vs 97%: 2000 * KL(0.95 || 0.97) = 2000 * 0.00593 = 11.9 nats, less the uniform
    # prior's cost 0.5 ln(2000 / (2 pi 0.0475)) = 4.4, leaves about 7.1 > ln 20 = 3.0.
    check = criterion_success(1900, 2000)
    assert check.status is Status.FAIL
    assert check.evidence.high < 0.97


def test_a_criterion_met_on_too_few_bookings_is_inconclusive_with_how_many_more():
    # 30/30 meets 97% but 30 < 50: 20 more, at 30 per 48h = 0.625/h, about 32h.
    check = criterion_success(30, 30)
    assert check.status is Status.INCONCLUSIVE
    assert check.evidence.bookings_to_decide == 20
    assert check.evidence.decidable_at == NOON + timedelta(hours=32)


def test_a_large_clean_sample_is_certified():
    # 2000/2000: evidence against 97% is (1/2001) / 0.97^2000 = e^(60.9 - 7.6), certified.
    check = criterion_success(2000, 2000)
    assert check.status is Status.PASS and check.evidence.certified


def test_manual_review_exactly_at_one_percent_is_not_below_it_but_not_a_fail():
    # "< 1%": 2/200 = 1% is not below; nor is it confidently above 1%.
    rule = manual_review_rule(0.01, DAYS_2, strict=True)
    assert assess_criterion(rule, over_48h(2, 200)).status is Status.INCONCLUSIVE
    assert assess_criterion(rule, over_48h(2, 201)).status is Status.PASS


def test_manual_review_far_above_one_percent_fails():
    # 30/300 = 10% vs 1%: 300 KL(0.1 || 0.01) = 300 * 0.1445 = 43.3 nats, far above ln 20.
    rule = manual_review_rule(0.01, DAYS_2, strict=True)
    assert assess_criterion(rule, over_48h(30, 300)).status is Status.FAIL


def test_rate_checks_carry_their_evidence():
    check = criterion_success(53, 54)
    evidence = check.evidence
    assert (evidence.decided, evidence.count) == (54, 53)
    assert evidence.low < 53 / 54 < evidence.high
    assert evidence.confidence == 0.95 and "beta-binomial" in evidence.method


# --- stretches of hours inside a 48h window -----------------------------------------------------


def hours_of(*proportions, rule_name="success rate"):
    count = len(proportions)
    return [(NOON - (count - i) * H, {rule_name: p}) for i, p in enumerate(proportions)]


def stretch_check(*proportions, min_decided=50):
    return assess_red_flag_stretches(
        "red_flag_hours", "no red-flag stretch", hours_of(*proportions), H,
        [success_rule(0.90, HOURLY)], min_decided=min_decided, alone_min_decided=10,
    )  # fmt: skip


def test_one_failure_in_a_quiet_hour_is_never_a_red_flag():
    # 47 quiet hours of 1/1 and one of 0/1: the pooled stretches around it hold 1 failure in
    # 2, 3 or 6 bookings; 1 of 6 against 90% has evidence B(6, 2)/(0.9^5 0.1) = 0.0238/0.059 < 1.
    check = stretch_check(*[Proportion(1, 1)] * 24, Proportion(0, 1), *[Proportion(1, 1)] * 23)
    assert check.status is not Status.FAIL


def test_a_three_hour_dip_at_twenty_an_hour_is_a_red_flag():
    # 45 hours of 20/20, then 3 hours of 12/20 (60%). Stretches examined: 48 + 47 + 46 + 43 =
    # 184, each at 0.05 / 184. The 3h stretch 36/60 against 90%: 60 KL(0.6 || 0.9) = 18.7 nats,
    # less the prior's cost 0.5 ln(60 / (2 pi 0.24)) = 1.9: 16.8 > ln(184 / 0.05) = 8.2.
    check = stretch_check(*[Proportion(20, 20)] * 45, *[Proportion(12, 20)] * 3)
    assert check.status is Status.FAIL
    assert "of 184 stretches examined" in check.detail
    # the flagged stretches all lie in the dip's 3 hours, some reaching into the hours before
    assert check.behind and all(window.end <= NOON for window in check.behind)
    assert any(window.start == NOON - 3 * H for window in check.behind)


def test_a_single_bad_hour_on_its_point_estimate_alone_is_a_warn():
    # One hour 16/19 (84%) among 47 of 20/20: not confidently below 90% even alone
    # (evidence 0.28), so not at 1/184 either; 19 >= 10 decided: a WARN.
    check = stretch_check(*[Proportion(20, 20)] * 47, Proportion(16, 19))
    assert check.status is Status.WARN


def test_a_window_with_too_few_decided_bookings_is_inconclusive():
    # 48 quiet hours, 30 bookings in all < 50, none confidently low.
    check = stretch_check(*[Proportion(1, 1)] * 30, *[Proportion(0, 0)] * 18)
    assert check.status is Status.INCONCLUSIVE
    assert "30 decided bookings in the window, 50 needed" in check.detail


def test_hours_without_decided_bookings_judge_nothing():
    check = stretch_check(*[Proportion(0, 0)] * 48)
    assert check.status is Status.INCONCLUSIVE
    assert check.sample_size == 0


def test_nothing_decided_in_the_last_hour_is_not_passed_over_by_a_longer_window():
    # A telemetry gap: the last hour holds no decided booking, the 6h before it 100/100.
    # The longer window alone would PASS; the silence of the last hour keeps it INCONCLUSIVE.
    since = Sample(Proportion(100, 100), "full mode so far", 6.0, NOON)
    check = red_flag_success(last_hour(0, 0), since)
    assert check.status is Status.INCONCLUSIVE
    assert check.evidence.window == "the last hour"
