"""preflight end to end: recorded verdicts written by the test, the gate run through the CLI.

The gate reads the latest `prerequisites` verdict on staging and `shadow` verdict on
production under the evidence root (here tmp_path), at or before its as-of; each must
be a PASS at most 24h old (params/defaults.yaml `max_verdict_age`). The database is
empty: the gate reads only its clock and server facts.
"""

import json
from datetime import timedelta

import pytest

from rollout_gates.config.flags import plan_commands
from rollout_gates.core.verdict import Check, GateResult, Status
from rollout_gates.run.evidence import record_verdict

pytestmark = [pytest.mark.db, pytest.mark.slow]

ALL_ATTESTED = (
    "attest.oncall=Ana Ortiz (on-call)",
    "attest.rollback_plan=Ana Ortiz",
    "attest.db_monitoring=Ben Wu",
    "attest.alert_channels=Ben Wu",
)


def record(root, env, gate, status, as_of, checks=()):
    """A verdict as a gate run leaves it: <root>/<env>/<gate>/<UTC time>/verdict.json."""
    run_dir = root / env / gate / f"{as_of:%Y%m%dT%H%M%SZ}"
    result = GateResult(
        gate=gate,
        env=env,
        status=Status(status),
        as_of=as_of,
        checks=list(checks),
        run_dir=str(run_dir),
    )
    record_verdict(run_dir, result)


@pytest.fixture
def empty_db(make_database):
    return make_database("preflight")


def preflight(run_gate, url, output_dir, as_of, *settings):
    return run_gate("preflight", "production", url, output_dir, as_of, *settings)


def test_fresh_passes_and_all_attestations_pass_and_give_the_full_mode_commands(
    run_gate, empty_db, scenario_end, tmp_path
):
    # prerequisites PASS 2h and shadow PASS 30 min before the as-of: both <= 24h old.
    record(tmp_path, "staging", "prerequisites", "PASS", scenario_end - timedelta(hours=2))
    record(tmp_path, "production", "shadow", "PASS", scenario_end - timedelta(minutes=30))
    run = preflight(run_gate, empty_db, tmp_path, scenario_end, *ALL_ATTESTED)
    assert run.completed.returncode == 0, run.completed.stdout + run.completed.stderr
    assert run.statuses == {
        "staging_prerequisites": "PASS",
        "production_shadow": "PASS",
        "attest.oncall": "PASS",
        "attest.rollback_plan": "PASS",
        "attest.db_monitoring": "PASS",
        "attest.alert_channels": "PASS",
    }
    assert "Ana Ortiz (on-call)" in run.checks["attest.oncall"]["detail"]
    assert run.verdict["actions"] == plan_commands("full", "production")
    assert run.verdict["actions"][:2] == [
        "vercel env add FEATURE_ASSIGNMENT_PIPELINE_V3 production",
        "# When prompted, enter: true",
    ]
    notebook = json.loads((run.run_dir / "preflight.ipynb").read_text())
    shown = "".join(
        "".join(output.get("data", {}).get("text/markdown", ""))
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
    )
    assert "- [x] Staging has been stable for 48+ hours" in shown
    assert "- [x] Alert channels are configured" in shown


def test_a_missing_attestation_is_inconclusive(run_gate, empty_db, scenario_end, tmp_path):
    record(tmp_path, "staging", "prerequisites", "PASS", scenario_end - timedelta(hours=2))
    record(tmp_path, "production", "shadow", "PASS", scenario_end - timedelta(minutes=30))
    run = preflight(run_gate, empty_db, tmp_path, scenario_end, *ALL_ATTESTED[:3])
    assert run.completed.returncode == 3
    assert run.statuses["attest.alert_channels"] == "INCONCLUSIVE"
    assert {k: v for k, v in run.statuses.items() if k != "attest.alert_channels"} == dict.fromkeys(
        ("staging_prerequisites", "production_shadow", "attest.oncall", "attest.rollback_plan",
         "attest.db_monitoring"),
        "PASS",
    )  # fmt: skip
    assert not any(line.startswith("vercel") for line in run.verdict["actions"])


def test_a_failed_prerequisites_verdict_fails(run_gate, empty_db, scenario_end, tmp_path):
    # An older PASS, then a FAIL 1h before the as-of: the latest word is FAIL.
    failing = Check(id="success_rate", rule="success rate >= 97%", status=Status.FAIL, detail="x")
    record(tmp_path, "staging", "prerequisites", "PASS", scenario_end - timedelta(hours=5))
    record(
        tmp_path, "staging", "prerequisites", "FAIL", scenario_end - timedelta(hours=1), [failing]
    )
    record(tmp_path, "production", "shadow", "PASS", scenario_end - timedelta(minutes=30))
    run = preflight(run_gate, empty_db, tmp_path, scenario_end, *ALL_ATTESTED)
    assert run.completed.returncode == 1
    assert run.statuses["staging_prerequisites"] == "FAIL"
    assert "success_rate" in run.checks["staging_prerequisites"]["detail"]
    assert run.statuses["production_shadow"] == "PASS"


def test_a_stale_verdict_is_inconclusive_and_later_ones_are_ignored(
    run_gate, empty_db, scenario_end, tmp_path
):
    # prerequisites PASS 30h before the as-of (> 24h: stale); a FAIL recorded 30 s after the
    # as-of is not seen by a run at that as-of. No shadow verdict at all: INCONCLUSIVE too.
    record(tmp_path, "staging", "prerequisites", "PASS", scenario_end - timedelta(hours=30))
    record(tmp_path, "staging", "prerequisites", "FAIL", scenario_end + timedelta(seconds=30))
    run = preflight(run_gate, empty_db, tmp_path, scenario_end, *ALL_ATTESTED)
    assert run.completed.returncode == 3
    prerequisites = run.checks["staging_prerequisites"]
    assert prerequisites["status"] == "INCONCLUSIVE"
    assert "stale" in prerequisites["detail"] and "30h 00m" in prerequisites["detail"]
    assert run.statuses["production_shadow"] == "INCONCLUSIVE"
    assert "rollout-gates run shadow --env production" in run.checks["production_shadow"]["detail"]
