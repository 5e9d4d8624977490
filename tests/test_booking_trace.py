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

from rollout_gates import paths

pytestmark = [pytest.mark.db, pytest.mark.slow]

REASONS = {
    "retry": "unresolved, a failure",
    "manual_review": "manual_review: a manual review, counted against the success rate",
}


def test_the_trace_shows_the_bookings_behind_a_failing_full_health(
    run_gate, scenario_db, scenario_end, tmp_path
):
    incident_end = scenario_end - timedelta(hours=3)
    url = scenario_db("red-flag-success-dip")
    run = run_gate("full-health", "production", url, tmp_path, incident_end)
    assert run.statuses["success_rate"] == "FAIL"
    behind = pd.read_csv(run.run_dir / "tables" / "bookings-behind.csv")
    assert 12 <= len(behind) <= 16 and set(behind["outcome"]) == {"retry", "manual_review"}
    traced = tmp_path / "trace.ipynb"
    completed = subprocess.run(
        [
            sys.executable, "-m", "papermill", "-k", "rollout-gates",
            str(paths.notebooks_dir() / "booking-trace.ipynb"), str(traced),
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
