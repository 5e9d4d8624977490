"""booking-trace.ipynb after a red flag: papermill on the success-dip's failing full-health.

At the dip hour (test_full_health_gate: 24 confirmed, 15 retries, 1 manual review; at most 4
retries pending) the success rate FAILs and the run lists the bookings behind it. Each is a
retry older than the 15-minute grace (unresolved, a failure) or the manual review; the trace
shows every one with its trail and that reason.
"""

import json
import os
import subprocess
import sys
from datetime import timedelta

import pandas as pd
import pytest

from rollout_gates.core import layout
from rollout_gates.core.verdict import GateResult, Status
from rollout_gates.telemetry.trail import trace_pointer

REASONS = {
    "retry": "unresolved, a failure",
    "manual_review": "manual_review: a manual review, counted against the success rate",
}


@pytest.fixture(scope="module")
def dip(run_gate, scenario_db, scenario_end, tmp_path_factory):
    """The failing full-health run at the dip hour, its database and as-of."""
    incident_end = scenario_end - timedelta(hours=3)
    url = scenario_db("red-flag-success-dip")
    run = run_gate("full-health", "production", url, tmp_path_factory.mktemp("dip"), incident_end)
    assert run.statuses["success_rate"] == "FAIL"
    return run, url, incident_end


@pytest.mark.db
@pytest.mark.slow
def test_the_banner_names_the_first_five_bookings_and_the_trace_command(dip):
    run, _, incident_end = dip
    behind = pd.read_csv(run.run_dir / "tables" / "bookings-behind.csv")
    ids = list(behind["booking_id"])  # only success_rate fails: one check's bookings
    banner = "".join(
        json.loads((run.run_dir / "full-health.ipynb").read_text())["cells"][0]["source"]
    )
    assert all(booking in banner for booking in ids[:5])
    assert not any(booking in banner for booking in ids[5:])
    assert f"- success_rate: `{ids[0]}`" in banner and f"+{behind['of'].iloc[0] - 5} more" in banner
    command = f"rollout-gates trace --env production --verdict {run.run_dir / 'verdict.json'}"
    assert command in banner
    html = (run.run_dir / "full-health.html").read_text()
    assert ids[0] in html and "Bookings behind the failing checks" in html


@pytest.mark.db
@pytest.mark.slow
def test_the_trace_shows_the_bookings_behind_a_failing_full_health(dip, tmp_path):
    run, url, incident_end = dip
    behind = pd.read_csv(run.run_dir / "tables" / "bookings-behind.csv")
    assert 12 <= len(behind) <= 16 and set(behind["outcome"]) == {"retry", "manual_review"}
    traced = tmp_path / "trace.ipynb"
    completed = subprocess.run(
        [
            sys.executable, "-m", "papermill", "-k", "rollout-gates",
            str(layout.notebooks_dir() / "booking-trace.ipynb"), str(traced),
            "-p", "env", "production", "-p", "as_of", incident_end.isoformat(),
            "-p", "verdict_path", str(run.run_dir / "verdict.json"),
        ],
        capture_output=True, text=True, env={**os.environ, "ROLLOUT_DB_URL": url}, timeout=600,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    cells = json.loads(traced.read_text())["cells"]
    text = "\n".join(
        "".join(output.get("data", {}).get("text/markdown", ""))
        for cell in cells
        for output in cell.get("outputs", [])
    )
    for row in behind.itertuples():
        section = text.split(f"### Booking `{row.booking_id}`")[1].split("### Booking")[0]
        assert REASONS[row.outcome] in section
    trails = [
        output["data"]["text/plain"]
        for cell in cells
        for output in cell.get("outputs", [])
        if "coordinator.start" in "".join(output.get("data", {}).get("text/plain", ""))
    ]
    assert len(trails) == len(behind)  # a trail table for each booking


def test_a_pass_or_a_run_without_bookings_points_to_nothing(tmp_path):
    result = GateResult(gate="full-health", env="production", status=Status.PASS, checks=[])
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "bookings-behind.csv").write_text("check,booking_id,of\nx,b1,1\n")
    assert trace_pointer(tmp_path, result) == ""
    failed = result.model_copy(update={"status": Status.FAIL})
    assert trace_pointer(tmp_path / "elsewhere", failed) == ""
    assert "- x: `b1`\n" in trace_pointer(tmp_path, failed)


@pytest.mark.db
@pytest.mark.slow
def test_the_banner_command_opens_the_trace_at_the_verdicts_as_of(dip, tmp_path):
    from conftest import run_cli

    run, url, _ = dip
    first = pd.read_csv(run.run_dir / "tables" / "bookings-behind.csv").iloc[0]
    completed = run_cli(
        "trace", "--env", "production", "--verdict", str(run.run_dir / "verdict.json"),
        "--db-url", url, "--output-dir", str(tmp_path),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    [html] = tmp_path.glob("production/traces/*/booking-trace.html")
    page = html.read_text()
    assert first.booking_id in page and REASONS[first.outcome] in page
