"""success end to end: simulate a scenario, run the gate through the CLI, read the evidence.

Expectations are derived by hand from the scenario files and the simulator's rules
(n = round(hours x rate) bookings per segment at even slots, exact outcome quotas,
a normal booking's transitions created -> capacity_verified -> assignment_pending ->
assignment_in_progress -> assigned -> confirmed within ~4 s) and params/defaults.yaml
(48h window, soak 48h, success >= 97%, no 1h bucket below 90%, manual review < 1%,
stuck after 10m).
"""

import csv

import pytest

pytestmark = [pytest.mark.db, pytest.mark.slow]

DATA_CHECKS = (
    "soak",
    "success_rate",
    "success_sustained",
    "manual_review_rate",
    "sustained_errors",
    "circuit_opens",
    "state_transitions",
    "stuck_bookings",
)
ATTESTED = (
    "attest.no_customer_reports=Cara Lee (support)",
    "attest.confirmation_emails=Cara Lee (support)",
)


def success(run_gate, url, output_dir, as_of, *settings):
    return run_gate("success", "production", url, output_dir, as_of, *settings)


def table(run, name):
    with open(run.run_dir / "tables" / f"{name}.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_clean_rollout_with_both_attestations_passes(
    run_gate, scenario_db, scenario_end, write_ledger, tmp_path
):
    # scale-ready: full mode 60h (ledger: V3 true at end-60h) with no error, retry or circuit
    # open. The 48h window holds bookings 480..2399 of the full segment: 1,920 decided, 1,910
    # confirmed and 10 manual reviews (indices 500, 700, ..., 2300): 99.48% >= 97%, manual
    # 0.52% < 1%. Every 1h bucket holds 40 bookings (3600 s / 90 s slots), at most one manual
    # review: >= 39/40 = 97.5%, no red-flag hour. Each booking ends confirmed or
    # manual_review seconds after creation: allowed transitions only, none stuck.
    write_ledger(tmp_path, "scale-ready")
    run = success(run_gate, scenario_db("scale-ready"), tmp_path, scenario_end, *ATTESTED)
    assert run.completed.returncode == 0, run.completed.stdout + run.completed.stderr
    assert set(run.statuses.values()) == {"PASS"}
    assert len(run.statuses) == 10
    checks = run.checks
    assert checks["success_rate"]["observed"] == pytest.approx(1910 / 1920)
    assert checks["manual_review_rate"]["observed"] == pytest.approx(10 / 1920)
    assert checks["success_sustained"]["sample_size"] == 1920  # decided over the 48 hours
    assert checks["stuck_bookings"]["sample_size"] == 1920
    assert "Cara Lee (support)" in checks["attest.confirmation_emails"]["detail"]
    assert any("cleanup" in line for line in run.verdict["actions"])


def test_missing_attestations_are_inconclusive(run_gate, scenario_db, scenario_end, tmp_path):
    # The same data without a ledger: the soak comes from telemetry (first active
    # coordinator.start after the last shadow-phase legacy event, ~end-60h: ~59h59m >= 48h),
    # every data check passes, and the two human items are missing: INCONCLUSIVE.
    run = success(run_gate, scenario_db("scale-ready"), tmp_path, scenario_end)
    assert run.completed.returncode == 3
    assert run.statuses == {
        **dict.fromkeys(DATA_CHECKS, "PASS"),
        "attest.no_customer_reports": "INCONCLUSIVE",
        "attest.confirmation_emails": "INCONCLUSIVE",
    }
    assert "telemetry" in run.checks["soak"]["detail"]
    assert (
        'attest.confirmation_emails="your name"'
        in (run.checks["attest.confirmation_emails"]["detail"])
    )


