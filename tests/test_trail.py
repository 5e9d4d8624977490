"""The bookings behind a failing check, with their event trails, on telemetry built by hand.

One hour [T, T+1h), judged at T+1h with the default 15-minute grace. By DESIGN.md's outcome
of a booking (its latest coordinator outcome event; a retry younger than the grace is
pending), the hour holds: a confirmed, b error, c manual review, d a retry 30 minutes old
(unresolved: a failure), e a retry 10 minutes old (pending), f an error then confirmed on a
re-run (confirmed), and g an error before the hour (outside it). Against the success rate
count b, c, d; against the manual-review rate, c alone.
"""

from datetime import UTC, datetime, timedelta

import pytest

from app_telemetry import H, S, Telemetry
from rollout_gates.config import params as config
from rollout_gates.core.outcomes import MANUAL_REVIEW, NOT_CONFIRMED
from rollout_gates.core.verdict import Behind, Check, Status
from rollout_gates.telemetry import db
from rollout_gates.telemetry.trail import bookings_behind, describe_trail, merged

M = timedelta(minutes=1)
T = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - 2 * H
GRACE = timedelta(minutes=15)


def failing(check_id: str, *windows: Behind) -> Check:
    return Check(id=check_id, rule="r", status=Status.FAIL, detail="d", behind=list(windows))


# --- pure ----------------------------------------------------------------------------------


def test_overlapping_windows_of_the_same_outcomes_merge_and_others_stay_apart():
    first = Behind(start=T, end=T + 2 * H, outcomes=NOT_CONFIRMED)
    overlapping = Behind(start=T + H, end=T + 3 * H, outcomes=NOT_CONFIRMED)
    apart = Behind(start=T + 5 * H, end=T + 6 * H, outcomes=NOT_CONFIRMED)
    other = Behind(start=T, end=T + H, outcomes=(MANUAL_REVIEW,))
    assert set(merged([apart, overlapping, first, other])) == {
        Behind(start=T, end=T + 3 * H, outcomes=NOT_CONFIRMED),
        apart,
        other,
    }


# --- on the database -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hour(pg_server_url):
    from conftest import unique_database_name
    from rollout_gates.ops import admin

    telemetry = Telemetry()
    ids = {}
    for name, minute, outcome in [
        ("a", 5, "confirmed"),
        ("b", 10, "error"),
        ("c", 20, "manual_review"),
        ("d", 30, "retry"),
        ("e", 50, "retry"),
        ("f", 15, "error"),
        ("g", -30, "error"),
    ]:
        at = T + minute * M
        ids[name] = telemetry.created(at)
        if outcome == "confirmed":
            telemetry.v3(at + S, ids[name])
        else:
            telemetry.v3_outcome(at + S, ids[name], outcome)
    telemetry.v3(T + 40 * M, ids["f"])  # the re-run that confirms f
    database = unique_database_name("trail")
    url = admin.create_database(pg_server_url, database, replace=True)
    telemetry.insert(url)
    engine = db.create_readonly_engine(url)
    with engine.connect() as connection:
        yield connection, {name: str(booking) for name, booking in ids.items()}
    engine.dispose()
    admin.drop_database(pg_server_url, database)


def behind_the(hour, *checks: Check, cap: int = 20):
    connection, _ = hour
    taxonomy = config.load_taxonomy()
    return bookings_behind(connection, taxonomy, list(checks), T + H, GRACE, cap)


@pytest.mark.db
def test_a_failing_success_rate_lists_its_failed_and_reviewed_bookings_in_order(hour):
    _, ids = hour
    table = behind_the(
        hour, failing("success_rate", Behind(start=T, end=T + H, outcomes=NOT_CONFIRMED))
    )
    assert list(table["booking_id"]) == [ids["b"], ids["c"], ids["d"]]
    assert list(table["outcome"]) == ["error", "manual_review", "retry"]
    assert set(table["of"]) == {3}


@pytest.mark.db
def test_a_failing_manual_review_rate_lists_only_its_reviews(hour):
    _, ids = hour
    table = behind_the(
        hour, failing("manual_review_rate", Behind(start=T, end=T + H, outcomes=(MANUAL_REVIEW,)))
    )
    assert list(table["booking_id"]) == [ids["c"]]


@pytest.mark.db
def test_the_listing_is_capped_but_counts_them_all(hour):
    _, ids = hour
    table = behind_the(
        hour, failing("success_rate", Behind(start=T, end=T + H, outcomes=NOT_CONFIRMED)), cap=2
    )
    assert list(table["booking_id"]) == [ids["b"], ids["c"]]
    assert set(table["of"]) == {3}


@pytest.mark.db
def test_each_trail_runs_from_creation_to_the_outcome_across_sources(hour):
    _, ids = hour
    table = behind_the(
        hour, failing("success_rate", Behind(start=T, end=T + H, outcomes=NOT_CONFIRMED))
    )
    trail = table.set_index("booking_id")["trail"][ids["b"]]
    steps = [step.split(" ", 1)[1] for step in trail.split(" → ")]
    assert steps == [
        "booking.creation.success",  # capacity.transaction: its id only in context
        "coordinator.start",
        "coordinator.error",
        "booking.assignment_state_transition (created→capacity_verified)",
        "booking.assignment_state_transition (capacity_verified→assignment_pending)",
        "booking.assignment_state_transition (assignment_pending→failed)",
    ]


@pytest.mark.db
def test_checks_that_do_not_fail_list_nothing(hour):
    window = Behind(start=T, end=T + H, outcomes=NOT_CONFIRMED)
    warned = Check(id="success_rate", rule="r", status=Status.WARN, detail="d", behind=[window])
    table = behind_the(hour, warned)
    assert table.empty and "trail" in table.columns


def test_an_empty_trail_describes_as_nothing():
    import pandas as pd

    assert (
        describe_trail(pd.DataFrame(columns=["at", "event_type", "from_state", "to_state"])) == ""
    )
