import pytest

from rollout_gates.stats import Proportion, wilson_interval


def test_zero_successes_still_have_an_upper_bound():
    # 0/10: centre = 0.192/1.384 = 0.139, half width = 1.96*0.098/1.384 = 0.139.
    low, high = wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=1e-4)


def test_interval_is_symmetric_for_complements():
    low, high = wilson_interval(34, 40)
    c_low, c_high = wilson_interval(6, 40)
    assert low == pytest.approx(1 - c_high)
    assert high == pytest.approx(1 - c_low)


def test_no_sample_has_no_rate_and_no_interval():
    assert Proportion(0, 0).rate is None
    assert Proportion(0, 0).interval is None
    assert wilson_interval(0, 0) is None


def test_impossible_counts_are_refused():
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


@pytest.mark.parametrize("n", [1, 10, 35, 997])
def test_all_or_nothing_samples_reach_the_bounds_exactly(n):
    assert wilson_interval(n, n)[1] == 1.0
    assert wilson_interval(0, n)[0] == 0.0