def test_stuck_bookings_fail_and_are_listed(run_gate, scenario_db, scenario_end, tmp_path):
    # stuck-bookings: full mode 50h. From end-6h to end-5h, 40 bookings: 35 confirmed and 5
    # left in assignment_in_progress with no outcome, their last transitions 5h05m-5h53m
    # before the end (> 10m). Window: 1,680 bookings of the first full segment (from slot
    # 80 of 1,760), 40 of the period, 200 of the last 5h = 1,920 with transitions; the 5
    # stuck ones are never decided, so 1,915 decided with at most 10 manual reviews (99.5%).
    run = success(run_gate, scenario_db("stuck-bookings"), tmp_path, scenario_end, *ATTESTED)
    assert run.completed.returncode == 1
    assert run.statuses == {
        **dict.fromkeys(DATA_CHECKS, "PASS"),
        "stuck_bookings": "FAIL",
        "attest.no_customer_reports": "PASS",
        "attest.confirmation_emails": "PASS",
    }
    stuck = run.checks["stuck_bookings"]
    assert stuck["observed"] == 5 and stuck["sample_size"] == 1920
    assert run.checks["success_rate"]["sample_size"] == 1915
    listed = table(run, "stuck_bookings")
    assert len(listed) == 5
    assert {row["last_state"] for row in listed} == {"assignment_in_progress"}
    assert {row["last_outcome"] for row in listed} == {""}, "a stuck booking has no outcome"


def test_disallowed_transitions_fail_and_are_listed(run_gate, scenario_db, scenario_end, tmp_path):
    # invalid-transitions: from end-6h to end-5h, 5 of 40 bookings are confirmed, then move
    # confirmed -> assignment_pending (not allowed: confirmed is terminal). They all wrote
    # coordinator.confirmed, so 1,920 decided; but they end in assignment_pending 5h05m-5h53m
    # before the end: also 5 stuck bookings.
    run = success(run_gate, scenario_db("invalid-transitions"), tmp_path, scenario_end)
    assert run.completed.returncode == 1
    assert run.statuses["state_transitions"] == "FAIL"
    assert run.statuses["stuck_bookings"] == "FAIL"
    assert run.statuses["success_rate"] == "PASS"
    transitions = run.checks["state_transitions"]
    assert transitions["observed"] == 5
    assert "confirmed→assignment_pending ×5 (5 bookings)" in transitions["detail"]
    disallowed = [row for row in table(run, "state_transitions") if row["allowed"] == "False"]
    assert [(r["from_state"], r["to_state"], r["transitions"]) for r in disallowed] == [
        ("confirmed", "assignment_pending", "5")
    ]
    stuck = table(run, "stuck_bookings")
    assert [(r["last_state"], r["from_state"]) for r in stuck] == [
        ("assignment_pending", "confirmed")
    ] * 5
    matrix = {row["from_state"]: row for row in table(run, "transition_matrix")}
    assert matrix["confirmed"]["assignment_pending"] == "5 !"


def test_empty_database_is_inconclusive(run_gate, make_database, scenario_end, tmp_path):
    run = success(run_gate, make_database("success_empty"), tmp_path, scenario_end, *ATTESTED)
    assert run.completed.returncode == 3
    assert run.verdict["status"] == "INCONCLUSIVE"
    assert run.statuses["success_rate"] == "INCONCLUSIVE"
    assert run.statuses["stuck_bookings"] == "INCONCLUSIVE"
    assert run.statuses["state_transitions"] == "INCONCLUSIVE"


def test_a_failed_booking_is_judged_by_the_rate_not_again_as_stuck(
    run_gate, scenario_db, scenario_end, tmp_path
):
    # sustained-errors over 48h (as in test_full_extended_gate): 19 retries and 7 errors, the
    # newest error ~12 minutes before the end, so all 26 are older than stuck_after (10m).
    # Each leaves its booking non-terminal (a retry in assignment_pending, an error in
    # assignment_in_progress), but each has a failure as its latest outcome and is counted by
    # the success rate; no booking hangs without an outcome: stuck_bookings PASSes and says so.
    run = success(run_gate, scenario_db("sustained-errors"), tmp_path, scenario_end)
    stuck = run.checks["stuck_bookings"]
    assert stuck["status"] == "PASS", stuck["detail"]
    assert stuck["observed"] == 0
    assert "26 more left non-terminal after a failure outcome" in stuck["detail"]
