"""The outcome definition (DESIGN.md, Metrics) step by step, on hand-built trails."""

from datetime import UTC, datetime, timedelta

from rollout_gates.core.outcomes import explain_outcome

TYPES = {
    "confirmed": "coordinator.confirmed",
    "manual_review": "coordinator.manual_review",
    "error": "coordinator.error",
    "retry": "coordinator.retry",
    "circuit_open": "coordinator.circuit_open",
}
AS_OF = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
GRACE = timedelta(minutes=15)


def minutes_before(minutes: int) -> datetime:
    return AS_OF - timedelta(minutes=minutes)


def verdict_of(events) -> str:
    return explain_outcome(events, TYPES, AS_OF, GRACE)[-1]


def test_a_retry_then_confirmed_is_a_success():
    events = [
        (minutes_before(30), "coordinator.start"),
        (minutes_before(29), "coordinator.retry"),
        (minutes_before(20), "coordinator.confirmed"),
        (minutes_before(19), "coordinator.noop"),
    ]
    steps = explain_outcome(events, TYPES, AS_OF, GRACE)
    assert steps[0] == "4 events at or before the as-of, 2 of them outcomes"
    assert steps[1] == "latest outcome event: confirmed at 2026-11-29 02:40:00"
    assert steps[-1] == "confirmed: a success"


def test_manual_review_is_a_manual_review():
    assert verdict_of([(minutes_before(40), "coordinator.manual_review")]).startswith(
        "manual_review: a manual review"
    )


def test_error_is_a_failure_even_when_young():
    assert verdict_of([(minutes_before(1), "coordinator.error")]) == "error: a failure"


def test_a_young_retry_is_pending_and_an_old_one_a_failure():
    assert verdict_of([(minutes_before(14), "coordinator.retry")]).endswith(": pending")
    assert verdict_of([(minutes_before(15), "coordinator.circuit_open")]).endswith(
        "unresolved, a failure"
    )


def test_an_outcome_after_the_as_of_is_not_seen():
    events = [
        (minutes_before(60), "coordinator.error"),
        (AS_OF + timedelta(minutes=1), "coordinator.confirmed"),
    ]
    assert verdict_of(events) == "error: a failure"


def test_no_outcome_is_undecided():
    assert verdict_of([(minutes_before(5), "coordinator.noop")]).startswith("no outcome event")
