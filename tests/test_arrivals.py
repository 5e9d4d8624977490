"""Arrivals and silence, on telemetry built by hand to spec/telemetry.md.

The application writes a booking's creation as `booking.creation.success` of source
`capacity.transaction`, with the ids only in context (`bookingId`, `restaurantId`,
`duplicate`) and the row's booking_id and restaurant_id columns NULL. The legacy planner
writes `auto_assign.started` (the background job) or `inline_auto_assign.*` (the inline path
at creation), the V3 coordinator `assignment.coordinator` and `assignment.state_machine`
events, all with the booking_id column set. Every expected verdict below is worked out by
hand from the rules in lib/rollout_gates/gates/rollback.py and arrivals.py: silence of t
after n arrivals in the lookback L has probability (L / (L + t))^n, improbable below
1 - confidence = 0.05.
"""

import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from app_telemetry import H, S, Telemetry
from rollout_gates.config import params as config
from rollout_gates.core.verdict import Status, gate_status
from rollout_gates.gates import rollback, shadow
from rollout_gates.ops import doctor
from rollout_gates.telemetry import db
from rollout_gates.telemetry.arrivals import (
    FALLBACK,
    decidable_after,
    fetch_arrivals,
    judge_silence,
    silence_probability,
)
from rollout_gates.telemetry.metrics import Window
from rollout_gates.telemetry.planner import fetch_activity_buckets, fetch_legacy_activity

M = timedelta(minutes=1)
# The rollback deploy goes live on a whole hour, 4h ago, so that the 3h after it are past and
# `doctor` (which reads the 7 days before the server's now) sees the telemetry too.
T = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - 4 * H


