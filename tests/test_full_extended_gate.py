"""full-extended end to end: simulate production, run the gate through the CLI, read the evidence.

Each expectation is derived by hand from the scenario file and DESIGN.md's rules. Simulator
rules (lib/rollout_gates/sim/simulate.py): a segment of D hours at r bookings an hour holds
n = round(D x r) bookings, booking i at (i + 0.5) x D/n +- 0.2 x D/n; outcome quotas by
largest remainder (ties in the YAML order), spread by smooth weighted round robin; outcome
events ~1 s after the booking. A retry is never followed by another outcome: it is unresolved
(a failure) once older than 15 min.

All four scenarios run production in full mode for the last 50h at 40 bookings/h (one every
90 s) with the base mix 0.985 / 0.005 / 0.01, so V3 has been active ~50h >= 48h (soak PASS).
"""

import csv
import uuid
from datetime import timedelta

import psycopg
import pytest
from psycopg.types.json import Jsonb

from rollout_gates.config.params import load_taxonomy
from rollout_gates.gates import full_extended
from rollout_gates.telemetry import db
from rollout_gates.telemetry.metrics import Window

pytestmark = [pytest.mark.db, pytest.mark.slow]

CHECKS = (
    "soak",
    "success_rate",
    "manual_review_rate",
    "red_flag_hours",
    "sustained_errors",
    "circuit_opens",
)
FIGURES = (
    "success_rate",
    "manual_review_rate",
    "errors_and_circuit_opens",
    "durations",
    "retries_by_reason",
)


def full_extended_run(run_gate, url, output_dir, as_of=None, *settings):
    return run_gate("full-extended", "production", url, output_dir, as_of, *settings)


def passing_but(*failing):
    return {check: "FAIL" if check in failing else "PASS" for check in CHECKS}


def test_healthy_production_passes_and_saves_the_whole_suite(
    run_gate, scenario_db, scenario_end, tmp_path
):
    # n = 50 x 40 = 2000; quotas 1970 confirmed, 10 manual reviews, 20 retries: retries are
    # bookings 40, 160, 240, 360, ..., 1960, manual reviews 100, 300, ..., 1900. The 48h window
    # holds bookings 80-1999 (1920; hour boundaries are 40 bookings apart, each booking at
    # least 27 s from one): 19 retries (160 to 1960) and 10 manual reviews. The last retry,
    # booking 1960, is ~59 min before the end, so none is pending: 1920 decided, success
    # (1920 - 19 - 10)/1920 = 1891/1920 = 98.5% >= 97% even with every retry a failure;
    # manual review 10/1920 = 0.52% < 1%. Per hour at most one retry and one manual review of
    # 40: success >= 38/40 = 95%, manual review <= 2.5%: no red flag. No error, no open.
    run = full_extended_run(run_gate, scenario_db("healthy"), tmp_path, scenario_end)
    assert run.completed.returncode == 0, run.completed.stdout + run.completed.stderr
    assert run.statuses == passing_but()
    success = run.checks["success_rate"]
    assert (success["sample_size"], success["observed"]) == (1920, pytest.approx(1891 / 1920))
    assert run.checks["manual_review_rate"]["observed"] == pytest.approx(10 / 1920)
    tables = run.run_dir / "tables"
    for query in full_extended.RUNBOOK_SUITE:
        assert (tables / f"runbook_{query.name}.csv").exists(), query.name
    for name in ("soak", "outcomes", "hourly_rates", "durations", "retries_by_reason"):
        assert (tables / f"{name}.csv").exists(), name
    for name in FIGURES:
        assert (run.run_dir / "figures" / f"{name}.png").exists(), name
    # The runbook's success ratio counts rows: 4 per booking (start, lock_acquired,
    # rate_permit_acquired, outcome) plus 2 per extra call, and only retry, manual_review and
    # noop rows carry a reason: at most 19 + 10 + 20 (noops, ~1% of bookings) failures of
    # at least 4 x 1920 = 7680 rows, so it reads above 99.3% while bookings succeed at 98.5%.
    with (tables / "runbook_success_error_ratio.csv").open() as handle:
        [ratio] = list(csv.DictReader(handle))
    assert float(ratio["success_rate_percent"]) > 99.3
    assert int(ratio["errors"]) == 0
    # 19 retries in the window, each its own booking.
    retries = (tables / "runbook_retry_reasons.csv").read_text().splitlines()[1:]
    assert sum(int(line.rsplit(",", 2)[1]) for line in retries) == 19
    assert "rollout-gates run scale --env production" in run.verdict["actions"]


