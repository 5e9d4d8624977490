"""full-health end to end: simulate a scenario, run the gate through the CLI, read the evidence.

Each expectation is derived by hand from the scenario file and DESIGN.md's rules
(simulator rules: n = round(hours x bookings/h) per segment, exact outcome quotas
spread evenly; a retry is pending for 15 minutes, then a failure). The window is
the hour before --as-of; with 40 bookings an hour spaced 90 s apart it holds 40.
"""

import json
import uuid
from datetime import timedelta

import psycopg
import pytest

from rollout_gates.ops import admin

pytestmark = [pytest.mark.db, pytest.mark.slow]

ALL_CHECKS = (
    "success_rate",
    "manual_review_rate",
    "sustained_errors",
    "circuit_opens",
    "v3_traffic",
    "telemetry_coverage",
    "telemetry_quality",  # simulated telemetry is well-formed: PASS
)


def full_health(run_gate, url, output_dir, as_of=None, *settings, **kwargs):
    return run_gate("full-health", "production", url, output_dir, as_of, *settings, **kwargs)


def test_healthy_rollout_passes(run_gate, scenario_db, scenario_end, tmp_path):
    # 40 bookings; over the 2,000 of the full phase 20 retries and 10 manual reviews are
    # spread evenly, so at most 1 of each here: success >= 38/40 = 95%, manual <= 1/39.
    run = full_health(run_gate, scenario_db("healthy"), tmp_path, scenario_end)
    completed, verdict, checks = run.completed, run.verdict, run.checks
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert run.statuses == dict.fromkeys(ALL_CHECKS, "PASS")
    assert checks["success_rate"]["sample_size"] >= 39
    assert checks["success_rate"]["observed"] >= 38 / 40
    assert verdict["simulated"] is True and verdict["scenario"] == "healthy"


def test_success_dip_fails_at_the_incident_hour(run_gate, scenario_db, scenario_end, tmp_path):
    # The window is the dip hour exactly: 40 bookings, 24 confirmed, 15 retries, 1 manual
    # review. At most 4 retries fall in its last 15 minutes (pending), so 36-40 are decided
    # and success <= 24/36 = 66.7%: the evidence against 90% is at least e^5.6 > 20, so the
    # rate is confidently below the red flag: FAIL.
    incident_end = scenario_end - timedelta(hours=3)
    run = full_health(run_gate, scenario_db("red-flag-success-dip"), tmp_path, incident_end)
    completed, verdict, checks = run.completed, run.verdict, run.checks
    assert completed.returncode == 1
    assert checks["success_rate"]["status"] == "FAIL"
    assert 36 <= checks["success_rate"]["sample_size"] <= 40
    assert checks["success_rate"]["observed"] == pytest.approx(
        24 / checks["success_rate"]["sample_size"]
    )
    assert checks["success_rate"]["evidence"]["high"] < 0.90
    # 1/36 = 2.8% manual review, no errors, no circuit opens: only the success rate fails.
    assert {k: v for k, v in run.statuses.items() if k != "success_rate"} == dict.fromkeys(
        set(ALL_CHECKS) - {"success_rate"}, "PASS"
    )
    rollback = "\n".join(verdict["actions"])
    assert "vercel env add FEATURE_ASSIGNMENT_PIPELINE_V3 production" in rollback
    assert "# When prompted, enter: false" in rollback
    assert "FAIL" in completed.stdout and "vercel --prod" in completed.stdout


def test_success_dip_has_recovered_three_hours_later(run_gate, scenario_db, scenario_end, tmp_path):
    run = full_health(run_gate, scenario_db("red-flag-success-dip"), tmp_path, scenario_end)
    completed, checks = run.completed, run.checks
    assert completed.returncode == 0
    assert checks["success_rate"]["status"] == "PASS"


def test_manual_review_surge_fails_on_manual_review_only(
    run_gate, scenario_db, scenario_end, tmp_path
):
    # Surge hour: 40 bookings, quotas 32 confirmed and 8 manual reviews, no retries, so all
    # 40 are decided: manual 8/40 = 20%, evidence against 5% e^3.74 > 20: FAIL. Success 32/40
    # = 80% is below 90% on the point estimate only (evidence e^-0.08): WARN, advisory.
    run = full_health(run_gate, scenario_db("manual-review-surge"), tmp_path, scenario_end)
    completed, checks = run.completed, run.checks
    assert completed.returncode == 1
    assert checks["manual_review_rate"]["status"] == "FAIL"
    assert checks["manual_review_rate"]["observed"] == pytest.approx(8 / 40)
    assert checks["success_rate"]["status"] == "WARN"
    assert checks["success_rate"]["observed"] == pytest.approx(32 / 40)


