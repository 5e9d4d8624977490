"""prerequisites end to end: simulate staging, run the gate through the CLI, read the evidence.

Each expectation is derived by hand from the scenario file and DESIGN.md's rules. Simulator
rules (lib/rollout_gates/sim/simulate.py): a segment of D hours at r bookings an hour holds
n = round(D x r) bookings, booking i at (i + 0.5) x D/n +- 0.2 x D/n; outcome quotas by
largest remainder, spread by smooth weighted round robin; outcome events ~1 s after the
booking. A retry is never followed by another outcome: unresolved (a failure) after 15 min.

Staging of `healthy` (and of `red-flag-success-dip`, the same section): full mode for the last
60h at 20 bookings/h, n = 1200, one booking every 180 s, so every hour aligned to the end holds
exactly 20 (bookings sit at least 0.3 x 180 = 54 s from an hour boundary). Quotas 0.985 /
0.005 / 0.01 of 1200 = 1182 confirmed, 6 manual reviews, 12 retries, spread evenly: retries
are bookings 40, 160, 240, 360, ..., 1160 (every ~100), manual reviews 100, 300, ..., 1100.
The 48h window holds bookings 240-1199 (960): 10 retries, 5 manual reviews, none in the last
15 minutes (the last retry is booking 1160, 2h before the end).
"""

import re
from datetime import datetime, timedelta

import pytest

pytestmark = [pytest.mark.db, pytest.mark.slow]

CHECKS = (
    "soak",
    "success_rate",
    "manual_review_rate",
    "red_flag_hours",
    "sustained_errors",
    "circuit_opens",
)


def prerequisites(run_gate, url, output_dir, as_of=None, *settings):
    return run_gate("prerequisites", "staging", url, output_dir, as_of, *settings)


def can_pass_at(detail: str) -> datetime:
    [moment] = re.findall(r"can pass at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", detail)
    return datetime.fromisoformat(moment + "+00:00")


def test_stable_staging_passes_from_telemetry(run_gate, scenario_db, scenario_end, tmp_path):
    # 960 - 10 retries - 5 manual reviews = 945 confirmed: 98.4% >= 97%; manual review
    # 5/960 = 0.52% < 1%.
    # Worst hour: 19/20 = 95% (a retry) or 1/20 = 5% manual review, not above 5% (no hour has
    # both: retries fall in hours 12, 18, 22, ..., manual reviews in hours 15, 25, ...). No
    # ledger: the soak comes from telemetry, V3 active since ~60h before the end >= 48h.
    run = prerequisites(run_gate, scenario_db("healthy", "staging"), tmp_path, scenario_end)
    assert run.completed.returncode == 0, run.completed.stdout + run.completed.stderr
    assert run.statuses == dict.fromkeys(CHECKS, "PASS")
    checks = run.checks
    assert (checks["success_rate"]["sample_size"], checks["success_rate"]["observed"]) == (
        960,
        pytest.approx(945 / 960),
    )
    assert checks["manual_review_rate"]["observed"] == pytest.approx(5 / 960)
    assert "from the telemetry" in checks["soak"]["detail"]
    assert checks["red_flag_hours"]["sample_size"] == 960  # decided bookings over the 48 hours
    # PASS carries the runbook's Phase 1 commands, for production.
    assert (
        "vercel env add FEATURE_ASSIGNMENT_PIPELINE_V3_SHADOW production" in run.verdict["actions"]
    )
    for name in ("soak", "outcomes", "hourly_rates", "errors_per_10m", "events_per_hour"):
        assert (run.run_dir / "tables" / f"{name}.csv").exists(), name
    for name in ("success_rate", "manual_review_rate", "errors_and_circuit_opens"):
        assert (run.run_dir / "figures" / f"{name}.png").exists(), name


