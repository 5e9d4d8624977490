"""cleanup end to end: simulate a rollout, record a success verdict, run the gate via the CLI.

Expectations are derived by hand from the scenario files and the simulator's rules
(lib/rollout_gates/sim/simulate.py). The window is the 7 days (168h) before --as-of.
"""

import csv
from datetime import timedelta

import pytest

from rollout_gates.core.verdict import Check, GateResult, Status
from rollout_gates.run.evidence import record_verdict

pytestmark = [pytest.mark.db, pytest.mark.slow]


def cleanup(run_gate, url, output_dir, as_of, *settings):
    return run_gate("cleanup", "production", url, output_dir, as_of, *settings)


def record_success(root, as_of, status=Status.PASS, scenario="v3-rollout"):
    """A recorded success verdict under root/production/success/<UTC time>/, as a run leaves."""
    run_dir = root / "production" / "success" / f"{as_of:%Y%m%dT%H%M%SZ}"
    result = GateResult(
        gate="success",
        env="production",
        status=status,
        as_of=as_of,
        window_start=as_of - timedelta(hours=48),
        window_end=as_of,
        checks=[
            Check(
                id="success_rate",
                rule="success rate >= 97%",
                status=status,
                detail="success rate 99.5% (955/960, 95% CI 98.8%-99.8%)",
            )
        ],
        simulated=True,
        scenario=scenario,
        run_dir=str(run_dir),
    )
    record_verdict(run_dir, result)
    return run_dir


def test_v3_rollout_is_ready_for_cleanup_and_writes_the_task(
    run_gate, scenario_db, scenario_end, tmp_path, write_ledger
):
    # v3-rollout: the second full-mode attempt starts 192h before the end (ledger: V3
    # false -> true), 8 days >= 7. Its success checkpoint is 96h before the end: a PASS
    # recorded then is within the 7-day window and after the phase start. The window
    # (168h) is all second-attempt full mode at 20 bookings/h: 3,360 bookings, whose
    # auto_assign events are only mirrors (trigger=coordinator); the rollback's legacy
    # activity (194h to 192h before the end) is outside it.
    write_ledger(tmp_path, "v3-rollout")
    record_success(tmp_path, scenario_end - timedelta(hours=96))
    run = cleanup(run_gate, scenario_db("v3-rollout"), tmp_path, scenario_end)
    assert run.completed.returncode == 0, run.completed.stdout + run.completed.stderr
    assert run.statuses == dict.fromkeys(("soak", "success_verdict", "legacy_silent"), "PASS")
    assert run.checks["soak"]["observed"] == "8d"
    assert run.checks["legacy_silent"]["observed"] == 0
    assert run.checks["legacy_silent"]["sample_size"] == 3360
    task = (run.run_dir / "tables" / "cleanup-task.md").read_text()
    for item in (
        "server/jobs/auto-assign.ts",
        "`auto_assign.*` telemetry events",
        "server/capacity/planner-*",
        ".env.example",
        "architecture docs",
        "shadow-mode guidance",
        "**8d**",
        "3360 decided bookings",
    ):
        assert item in task, item
    assert not list(csv.DictReader((run.run_dir / "tables" / "legacy-events.csv").open()))
    assert (run.run_dir / "figures" / "v3-daily-success.png").exists()
    assert "cleanup-task.md" in "\n".join(run.verdict["actions"])


def test_without_a_success_verdict_cleanup_is_inconclusive(
    run_gate, scenario_db, scenario_end, tmp_path, write_ledger
):
    write_ledger(tmp_path, "v3-rollout")
    run = cleanup(run_gate, scenario_db("v3-rollout"), tmp_path, scenario_end)
    assert run.completed.returncode == 3
    assert run.statuses == {
        "soak": "PASS",
        "success_verdict": "INCONCLUSIVE",
        "legacy_silent": "PASS",
    }
    assert not (run.run_dir / "tables" / "cleanup-task.md").exists()


def test_after_a_rollback_cleanup_fails(
    run_gate, scenario_db, scenario_end, tmp_path, write_ledger
):
    # rollback-clean at its end: the ledger's last phase is the rollback 2h before the end
    # (V3 false, SHADOW false: legacy), so V3 is off: FAIL. The legacy planner ran in the
    # window (the legacy and shadow phases from 80h to 50h before the end, and the rollback's
    # last 2h): FAIL. No success verdict: INCONCLUSIVE.
    write_ledger(tmp_path, "rollback-clean")
    run = cleanup(run_gate, scenario_db("rollback-clean"), tmp_path, scenario_end)
    assert run.completed.returncode == 1
    assert run.statuses == {
        "soak": "FAIL",
        "success_verdict": "INCONCLUSIVE",
        "legacy_silent": "FAIL",
    }
    assert "legacy mode" in run.checks["soak"]["detail"]
    rows = list(csv.DictReader((run.run_dir / "tables" / "legacy-events.csv").open()))
    assert {r["event_type"] for r in rows} >= {
        "auto_assign.started",
        "inline_auto_assign.succeeded",
    }


def test_empty_database_is_inconclusive(run_gate, make_database, scenario_end, tmp_path):
    run = cleanup(run_gate, make_database("cleanup_empty"), tmp_path, scenario_end)
    assert run.completed.returncode == 3
    assert run.statuses == dict.fromkeys(
        ("soak", "success_verdict", "legacy_silent"), "INCONCLUSIVE"
    )