def test_success_dip_hour_is_a_red_flag_over_48h(
    run_gate, scenario_db, scenario_end, write_ledger, tmp_path
):
    # Segments: full 50h-4h (46h, n = 1840: quotas 1812.4 / 9.2 / 18.4 -> 1813 confirmed (the
    # tie of remainders .4 goes to `confirmed`, first in the YAML), 9 manual reviews, 18
    # retries), the dip 4h-3h (40: 24 confirmed, 15 retries, 1 manual review), 3h-0h (120:
    # 118.2 / 0.6 / 1.2 -> 118, 1, 1). In the window: bookings 80-1839 of the first segment
    # (17 retries, 9 manual reviews), the dip, the last 3h (its retry is booking 80 of 120,
    # ~59 min before the end: not pending). 1920 decided, 17 + 15 + 1 = 33 retries and 11
    # manual reviews: success 1876/1920 = 97.7% >= 97%, manual review 11/1920 = 0.57% < 1%.
    # The hour [end - 4h, end - 3h) is a bucket aligned to the as-of: 24/40 = 60%. Stretches
    # examined: (48 + 47 + 46 + 43) x 2 rates = 368, threshold ln(368 / 0.05) = 8.90; the dip
    # hour's evidence against 90% is 10.79: a red flag. Pooled with a neighbour (63/80) it is
    # 2.23, and every other hour is >= 38/40: exactly one flagged stretch.
    write_ledger(tmp_path, "red-flag-success-dip", "production")
    url = scenario_db("red-flag-success-dip")
    run = full_extended_run(run_gate, url, tmp_path, scenario_end)
    assert run.completed.returncode == 1, run.completed.stdout + run.completed.stderr
    assert run.statuses == passing_but("red_flag_hours")
    flags = run.checks["red_flag_hours"]
    assert (flags["observed"], flags["sample_size"]) == (1, 1920)
    dip = scenario_end - timedelta(hours=4)
    assert f"{dip:%Y-%m-%d %H:%M}-{dip + timedelta(hours=1):%H:%M} UTC" in flags["detail"]
    assert "60.0% (24/40" in flags["detail"]
    assert "1 of 368 stretches examined" in flags["detail"]
    assert run.checks["success_rate"]["observed"] == pytest.approx(1876 / 1920)
    # The ledger sets V3=true exactly 50h before the end.
    assert run.checks["soak"]["observed"] == "50.0h"
    assert "from the flag ledger" in run.checks["soak"]["detail"]
    actions = "\n".join(run.verdict["actions"])
    assert "vercel env add FEATURE_ASSIGNMENT_PIPELINE_V3 production" in actions
    assert "# When prompted, enter: false" in actions


def test_sustained_errors_fail(run_gate, scenario_db, scenario_end, tmp_path):
    # Segments: full 50h-50m (n = round(49h10m x 40) = 1967, quotas 1937 / 10 / 20), the
    # error period 50m-10m (27 bookings: 20 confirmed, 7 errors at bookings 1, 5, 9, ..., 25,
    # i.e. ~2, 8, 14, 20, 26, 32 and 38 min into it), 10m-0 (7 confirmed). The 10-minute
    # buckets aligned to the end that start 50, 40, 30 and 20 min before it each hold at least
    # one error: a run of 4 >= 3, sustained. The last hour holds ~6-7 bookings of the first
    # segment, the 27 and the 7: 7 errors of 40-41 decided, success 33/40-34/41 = 83% < 90%
    # on the point estimate, but its evidence (e^-1.0 to e^-1.5) is far below the 368
    # stretches' threshold e^8.9: a WARN, not a red flag. Over 48h: 1887 + 27 + 7 = 1921
    # decided, 19 retries, 10 manual reviews and 7 errors: success 1885/1921 = 98.1% >= 97%,
    # manual review 0.52% < 1%.
    run = full_extended_run(run_gate, scenario_db("sustained-errors"), tmp_path, scenario_end)
    assert run.completed.returncode == 1, run.completed.stdout + run.completed.stderr
    assert run.statuses == {**passing_but("sustained_errors"), "red_flag_hours": "WARN"}
    errors = run.checks["sustained_errors"]
    assert (errors["observed"], errors["sample_size"]) == (4, 7)
    assert run.checks["red_flag_hours"]["observed"] == 0


