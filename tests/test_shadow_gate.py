"""shadow end to end: simulate a scenario, run the gate through the CLI, read the evidence.

Expectations are derived by hand from the scenario files and the simulator's rules
(lib/rollout_gates/sim/simulate.py: n = round(hours x rate) bookings per segment, 90 s apart at
40 an hour with a jitter of at most 18 s; exact outcome quotas spread by smooth weighted
round robin; a legacy booking's inline quote 1 s after its creation, its job at most ~10 s
later). The window is the 24 hours before --as-of = the scenario end.
"""

import csv

import pytest

pytestmark = [pytest.mark.db, pytest.mark.slow]

CHECKS = ("coordinator_events", "legacy_routing", "soak", "legacy_baseline")


def shadow(run_gate, url, output_dir, as_of, *settings):
    return run_gate("shadow", "production", url, output_dir, as_of, *settings)


def test_clean_shadow_passes_and_records_the_legacy_baseline(
    run_gate, scenario_db, scenario_end, tmp_path, write_ledger
):
    # shadow-clean: shadow from 30h before the end at 40 bookings/h, all legacy. The window
    # starts 240 slots into the 1,200-booking shadow segment, on a slot boundary: 960
    # bookings, no V3 event, every booking with an inline legacy event. The ledger flips to
    # shadow 30h before the end: 30h >= 24h. Baseline: the 1,140 succeeded / 60 failed quota
    # repeats every 20 bookings (failed at index 10 of each 20), so the window holds 48
    # failed; the last 10 bookings (created in the last 15 minutes, not yet "handled") are
    # indices 1190-1199, one of them failed: 912 - 9 = 903 succeeded of 950 handled.
    write_ledger(tmp_path, "shadow-clean")
    run = shadow(run_gate, scenario_db("shadow-clean"), tmp_path, scenario_end)
    assert run.completed.returncode == 0, run.completed.stdout + run.completed.stderr
    assert run.statuses == dict.fromkeys(CHECKS, "PASS")
    checks = run.checks
    assert checks["coordinator_events"]["observed"] == 0
    assert checks["coordinator_events"]["sample_size"] == 960
    assert checks["soak"]["observed"] == "30h"
    assert "flag ledger" in checks["soak"]["detail"]
    baseline = checks["legacy_baseline"]
    assert (baseline["sample_size"], baseline["observed"]) == (950, pytest.approx(903 / 950))
    assert baseline["interval"][0] < 903 / 950 < baseline["interval"][1]
    tables = run.run_dir / "tables"
    [phantom, ours] = list(csv.DictReader((tables / "runbook-phantom-event.csv").open()))
    assert phantom["event"] == "auto_assign.attempt.start"
    assert phantom["events in the window"] == "0"
    assert int(ours["events in the window"]) > 0
    assert (run.run_dir / "figures" / "activity_per_hour.png").exists()


def test_leaked_v3_bookings_fail_and_are_listed(
    run_gate, scenario_db, scenario_end, tmp_path, write_ledger
):
    # shadow-leak: 5h to 4h before the end, 40 bookings of which apportion(40, 10%) = 4 go to
    # the coordinator, all confirmed (quota 3.98 -> 4). Each writes start, lock_acquired,
    # rate_permit_acquired, confirmed (4 coordinator events), 5 state transitions and one
    # auto_assign.succeeded mirror with trigger=coordinator: 40 V3 events from 4 bookings
    # (0.02 and 0.01 of 4 bookings take no lock-contention or noop call).
    write_ledger(tmp_path, "shadow-leak")
    run = shadow(run_gate, scenario_db("shadow-leak"), tmp_path, scenario_end)
    assert run.completed.returncode == 1
    assert run.verdict["status"] == "FAIL"
    check = run.checks["coordinator_events"]
    assert check["status"] == "FAIL" and check["observed"] == 40
    assert "4 bookings" in check["detail"]
    # The other 956 bookings went through the legacy planner as usual.
    assert run.statuses["legacy_routing"] == "PASS"
    rows = list(csv.DictReader((run.run_dir / "tables" / "v3-events.csv").open()))
    listed = {(r["source"], r["event_type"]): (int(r["events"]), int(r["bookings"])) for r in rows}
    assert listed == {
        ("assignment.coordinator", "coordinator.start"): (4, 4),
        ("assignment.coordinator", "coordinator.lock_acquired"): (4, 4),
        ("assignment.coordinator", "coordinator.rate_permit_acquired"): (4, 4),
        ("assignment.coordinator", "coordinator.confirmed"): (4, 4),
        ("assignment.state_machine", "booking.assignment_state_transition"): (20, 4),
        ("auto_assign", "auto_assign.succeeded"): (4, 4),
    }
    assert "FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW" in "\n".join(run.verdict["actions"])


def test_silent_legacy_planner_fails_on_legacy_routing(
    run_gate, scenario_db, scenario_end, tmp_path, write_ledger
):
    # shadow-no-legacy: the last 24h, 960 bookings are created and the legacy planner writes
    # nothing (legacy_outcomes missing: 1.0). No V3 event either; the soak is 30h.
    write_ledger(tmp_path, "shadow-no-legacy")
    run = shadow(run_gate, scenario_db("shadow-no-legacy"), tmp_path, scenario_end)
    assert run.completed.returncode == 1
    assert run.statuses == {
        "coordinator_events": "PASS",
        "legacy_routing": "FAIL",
        "soak": "PASS",
        "legacy_baseline": "WARN",
    }
    assert run.checks["legacy_routing"]["sample_size"] == 960
    assert run.checks["legacy_baseline"]["sample_size"] == 0


def test_full_mode_in_production_fails_the_shadow_gate(
    run_gate, scenario_db, scenario_end, tmp_path
):
    # healthy: full mode since 50h before the end, so the whole window is V3: coordinator
    # events everywhere (FAIL) and no legacy activity, mirror events aside (FAIL). Without a
    # ledger the shadow flag cannot be seen: the soak is INCONCLUSIVE.
    run = shadow(run_gate, scenario_db("healthy"), tmp_path, scenario_end)
    assert run.completed.returncode == 1
    assert run.statuses["coordinator_events"] == "FAIL"
    assert run.checks["coordinator_events"]["detail"].endswith("(listed in tables/v3-events.csv)")
    assert run.statuses["legacy_routing"] == "FAIL"
    assert run.statuses["soak"] == "INCONCLUSIVE"
    assert "cannot be seen in telemetry" in run.checks["soak"]["detail"]


def test_empty_database_is_inconclusive(run_gate, make_database, scenario_end, tmp_path):
    run = shadow(run_gate, make_database("shadow_empty"), tmp_path, scenario_end)
    assert run.completed.returncode == 3
    assert run.verdict["status"] == "INCONCLUSIVE"
    assert run.statuses == {
        "coordinator_events": "INCONCLUSIVE",
        "legacy_routing": "INCONCLUSIVE",
        "soak": "INCONCLUSIVE",
        "legacy_baseline": "WARN",
    }
