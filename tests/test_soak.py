"""The one soak rule (rules/soak.py), as every gate that soaks applies it.

Times by hand around one as-of, 2026-11-29 12:00 UTC: a phase on since 30h before it
reaches a 48h soak 18h later, at 2026-11-30 06:00 UTC.
"""

from datetime import UTC, datetime, timedelta

from rollout_gates.core.verdict import Status
from rollout_gates.rules.soak import assess_soak
from rollout_gates.telemetry.phase import LEDGER, TELEMETRY, PhaseClock

AS_OF = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
SOAK = 48 * H


def full_since(hours: float, source=LEDGER, **kwargs) -> PhaseClock:
    return PhaseClock("full", AS_OF - hours * H, source, "full mode set", **kwargs)


def test_soak_not_reached_is_inconclusive_and_names_when_it_can_pass():
    check = assess_soak(full_since(30), AS_OF, SOAK)
    assert (check.id, check.status, check.observed) == ("soak", Status.INCONCLUSIVE, "30h")
    assert "can pass at 2026-11-30 06:00:00 UTC" in check.detail
    assert "from the flag ledger" in check.detail


def test_soak_a_few_minutes_short_never_reads_as_complete():
    # 47h58m of 48h: INCONCLUSIVE, shown as 47h 58m (never rounded up to 48h).
    check = assess_soak(full_since(48 - 2 / 60, TELEMETRY), AS_OF, SOAK)
    assert (check.status, check.observed) == (Status.INCONCLUSIVE, "47h 58m")
    assert "can pass at 2026-11-29 12:02:00 UTC" in check.detail


def test_soak_reached_passes_and_names_its_source():
    check = assess_soak(full_since(48, TELEMETRY), AS_OF, SOAK)
    assert (check.status, check.observed, check.threshold) == (Status.PASS, "48h", "48h")
    assert check.rule == "full mode on for at least 48h before the as-of"
    assert "from the telemetry" in check.detail


def test_a_start_known_only_as_a_lower_bound_says_at_least():
    check = assess_soak(full_since(95, TELEMETRY, at_least=True), AS_OF, SOAK)
    assert check.status is Status.PASS
    assert "full mode on at least since 2026-11-25 13:00:00 UTC" in check.detail


def test_an_undated_phase_is_inconclusive_with_the_clock_s_reason():
    unknown = PhaseClock(None, None, TELEMETRY, "cannot tell when full mode began")
    check = assess_soak(unknown, AS_OF, SOAK)
    assert (check.status, check.detail) == (Status.INCONCLUSIVE, unknown.how)
    undated = PhaseClock("full", None, LEDGER, "full mode, not dated")
    assert assess_soak(undated, AS_OF, SOAK).status is Status.INCONCLUSIVE


def test_the_gate_s_own_reason_replaces_the_clock_s_when_it_cannot_date_the_phase():
    check = assess_soak(None, AS_OF, 24 * H, phase="shadow", unknown="record the deploy")
    assert (check.status, check.detail) == (Status.INCONCLUSIVE, "record the deploy")


def test_another_phase_in_force_is_inconclusive_by_default_and_a_fail_when_asked():
    shadow = PhaseClock("shadow", AS_OF - 30 * H, LEDGER, "shadow mode set")
    check = assess_soak(shadow, AS_OF, SOAK)
    assert (check.status, check.observed) == (Status.INCONCLUSIVE, "shadow")
    assert "shadow mode since 2026-11-28 06:00:00 UTC, not full mode" in check.detail
    cleanup = assess_soak(shadow, AS_OF, 7 * 24 * H, wrong_phase=Status.FAIL)
    assert (cleanup.status, cleanup.threshold) == (Status.FAIL, "7d")


def test_the_phase_soaked_is_a_parameter():
    shadow = PhaseClock("shadow", AS_OF - 30 * H, LEDGER, "shadow mode set")
    check = assess_soak(shadow, AS_OF, 24 * H, phase="shadow")
    assert (check.status, check.observed) == (Status.PASS, "30h")
    assert check.rule == "shadow mode on for at least 24h before the as-of"