def test_sustained_errors_fail(run_gate, scenario_db, scenario_end, tmp_path):
    # Errors from 50 to 10 minutes before the end: 27 bookings, 6.75 -> 7 errors spread
    # every ~3.9 bookings (~6 min), so each of the four 10-minute buckets has one: a run
    # of 4 >= 3. Seven failed bookings of 41-42 put success at 83-85%, below 90% on the
    # point estimate but not confidently (evidence e^-1.1 to e^-1.6): a WARN, not the FAIL.
    run = full_health(run_gate, scenario_db("sustained-errors"), tmp_path, scenario_end)
    completed, checks = run.completed, run.checks
    assert completed.returncode == 1
    assert checks["sustained_errors"]["status"] == "FAIL"
    assert checks["sustained_errors"]["observed"] == 4
    assert checks["sustained_errors"]["sample_size"] == 7
    assert checks["success_rate"]["status"] == "WARN"
    assert checks["circuit_opens"]["status"] == "PASS"


def test_isolated_error_warns_but_does_not_fail(run_gate, scenario_db, scenario_end, tmp_path):
    # 7 bookings in the 10-minute period, 1.05 -> 1 error: one bucket, not sustained.
    run = full_health(run_gate, scenario_db("isolated-error"), tmp_path, scenario_end)
    completed, verdict, checks = run.completed, run.verdict, run.checks
    assert completed.returncode == 0
    assert verdict["status"] == "PASS"
    assert checks["sustained_errors"]["status"] == "WARN"
    assert checks["sustained_errors"]["sample_size"] == 1


def test_circuit_storm_fails_on_circuit_opens(run_gate, scenario_db, scenario_end, tmp_path):
    # 30 bookings in the 45-minute storm, 12 rejected by the breaker and confirmed on the
    # next call two minutes later: 12 > 5 opens in an hour, but no booking is lost.
    run = full_health(run_gate, scenario_db("circuit-storm"), tmp_path, scenario_end)
    completed, checks = run.completed, run.checks
    assert completed.returncode == 1
    assert checks["circuit_opens"]["status"] == "FAIL"
    assert checks["circuit_opens"]["observed"] == 12
    assert checks["success_rate"]["status"] == "PASS"


def test_telemetry_gap_fails_because_v3_sees_no_traffic(
    run_gate, scenario_db, scenario_end, tmp_path
):
    # The last two hours: bookings are created (40 in the window) but the coordinator
    # writes nothing: no decided booking (INCONCLUSIVE), no active start while bookings
    # exist (FAIL).
    run = full_health(run_gate, scenario_db("telemetry-gap"), tmp_path, scenario_end)
    completed, checks = run.completed, run.checks
    assert completed.returncode == 1
    assert checks["v3_traffic"]["status"] == "FAIL"
    assert checks["v3_traffic"]["sample_size"] == 40
    assert checks["success_rate"]["status"] == "INCONCLUSIVE"
    assert checks["telemetry_coverage"]["status"] == "WARN"


def test_low_volume_is_inconclusive_not_pass(run_gate, scenario_db, scenario_end, tmp_path):
    # 27 bookings a day, full mode on for 50h: the last hour holds at most 2 decided
    # bookings, the intensive period's 6h about 6.75 (round(6 x 1.125) = 7 at most), both
    # fewer than the 10 needed, and no failure is confident: INCONCLUSIVE, saying how many
    # more bookings would decide it.
    run = full_health(run_gate, scenario_db("low-volume"), tmp_path, scenario_end)
    completed, verdict, checks = run.completed, run.verdict, run.checks
    assert completed.returncode == 3
    assert verdict["status"] == "INCONCLUSIVE"
    success = checks["success_rate"]
    assert success["status"] == "INCONCLUSIVE"
    assert success["sample_size"] <= 8
    assert success["evidence"]["window"].startswith("the last 6h of full mode")
    assert 0 < success["evidence"]["bookings_to_decide"] <= 10 - success["sample_size"]
    assert "more decided booking" in success["detail"]