def test_stable_staging_passes_from_its_flag_ledger(
    run_gate, scenario_db, scenario_end, write_ledger, tmp_path
):
    # red-flag-success-dip's staging section is healthy's (only production dips): the same
    # quotas, so 945/960 again. Its ledger sets V3=true exactly 60h before the end.
    write_ledger(tmp_path, "red-flag-success-dip", "staging")
    url = scenario_db("red-flag-success-dip", "staging")
    run = prerequisites(run_gate, url, tmp_path, scenario_end)
    assert run.completed.returncode == 0, run.completed.stdout + run.completed.stderr
    assert run.statuses == dict.fromkeys(CHECKS, "PASS")
    soak = run.checks["soak"]
    assert soak["observed"] == "60.0h"
    assert "from the flag ledger" in soak["detail"]


def test_staging_too_short_is_inconclusive_until_48h_after_full_start(
    run_gate, scenario_db, scenario_end, write_ledger, tmp_path
):
    # Staging: legacy from 80h, full mode only for the last 30h (the ledger: V3=true at
    # end - 30h), so the soak can pass at end - 30h + 48h = end + 18h. Everything else passes:
    # n = 30 x 20 = 600 in the window, quotas 591 / 3 / 6, retries at bookings 40, 160, ...,
    # 560 (the last 2h before the end): success 591/600 = 98.5%, manual review 3/600 = 0.5%.
    write_ledger(tmp_path, "staging-too-short", "staging")
    url = scenario_db("staging-too-short", "staging")
    run = prerequisites(run_gate, url, tmp_path, scenario_end)
    assert run.completed.returncode == 3, run.completed.stdout + run.completed.stderr
    assert run.verdict["status"] == "INCONCLUSIVE"
    assert run.statuses == dict.fromkeys(CHECKS, "PASS") | {"soak": "INCONCLUSIVE"}
    soak = run.checks["soak"]
    assert soak["observed"] == "30.0h"
    assert can_pass_at(soak["detail"]) == scenario_end + timedelta(hours=18)
    assert run.checks["success_rate"]["observed"] == pytest.approx(591 / 600)
    assert any("can pass at" in line for line in run.verdict["actions"])


def test_staging_too_short_without_ledger_dates_the_soak_from_telemetry(
    run_gate, scenario_db, scenario_end, tmp_path
):
    # Without a ledger the clock starts at the first active coordinator.start after the last
    # legacy event: the first V3 booking is at end - 30h + (0.5 +- 0.2) x 180 s, its start 1 s
    # later, so it can pass between end + 18h + 55 s and end + 18h + 127 s.
    run = prerequisites(
        run_gate, scenario_db("staging-too-short", "staging"), tmp_path, scenario_end
    )
    assert run.completed.returncode == 3
    soak = run.checks["soak"]
    assert soak["status"] == "INCONCLUSIVE"
    assert "from the telemetry" in soak["detail"]
    ready = can_pass_at(soak["detail"]) - (scenario_end + timedelta(hours=18))
    assert timedelta(seconds=54) <= ready <= timedelta(seconds=128)


def test_empty_database_is_inconclusive_not_pass(run_gate, make_database, scenario_end, tmp_path):
    run = prerequisites(run_gate, make_database("prereq_empty"), tmp_path, scenario_end)
    assert run.completed.returncode == 3, run.completed.stdout + run.completed.stderr
    assert run.verdict["status"] == "INCONCLUSIVE"
    assert run.statuses == {
        "soak": "INCONCLUSIVE",
        "success_rate": "INCONCLUSIVE",
        "manual_review_rate": "INCONCLUSIVE",
        "red_flag_hours": "INCONCLUSIVE",
        # No errors and no breaker trips because no coordinator event at all: no data, not
        # a PASS (DESIGN.md, "Verdicts"; issue 13).
        "sustained_errors": "INCONCLUSIVE",
        "circuit_opens": "INCONCLUSIVE",
    }
    assert run.checks["sustained_errors"]["no_data"] and run.checks["circuit_opens"]["no_data"]