def utc(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


# --- the rule, by hand -----------------------------------------------------------------------


def test_three_silent_hours_after_eight_an_hour_are_improbable():
    # (1h / 4h)^8 = 1 / 65536 = 1.53e-5, far below 0.05
    assert silence_probability(8, H, 3 * H) == pytest.approx(1 / 65536)
    assert judge_silence(8, H, T, T + 3 * H, 0.95).improbable


def test_one_silent_hour_after_one_booking_decides_nothing_for_nineteen_hours():
    # (1h / 2h)^1 = 0.5; below 0.05 once 1 / (1 + t) < 0.05, i.e. t > 19h
    silence = judge_silence(1, H, T, T + H, 0.95)
    assert silence.probability == pytest.approx(0.5)
    assert not silence.improbable
    assert silence.decidable_at == T + 19 * H + S


def test_one_and_an_eighth_an_hour_over_eight_hours_needs_over_three_hours_of_silence():
    # 9 arrivals in 8h (1.125/h), 1h silent: (8/9)^9 = 0.3464, close to exp(-1.125) = 0.325.
    # Decidable when (8 / (8 + t))^9 < 0.05: t > 8h * (20^(1/9) - 1) = 8h * 0.394944 = 3.1596h.
    assert silence_probability(9, 8 * H, H) == pytest.approx(0.3464, abs=1e-4)
    after = decidable_after(9, 8 * H, 0.95)
    assert abs(after - 3.1596 * H) < 10 * S
    # 4h silent: (8/12)^9 = 0.0260 < 0.05
    assert judge_silence(9, 8 * H, T, T + 4 * H, 0.95).improbable


def test_without_arrivals_before_no_silence_is_improbable_or_ever_decidable():
    silence = judge_silence(0, H, T, T + 48 * H, 0.95)
    assert silence.probability == 1.0 and not silence.improbable
    assert silence.decidable_at is None


def test_a_higher_confidence_needs_a_longer_silence():
    # confidence 0.99: (1/(1+t))^8 < 0.01 -> t > 100^(1/8) - 1 = 0.7783h; at 0.95: 0.4542h
    assert abs(decidable_after(8, H, 0.99) - 0.7783 * H) < 2 * S
    assert abs(decidable_after(8, H, 0.95) - 0.4542 * H) < 2 * S
    with pytest.raises(ValueError, match="confidence"):
        judge_silence(8, H, T, T + H, 1.0)


# --- telemetry to the spec ---------------------------------------------------------------------


def v3_before(telemetry: Telemetry, per_hour: float, hours: float = 1) -> None:
    """V3 handles the bookings before the rollback: each decided within seconds."""
    for at in telemetry.every(T - hours * H, T, per_hour):
        telemetry.v3_booking(at)


@pytest.fixture
def load(make_database):
    def load(telemetry: Telemetry, name: str) -> str:
        url = make_database(name)
        telemetry.insert(url)
        return url

    return load


@contextmanager
def read_only(url: str):
    """A connection through the gates' own read-only session."""
    engine = db.create_readonly_engine(url)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def judge(url: str, as_of: datetime, **overrides):
    """The rollback gate's checks at `as_of`, T given as the parameter (no ledger)."""
    params = config.load_params(
        rollback.RollbackParams,
        "rollback",
        "production",
        {"rollback_at": T.isoformat(), **overrides},
    )
    with read_only(url) as connection:
        metrics, _ = rollback.collect(connection, config.load_taxonomy(), as_of, params, [])
    return {check.id: check for check in rollback.evaluate(metrics, params)}


def resuming(legacy) -> Telemetry:
    # 8 bookings an hour, handled by V3 for the hour before T; after T the legacy planner 5 s
    # after each booking's creation, at T + 3m45s + 7m30s * i (8 in the hour after T, 4 of them
    # after the drain at T + 30m: T + 33m45s, 41m15s, 48m45s, 56m15s). One V3 straggler, a
    # booking created at T + 2m by a process still on the old deploy, inside the drain.
    telemetry = Telemetry()
    v3_before(telemetry, 8)
    telemetry.v3_booking(T + 2 * M)
    for at in telemetry.every(T, T + H, 8):
        booking = telemetry.created(at)
        getattr(telemetry, legacy)(at + 5 * S, booking)
    return telemetry


@pytest.mark.db
@pytest.mark.parametrize("legacy", ["job", "inline"])
def test_rollback_with_legacy_resuming_and_no_v3_after_the_drain_passes(load, legacy):
    url = load(resuming(legacy), f"arrivals_resuming_{legacy}")
    checks = judge(url, T + H)
    assert {c: check.status for c, check in checks.items()} == {
        "rollback_time": Status.PASS,
        "errors_captured": Status.PASS,
        "legacy_resumed": Status.PASS,
        "stragglers_drained": Status.PASS,
        "in_flight_bookings": Status.PASS,
    }
    assert gate_status(list(checks.values())) is Status.PASS
    # created after T: the straggler's booking and the 8 legacy ones
    assert checks["legacy_resumed"].sample_size == 9
    # created after the drain: 4, all handled by the legacy planner; 9 V3 events (4 + 5
    # transitions) of the straggler, all inside the drain
    assert checks["stragglers_drained"].sample_size == 4
    assert "4 bookings created, 4 handled by the legacy planner" in (
        checks["stragglers_drained"].detail
    )
    assert "9 V3 events in all after the rollback" in checks["stragglers_drained"].detail


@pytest.mark.db
def test_legacy_silent_three_hours_after_eight_an_hour_fails(load):
    # 8 bookings in the hour before T, then nothing at all for 3h: (1/4)^8 = 1.5e-5 < 0.05.
    telemetry = Telemetry()
    v3_before(telemetry, 8)
    check = judge(load(telemetry, "arrivals_silent_3h"), T + 3 * H)["legacy_resumed"]
    assert check.status is Status.FAIL
    assert "8 bookings created in the 1h before it" in check.detail
    assert "probability 1.5e-05" in check.detail


@pytest.mark.db
def test_bookings_created_after_the_rollback_and_none_handled_fail(load):
    # 8 an hour before and after T, the legacy planner silent: 24 bookings created in 3h.
    telemetry = Telemetry()
    v3_before(telemetry, 8)
    for at in telemetry.every(T, T + 3 * H, 8):
        telemetry.created(at)
    check = judge(load(telemetry, "arrivals_unhandled"), T + 3 * H)["legacy_resumed"]
    assert check.status is Status.FAIL
    assert check.detail.startswith("24 bookings created since the rollback")


@pytest.mark.db
def test_legacy_silent_one_hour_at_one_and_an_eighth_an_hour_is_inconclusive(load):
    # 9 bookings in the 8h before T (1.125/h, 53m20s apart from T - 7h33m20s): the hour
    # before T holds one, at T - 26m40s. 1h silent: (1/2)^1 = 0.5; decidable after 19h.
    telemetry = Telemetry()
    v3_before(telemetry, 1.125, hours=8)
    url = load(telemetry, "arrivals_quiet_1h")
    check = judge(url, T + H)["legacy_resumed"]
    assert check.status is Status.INCONCLUSIVE
    assert "1 bookings created in the 1h before it" in check.detail
    assert "probability 0.5" in check.detail
    assert f"decidable at {utc(T + 19 * H + S)}" in check.detail
    # Over the 8h lookback, all 9: (8/9)^9 = 0.35, decidable after 3.16h (3h 9m 34s).
    wider = judge(url, T + H, arrival_lookback="8h")["legacy_resumed"]
    assert wider.status is Status.INCONCLUSIVE
    assert "9 bookings created in the 8h before it" in wider.detail
    assert f"decidable at {utc(T + 3 * H + 9 * M + 35 * S)}" in wider.detail  # 34.4s + 1s
    # ... and 4h of silence on it is a FAIL: (8/12)^9 = 0.026.
    assert judge(url, T + 4 * H, arrival_lookback="8h")["legacy_resumed"].status is Status.FAIL


@pytest.mark.db
@pytest.mark.parametrize(("duplicate", "expected"), [(True, "INCONCLUSIVE"), (False, "FAIL")])
def test_a_booking_created_with_duplicate_true_is_not_an_arrival(load, duplicate, expected):
    # One booking in the hour before T; after T the legacy planner is silent and three creation
    # events arrive. Replays (duplicate: true) of the booking made before T are no new booking:
    # silence of 45m after 1 arrival, (60/105)^1 = 0.57, INCONCLUSIVE. Were they new bookings,
    # 3 bookings created and none handled: FAIL.
    telemetry = Telemetry()
    before = telemetry.v3_booking(T - 30 * M)
    for minutes in (5, 10, 15):
        booking = before if duplicate else None
        telemetry.created(T + minutes * M, duplicate=duplicate, booking=booking)
    url = load(telemetry, f"arrivals_duplicate_{duplicate}")
    check = judge(url, T + 45 * M)["legacy_resumed"]
    assert check.status == expected
    assert check.sample_size == (0 if duplicate else 3)
    with read_only(url) as connection:
        after = fetch_arrivals(connection, config.load_taxonomy(), Window(T, T + H))
    assert (after.created, after.duplicates) == ((0, 3) if duplicate else (3, 0))


@pytest.mark.db
def test_the_creation_events_null_booking_id_column_is_not_no_bookings(load):
    # 6 bookings after T, each a creation event (booking_id column NULL, id in context) and a
    # legacy job 5 s later (booking_id column set): 6 bookings created, 6 with activity (the
    # two rows of a booking are one booking), 6 handled by the legacy planner.
    telemetry = Telemetry()
    for at in telemetry.every(T, T + H, 6):
        booking = telemetry.created(at)
        telemetry.job(at + 5 * S, booking)
    assert all(row[6] is None and row[7] is None for row in telemetry.rows[::3])
    url = load(telemetry, "arrivals_null_column")
    taxonomy = config.load_taxonomy()
    with read_only(url) as connection:
        activity = fetch_legacy_activity(connection, taxonomy, Window(T, T + H), 15 * M)
        buckets = fetch_activity_buckets(connection, taxonomy, Window(T, T + H), 10 * M)
        arrivals = fetch_arrivals(connection, taxonomy, Window(T, T + H))
    assert activity.bookings_created == 6
    assert activity.bookings_with_activity == 6
    assert activity.legacy_bookings == 6
    assert arrivals.created == 6 and arrivals.recorded
    # one booking in each 10-minute bucket (created at T + 5m, 15m, ...)
    assert buckets["bookings_created"].tolist() == [1] * 6


@pytest.mark.db
def test_without_any_creation_event_the_gate_falls_back_to_planner_activity_and_says_so(load):
    # An older deploy: no booking.creation.success at all. Before T, 8 bookings an hour with
    # V3 and state-machine events; after T, nothing for 3h. The rate comes from the 8 bookings
    # with planner activity: (1/4)^8, FAIL, and the detail says it fell back.
    telemetry = Telemetry()
    for at in telemetry.every(T - H, T, 8):
        telemetry.v3(at, uuid.uuid4())
    url = load(telemetry, "arrivals_fallback")
    check = judge(url, T + 3 * H)["legacy_resumed"]
    assert check.status is Status.FAIL
    assert "8 bookings with planner activity in the 1h before it" in check.detail
    assert FALLBACK in check.detail
    findings = {f.check: f for f in doctor.diagnose(url).findings}
    assert findings["arrivals"].status == "warn"
    assert "booking.creation.success" in findings["arrivals"].detail


def shadow_routing(url: str, as_of: datetime):
    params = config.load_params(shadow.ShadowParams, "shadow", "production", {})
    window = Window(as_of - params.window, as_of)
    with read_only(url) as connection:
        metrics, _ = shadow.collect(connection, config.load_taxonomy(), window, params, [])
    return {check.id: check for check in shadow.evaluate(metrics, params)}["legacy_routing"]


@pytest.mark.db
@pytest.mark.parametrize(("per_hour", "expected"), [(1.125, "FAIL"), (1 / 24, "INCONCLUSIVE")])
def test_a_silent_shadow_day_is_judged_against_the_day_before(load, per_hour, expected):
    # Shadow, judged over the 24h before T. The 24h before that: 27 bookings (1.125/h) handled
    # by the legacy planner's inline path, then a whole day without any booking: (24/48)^27 =
    # 7.5e-9, FAIL. After a single booking the day before: (1/2)^1 = 0.5, INCONCLUSIVE.
    telemetry = Telemetry()
    for at in telemetry.every(T - 48 * H, T - 24 * H, per_hour):
        telemetry.inline(at + S, telemetry.created(at))
    check = shadow_routing(load(telemetry, f"arrivals_shadow_{expected}"), T)
    assert check.status == expected
    count = 27 if expected == "FAIL" else 1
    assert f"after {count} bookings created in the 24h before" in check.detail