def test_empty_database_is_inconclusive(run_gate, make_database, tmp_path, scenario_end):
    run = full_health(run_gate, make_database("fh_empty"), tmp_path, scenario_end)
    completed, verdict, checks = run.completed, run.verdict, run.checks
    assert completed.returncode == 3
    assert verdict["status"] == "INCONCLUSIVE"
    assert checks["success_rate"]["sample_size"] == 0
    assert verdict["simulated"] is False


def test_unreachable_database_is_an_error_with_partial_evidence(cli, tmp_path):
    completed = cli(
        "run",
        "full-health",
        "--env",
        "production",
        "--db-url",
        "postgresql://nobody:pw-unreachable-77@127.0.0.1:1/nowhere",
        "--output-dir",
        str(tmp_path),
    )
    assert completed.returncode == 4
    [run_dir] = tmp_path.glob("production/full-health/*")
    verdict = json.loads((run_dir / "verdict.json").read_text())
    assert verdict["status"] == "ERROR"
    assert "127.0.0.1" in verdict["error"] and "pw-unreachable-77" not in verdict["error"]
    notebook = json.loads((run_dir / "full-health.ipynb").read_text())
    assert notebook["metadata"]["rollout_gates"]["status"] == "ERROR"
    assert (run_dir / "full-health.html").exists()


def test_missing_table_is_an_error_naming_it(cli, pg_server_url, tmp_path):
    url = admin.with_database(pg_server_url, "fh_no_table")
    with psycopg.connect(pg_server_url, autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS fh_no_table")
        connection.execute("CREATE DATABASE fh_no_table")
    try:
        completed = cli(
            "run", "full-health", "--env", "production", "--db-url", url,
            "--output-dir", str(tmp_path),
        )  # fmt: skip
    finally:
        admin.drop_database(pg_server_url, "fh_no_table")
    assert completed.returncode == 4
    [verdict_path] = tmp_path.glob("production/full-health/*/verdict.json")
    assert "observability_events" in json.loads(verdict_path.read_text())["error"]


def test_password_never_reaches_evidence_or_output(cli, scenario_db, tmp_path):
    password = f"Sekr1t-{uuid.uuid4().hex[:12]}"
    role = f"rg_reader_{uuid.uuid4().hex[:8]}"
    url = scenario_db("healthy")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        connection.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    host_and_db = url.split("://", 1)[1].split("@", 1)[1]
    secret_url = f"postgresql://{role}:{password}@{host_and_db}"
    try:
        completed = cli(
            "run", "full-health", "--env", "production", "--output-dir", str(tmp_path),
            env={"ROLLOUT_DB_URL": secret_url, "PGPASSWORD": password},
        )  # fmt: skip
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
            connection.execute(f"DROP ROLE {role}")
    assert completed.returncode == 0, completed.stderr
    assert password not in completed.stdout + completed.stderr
    assert "removed a secret" not in completed.stderr, "a secret leaked before the last scrub"
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".ipynb" for p in files) and any(p.suffix == ".html" for p in files)
    for path in files:
        assert password.encode() not in path.read_bytes(), f"password found in {path}"


def test_bad_parameter_is_a_usage_error_before_anything_is_written(cli, tmp_path):
    completed = cli(
        "run", "full-health", "--env", "production", "--db-url", "postgresql://u@h/db",
        "--set", "min_decided=ten", "--output-dir", str(tmp_path),
    )  # fmt: skip
    assert completed.returncode == 2
    assert "min_decided" in completed.stderr
    assert not list(tmp_path.iterdir())


def test_flags_and_telemetry_disagree_when_the_ledger_is_late(
    run_gate, scenario_db, scenario_end, write_ledger, tmp_path
):
    # flags-disagree: V3 active from 50h before the end, the ledger says from 48h. The hour
    # ending 48.5h before the end has 40 bookings, each with an active coordinator.start,
    # while the ledger says V3 was off (shadow since 76h, no switch-off so no drain): FAIL.
    url = scenario_db("flags-disagree")
    write_ledger(tmp_path, "flags-disagree", "production")
    run = full_health(run_gate, url, tmp_path, scenario_end - timedelta(hours=48, minutes=30))
    assert run.completed.returncode == 1
    assert run.checks["flags_telemetry"]["status"] == "FAIL"
    assert run.checks["flags_telemetry"]["observed"] >= 40
    assert run.checks["success_rate"]["status"] == "PASS"
    # In the last hour the ledger agrees (V3 on since 48h before the end).
    later = full_health(run_gate, url, tmp_path, scenario_end)
    assert later.checks["flags_telemetry"]["status"] == "PASS"
    assert later.completed.returncode == 0
