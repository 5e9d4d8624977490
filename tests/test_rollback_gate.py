"""rollback end to end: simulate a rollback, run the gate through the CLI, read the evidence.

Expectations are derived by hand from the scenario files and the simulator's rules
(lib/rollout_gates/sim/simulate.py). Both scenarios: full mode from 50h to 2h before the end at
40 bookings an hour (90 s apart, jitter at most 18 s), the last hour of it with 10%
coordinator.error, then a rollback at T = end - 2h. A V3 booking's events end within ~10 s
of its creation, so the last V3 booking before T (created at T - 45 s +- 18 s) writes
nothing after T.
"""

import csv
from datetime import timedelta

import pytest

pytestmark = [pytest.mark.db, pytest.mark.slow]

CHECKS = (
    "rollback_time",
    "errors_captured",
    "legacy_resumed",
    "stragglers_drained",
    "in_flight_bookings",
)


def rollback(run_gate, url, output_dir, as_of, *settings):
    return run_gate("rollback", "production", url, output_dir, as_of, *settings)


def test_clean_rollback_passes_and_captures_the_errors(
    run_gate, scenario_db, scenario_end, tmp_path
):
    # rollback-clean, as of T + 45m, the rollback time given as a parameter (no ledger).
    # Errors: the hour before T holds 40 bookings, quota 10% error = 4 coordinator.error.
    # After T every booking is legacy: 30 in 45 minutes, with inline events 1 s after their
    # creation (legacy resumed). No V3 event at all after T; 10 bookings are created after
    # the drain period (T + 30m): no straggler, with bookings to show it. Nothing was left
    # undecided at T.
    rollback_at = scenario_end - timedelta(hours=2)
    run = rollback(
        run_gate,
        scenario_db("rollback-clean"),
        tmp_path,
        rollback_at + timedelta(minutes=45),
        f"rollback_at={rollback_at.isoformat()}",
    )
    assert run.completed.returncode == 0, run.completed.stdout + run.completed.stderr
    assert run.statuses == dict.fromkeys(CHECKS, "PASS")
    checks = run.checks
    assert checks["errors_captured"]["observed"] == 4
    assert "parameter rollback_at" in checks["rollback_time"]["detail"]
    assert checks["legacy_resumed"]["sample_size"] == 30
    assert checks["stragglers_drained"]["observed"] == 0
    assert checks["stragglers_drained"]["sample_size"] == 10
    rows = list(csv.DictReader((run.run_dir / "tables" / "rollback-errors.csv").open()))
    assert len(rows) == 4
    assert {(r["source"], r["event_type"]) for r in rows} == {
        ("assignment.coordinator", "coordinator.error")
    }
    assert "post-mortem" in "\n".join(run.verdict["actions"])


def test_stragglers_after_the_drain_fail_and_are_listed(
    run_gate, scenario_db, scenario_end, tmp_path, write_ledger
):
    # rollback-stragglers, as of T + 45m, T from the ledger (V3 true -> false at end - 2h).
    # The 45-minute straggler window holds 30 bookings; apportion(30, 25%) = 7.5 -> 8 (a tie
    # goes to V3), interleaved with 22 legacy ones by smooth weighted round robin at indices
    # 1, 5, 9, 13, 16, 20, 24, 28. After the drain (T + 30m, from index 20 on) that is 3
    # bookings, all confirmed, 10 V3 events each (4 coordinator, 5 transitions, 1 mirror;
    # 0.02 lock contention of the section's ~1,930 coordinator bookings falls elsewhere).
    write_ledger(tmp_path, "rollback-stragglers")
    rollback_at = scenario_end - timedelta(hours=2)
    run = rollback(
        run_gate, scenario_db("rollback-stragglers"), tmp_path, rollback_at + timedelta(minutes=45)
    )
    assert run.completed.returncode == 1
    assert run.statuses["stragglers_drained"] == "FAIL"
    check = run.checks["stragglers_drained"]
    assert check["observed"] == 30 and "3 bookings" in check["detail"]
    assert "flag ledger" in run.checks["rollback_time"]["detail"]
    assert run.statuses["legacy_resumed"] == "PASS"
    assert run.statuses["errors_captured"] == "PASS"
    assert run.checks["errors_captured"]["observed"] == 4
    rows = list(csv.DictReader((run.run_dir / "tables" / "rollback-stragglers.csv").open()))
    assert sum(int(r["events"]) for r in rows) == 30
    # All 8 straggler bookings have coordinator events after T: listed as in flight.
    in_flight = list(csv.DictReader((run.run_dir / "tables" / "rollback-in-flight.csv").open()))
    assert len(in_flight) == 8
    actions = "\n".join(run.verdict["actions"])
    assert "vercel env add FEATURE_ASSIGNMENT_PIPELINE_V3 production" in actions
    assert "30 minutes" in actions


def test_during_the_drain_stragglers_are_inconclusive_with_the_time_to_rerun(
    run_gate, scenario_db, scenario_end, tmp_path, write_ledger
):
    # As of T + 10m: straggler bookings at indices 1 and 5 (135 s and 495 s after T, +- 18 s)
    # have written 20 V3 events; legacy bookings 0, 2, 3, 4 (from 45 s after T) show the
    # legacy planner resumed. The drain period ends at T + 30m: re-run then.
    write_ledger(tmp_path, "rollback-stragglers")
    rollback_at = scenario_end - timedelta(hours=2)
    drained = rollback_at + timedelta(minutes=30)
    run = rollback(
        run_gate, scenario_db("rollback-stragglers"), tmp_path, rollback_at + timedelta(minutes=10)
    )
    assert run.completed.returncode == 3
    assert run.verdict["status"] == "INCONCLUSIVE"
    assert run.statuses["stragglers_drained"] == "INCONCLUSIVE"
    assert run.statuses["legacy_resumed"] == "PASS"
    check = run.checks["stragglers_drained"]
    assert check["observed"] == 20
    assert f"re-run at or after {drained:%Y-%m-%d %H:%M:%S} UTC" in check["detail"]


def test_no_rollback_time_is_inconclusive(run_gate, make_database, scenario_end, tmp_path):
    run = rollback(run_gate, make_database("rollback_empty"), tmp_path, scenario_end)
    assert run.completed.returncode == 3
    assert run.statuses == {"rollback_time": "INCONCLUSIVE"}
    assert "--set rollback_at=" in run.checks["rollback_time"]["detail"]
    assert "--set rollback_at=" in "\n".join(run.verdict["actions"])


def test_unreadable_rollback_at_is_a_usage_error(cli, tmp_path):
    completed = cli(
        "run", "rollback", "--env", "production", "--db-url", "postgresql://u@h/db",
        "--set", "rollback_at=yesterday", "--output-dir", str(tmp_path),
    )  # fmt: skip
    assert completed.returncode == 2
    assert "rollback_at" in completed.stderr
    assert not list(tmp_path.iterdir())