def test_any_circuit_open_fails_even_when_every_booking_recovers(
    run_gate, scenario_db, scenario_end, tmp_path
):
    # 55m-10m before the end: 30 bookings, 12 circuit_open then confirmed 120 s later, so no
    # booking fails and no hour is a red flag; but "no circuit breaker trips" allows none:
    # 12 circuit_open, all within one hour. Over 48h: bookings 80-1962 of the first segment
    # (n = round(49h05m x 40) = 1963: 19 retries from booking 157 on, 10 manual reviews), the
    # 30 and the last 7: success (1920 - 29)/1920 = 98.5%.
    run = full_extended_run(run_gate, scenario_db("circuit-storm"), tmp_path, scenario_end)
    assert run.completed.returncode == 1, run.completed.stdout + run.completed.stderr
    assert run.statuses == passing_but("circuit_opens")
    opens = run.checks["circuit_opens"]
    assert (opens["observed"], opens["sample_size"]) == (12, 12)
    assert run.checks["success_rate"]["observed"] == pytest.approx(1891 / 1920)


def test_empty_database_is_inconclusive_and_the_suite_still_runs(
    run_gate, make_database, scenario_end, tmp_path
):
    run = full_extended_run(run_gate, make_database("fe_empty"), tmp_path, scenario_end)
    assert run.completed.returncode == 3, run.completed.stdout + run.completed.stderr
    assert run.verdict["status"] == "INCONCLUSIVE"
    assert run.statuses["success_rate"] == run.statuses["soak"] == "INCONCLUSIVE"
    for query in full_extended.RUNBOOK_SUITE:
        assert (run.run_dir / "tables" / f"runbook_{query.name}.csv").exists(), query.name
    for name in FIGURES:
        assert (run.run_dir / "figures" / f"{name}.png").exists(), name


def test_durations_leave_out_values_that_are_not_numbers(make_database, scenario_end):
    # Six coordinator.confirmed rows in one hour: 100, 200 and "300" (a string of digits) are
    # read; "fast", -5 and 1e12 ms are not (unreadable); a manual_review without duration_ms
    # is not counted at all. p50 of 100, 200, 300 is 200; p95 is 200 + 0.9 x 100 = 290.
    url = make_database("fe_durations")
    at = scenario_end - timedelta(minutes=30)
    values = [100, 200, "300", "fast", -5, 1e12]
    rows = [("coordinator.confirmed", {"duration_ms": value}) for value in values]
    rows.append(("coordinator.manual_review", {"reason": "no_capacity"}))
    with psycopg.connect(url) as connection:
        for event_type, context in rows:
            connection.execute(
                "INSERT INTO observability_events (created_at, source, event_type, context, "
                "booking_id) VALUES (%s, 'assignment.coordinator', %s, %s, %s)",
                (at, event_type, Jsonb(context), uuid.uuid4()),
            )
    engine = db.create_readonly_engine(url)
    window = Window.ending(scenario_end, timedelta(hours=2))
    with engine.connect() as connection:
        durations = full_extended.fetch_durations(
            connection, load_taxonomy(), window, timedelta(hours=1)
        )
        suite = full_extended.run_runbook_suite(connection, window)
    engine.dispose()
    assert durations["calls"].tolist() == [0, 3]
    assert durations["unreadable"].tolist() == [0, 3]
    assert durations["p50_ms"].iloc[1] == pytest.approx(200)
    assert durations["p95_ms"].iloc[1] == pytest.approx(290)
    # The runbook's timing query survives the same rows (its guard only takes JSON numbers).
    timing = suite["timing_percentiles"].set_index("event_type")
    assert int(timing.loc["coordinator.confirmed", "total"]) == 6
