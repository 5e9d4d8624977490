"""Properties of the metric, statistic and rule functions, over inputs hypothesis picks."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from rollout_gates.core.stats import Proportion, confidence_bounds
from rollout_gates.core.verdict import Check, Status, gate_status, worst
from rollout_gates.gates import full_health
from rollout_gates.rules.rates import Sample, assess_criterion, assess_red_flag, success_rule
from rollout_gates.telemetry.checklist import PhaseStart
from rollout_gates.telemetry.metrics import OutcomeSummary, Traffic, Window
from rollout_gates.telemetry.quality import ODDITIES, TelemetryQuality, assess_telemetry_quality

counts = st.integers(min_value=0, max_value=5000)
rates = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
statuses = st.sampled_from(list(Status))


@st.composite
def k_of_n(draw):
    n = draw(st.integers(min_value=1, max_value=100_000))
    return draw(st.integers(min_value=0, max_value=n)), n


summaries = st.builds(OutcomeSummary, counts, counts, counts, counts, counts)


NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


def rate_checks(proportion, limit, min_decided):
    """The same success rate judged as a red flag and as a criterion."""
    rule = success_rule(limit, SimpleNamespace(min_decided=min_decided, confidence=0.95))
    sample = Sample(proportion, "the window", 1.0, NOW)
    return assess_red_flag(rule, [sample]), assess_criterion(rule, sample)


@given(summaries)
def test_rates_lie_within_zero_and_one(summary):
    for proportion in (summary.success, summary.manual_review_rate):
        assert proportion.rate is None if summary.decided == 0 else 0 <= proportion.rate <= 1


@given(k_of_n())
def test_bounds_contain_the_point_estimate(sample):
    k, n = sample
    low, high = confidence_bounds(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0


@given(summaries)
def test_one_more_confirmed_booking_never_lowers_the_success_rate(summary):
    more = OutcomeSummary(
        summary.confirmed + 1,
        summary.manual_review,
        summary.error,
        summary.unresolved,
        summary.pending,
    )
    assert more.success.rate >= (summary.success.rate or 0.0)


ORDER = {Status.PASS: 0, Status.WARN: 1, Status.INCONCLUSIVE: 2, Status.FAIL: 3}


@given(summaries, st.floats(min_value=0.01, max_value=0.99), st.integers(0, 50))
def test_one_more_confirmed_booking_never_worsens_a_success_check(summary, limit, min_decided):
    before = rate_checks(summary.success, limit, min_decided)
    more = Proportion(summary.success.k + 1, summary.success.n + 1)
    after = rate_checks(more, limit, min_decided)
    for old, new in zip(before, after, strict=True):
        assert ORDER[new.status] <= ORDER[old.status]


@given(st.lists(statuses), st.randoms())
def test_worst_wins_whatever_the_order(listed, random):
    shuffled = list(listed)
    random.shuffle(shuffled)
    assert worst(shuffled) is worst(listed)
    assert worst(listed + [Status.WARN]) is worst(listed)


@given(rates, st.integers(0, 50))
def test_no_decided_booking_never_passes_a_rate(limit, min_decided):
    for check in rate_checks(Proportion(0, 0), limit, min_decided):
        assert check.status is Status.INCONCLUSIVE


@given(rates, rates, st.integers(0, 50), st.integers(0, 50))
def test_a_window_without_data_never_passes_full_health(success_min, manual_max, n, red):
    params = full_health.FullHealthParams(
        statement_timeout=timedelta(seconds=60), outcome_grace=timedelta(minutes=15),
        confidence=0.95, red_flag_min_decided=red, error_bucket=timedelta(minutes=10),
        sustained_error_buckets=3, sustained_error_share=0.1, circuit_open_max_per_hour=5,
        ledger_drain=timedelta(minutes=30), window=timedelta(hours=1),
        min_decided=n,
        success_rate_min=success_min, manual_review_rate_max=manual_max,
        intensive_period=timedelta(hours=6),
        trend_window=timedelta(hours=6), trend_bucket=timedelta(minutes=30),
    )  # fmt: skip
    nothing = full_health.FullHealthMetrics(
        window=Window(NOW - timedelta(hours=1), NOW),
        outcomes=OutcomeSummary(),
        phase=PhaseStart(on=None, started=None, source="telemetry", explanation="none"),
        full_mode=None,
        error_buckets=[0] * 6,
        circuit_opens_max_per_hour=0,
        circuit_opens=0,
        traffic=Traffic(0, 0, 0),
    )
    assert gate_status(full_health.evaluate(nothing, params)) is not Status.PASS


qualities = st.builds(TelemetryQuality, *[counts] * (len(ODDITIES) + 1))


@given(qualities, st.lists(statuses, min_size=1))
def test_telemetry_quality_never_changes_a_verdict(quality, listed):
    checks = [Check(id=f"c{i}", rule="r", status=s, detail="d") for i, s in enumerate(listed)]
    assert gate_status([*checks, assess_telemetry_quality(quality)]) is gate_status(checks)


@given(qualities)
def test_telemetry_quality_warns_exactly_when_a_row_is_odd(quality):
    check = assess_telemetry_quality(quality)
    odd = sum(getattr(quality, name) for name in ODDITIES)
    assert check.status is (Status.WARN if odd or not quality.events else Status.PASS)
    assert check.observed == odd and check.sample_size == quality.events
