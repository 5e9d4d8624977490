"""The confidence sequence of stats.py, checked against values worked out independently."""

import math

import numpy as np
import pytest
from scipy import integrate

from rollout_gates.core.stats import (
    Limit,
    Proportion,
    bookings_to_decide,
    confidence_bounds,
    log_mixture_ratio,
)


def upper_bound_of_none(n: int, alpha: float = 0.05) -> float:
    """0 of n: the mixture is 1/(n+1), so the bound solves (1-p)^n = alpha/(n+1)... inverted:
    -ln(n+1) - n ln(1-p) = ln(1/alpha)  =>  p = 1 - (alpha^-1 (n+1))^(-1/n)."""
    return 1 - ((n + 1) / alpha) ** (-1 / n)


@pytest.mark.parametrize("n", [1, 2, 5, 40, 1000])
def test_zero_successes_have_the_closed_form_upper_bound(n):
    low, high = confidence_bounds(0, n)
    assert low == 0.0
    assert high == pytest.approx(upper_bound_of_none(n), abs=1e-9)


def test_one_failure_in_one_is_no_evidence_against_ninety_percent():
    # 0/1: the mixture gives 1/2, the binomial at 90% gives 0.1: ratio 5 < 1/0.05 = 20.
    assert math.exp(log_mixture_ratio(0, 1, 0.9)) == pytest.approx(5.0)
    assert confidence_bounds(0, 1)[1] == pytest.approx(0.975)


def test_two_failures_in_two_are_evidence_against_ninety_percent():
    # 0/2: mixture 1/3, binomial 0.01: ratio 33.3 > 20, the bound is 1 - 60^(-1/2) = 0.871.
    assert math.exp(log_mixture_ratio(0, 2, 0.9)) == pytest.approx(100 / 3)
    assert confidence_bounds(0, 2)[1] == pytest.approx(1 - 60**-0.5)


@pytest.mark.parametrize(("k", "n", "p"), [(16, 19, 0.9), (53, 54, 0.97), (1, 19, 0.05)])
def test_the_mixture_is_the_integral_of_the_binomial_over_a_uniform_prior(k, n, p):
    # Independent of betaln: integrate p^k (1-p)^(n-k) numerically.
    mixture, _ = integrate.quad(lambda q: q**k * (1 - q) ** (n - k), 0, 1, epsabs=1e-300)
    expected = math.log(mixture) - k * math.log(p) - (n - k) * math.log1p(-p)
    assert log_mixture_ratio(k, n, p) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(("k", "n"), [(34, 40), (3, 17), (990, 1000)])
def test_bounds_of_complements_mirror_each_other(k, n):
    low, high = confidence_bounds(k, n)
    c_low, c_high = confidence_bounds(n - k, n)
    assert low == pytest.approx(1 - c_high, abs=1e-9)
    assert high == pytest.approx(1 - c_low, abs=1e-9)


def test_more_looks_widen_the_bounds():
    one, many = confidence_bounds(30, 40), confidence_bounds(30, 40, looks=100)
    assert many[0] < one[0] and many[1] > one[1]


def test_no_sample_has_no_rate_and_no_bounds():
    assert Proportion(0, 0).rate is None
    assert Proportion(0, 0).interval is None
    assert confidence_bounds(0, 0) is None


def test_impossible_counts_are_refused():
    with pytest.raises(ValueError):
        confidence_bounds(5, 4)


def test_repeated_looks_at_a_healthy_rate_rarely_cross_the_limit():
    """Ville: however often a growing sample is looked at, the chance that the bound ever
    excludes the true rate is at most alpha. 2,000 sequences of 300 bookings at exactly 90%,
    looked at after every booking: at most 5% (plus Monte Carlo slack) ever reject 90%."""
    rng = np.random.default_rng(20261201)
    outcomes = rng.random((2000, 300)) < 0.9
    k = outcomes.cumsum(axis=1)
    n = np.arange(1, 301)
    from scipy.special import betaln

    evidence = betaln(k + 1, n - k + 1) - k * np.log(0.9) - (n - k) * np.log(0.1)
    ever = (evidence >= math.log(20)).any(axis=1).mean()
    assert ever <= 0.05 + 0.015
    # ... whereas a fixed-n 95% test looked at 300 times rejects far more often.
    z = (k / n - 0.9) / np.sqrt(0.09 / n)
    assert (np.abs(z[:, 9:]) > 1.96).any(axis=1).mean() > 0.2


def test_bookings_to_certify_are_the_first_count_whose_bound_meets_the_limit():
    at_least = Limit(0.97, at_least=True)
    extra = bookings_to_decide(Proportion(53, 54), at_least, 0.95, certify=True)
    rate = 53 / 54

    def certified(total):
        low, _ = confidence_bounds(round(rate * total), total)
        return low >= 0.97

    assert certified(54 + extra) and not certified(54 + extra - 1)


def test_a_rate_on_the_limit_can_never_be_decided():
    assert bookings_to_decide(Proportion(97, 100), Limit(0.97, True), 0.95, certify=True) is None
    assert bookings_to_decide(Proportion(90, 100), Limit(0.97, True), 0.95, certify=True) is None
