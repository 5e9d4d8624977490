"""`run all`: every gate of the environment, the worst verdict's exit code."""

import json

import pytest

from rollout_gates.gates import gate_ids, gate_spec

pytestmark = [pytest.mark.db, pytest.mark.slow]

# DESIGN.md: worst wins, FAIL > ERROR > INCONCLUSIVE > PASS; exit 0 PASS, 1 FAIL, 3, 4.
SEVERITY = {"PASS": 0, "INCONCLUSIVE": 1, "ERROR": 2, "FAIL": 3}
EXIT = {"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 3, "ERROR": 4}


def test_run_all_runs_each_production_gate_and_exits_with_the_worst(
    cli, scenario_db, scenario_end, tmp_path
):
    # healthy at its end, no ledger: full-health passes; shadow fails (the coordinator is
    # active in the last 24h); preflight runs after shadow (runbook order) and reads that
    # just-recorded FAIL, so it fails too.
    url = scenario_db("healthy")
    completed = cli(
        "run", "all", "--env", "production", "--db-url", url,
        "--as-of", scenario_end.isoformat(), "--output-dir", str(tmp_path),
    )  # fmt: skip
    verdicts = {
        path.parent.parent.name: json.loads(path.read_text())["status"]
        for path in tmp_path.glob("production/*/*/verdict.json")
    }
    production_gates = [g for g in gate_ids() if gate_spec(g).env == "production"]
    assert sorted(verdicts) == sorted(production_gates)
    assert verdicts["full-health"] == "PASS"
    assert verdicts["shadow"] == "FAIL"
    assert verdicts["preflight"] == "FAIL"
    worst = max(verdicts.values(), key=SEVERITY.__getitem__)
    assert completed.returncode == EXIT[worst] == 1
