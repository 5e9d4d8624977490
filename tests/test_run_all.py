"""`run all`: every gate of the environment, the worst verdict's exit code."""

import json
from pathlib import Path

import pytest

from rollout_gates.gates import gate_ids, gate_spec
from rollout_gates.run.parallel import count_waiting_on, ready_gates

# DESIGN.md: worst wins, FAIL > ERROR > INCONCLUSIVE > PASS; exit 0 PASS, 1 FAIL, 3, 4.
SEVERITY = {"PASS": 0, "INCONCLUSIVE": 1, "ERROR": 2, "FAIL": 3}
EXIT = {"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 3, "ERROR": 4}


@pytest.mark.db
@pytest.mark.slow
def test_run_all_in_parallel_runs_each_production_gate_and_exits_with_the_worst(
    cli, scenario_db, scenario_end, tmp_path
):
    # healthy at its end, no ledger: full-health passes; shadow fails (the coordinator is
    # active in the last 24h); preflight waits for shadow (it reads shadow's verdict) and
    # reads that just-recorded FAIL, so it fails too. Two gates run at a time.
    url = scenario_db("healthy")
    completed = cli(
        "run", "all", "--env", "production", "--db-url", url, "--jobs", "2",
        "--as-of", scenario_end.isoformat(), "--output-dir", str(tmp_path),
    )  # fmt: skip
    paths = sorted(tmp_path.glob("production/*/*/verdict.json"))
    verdicts = {path.parent.parent.name: json.loads(path.read_text()) for path in paths}
    production_gates = [g for g in gate_ids() if gate_spec(g).env == "production"]
    # One run folder a gate, holding that gate's own verdict.
    assert len(paths) == len(production_gates)
    assert sorted(verdicts) == sorted(production_gates)
    for gate_id, verdict in verdicts.items():
        assert verdict["gate"] == gate_id
        assert Path(verdict["run_dir"]).parent.name == gate_id
    statuses = {gate_id: verdict["status"] for gate_id, verdict in verdicts.items()}
    assert statuses["full-health"] == "PASS"
    assert statuses["shadow"] == "FAIL"
    assert statuses["preflight"] == "FAIL"
    worst = max(statuses.values(), key=SEVERITY.__getitem__)
    assert completed.returncode == EXIT[worst] == 1
    # Each verdict's lines come out together: its evidence line ends its block.
    blocks = completed.stdout.split("  evidence: ")[:-1]
    assert len(blocks) == len(production_gates)
    for block in blocks:
        assert sum("[production] as of" in line for line in block.splitlines()) == 1


def test_a_gate_waits_for_the_gates_whose_verdicts_it_reads():
    after = {"preflight": ("prerequisites", "shadow"), "cleanup": ("success",)}
    selected = {"shadow", "preflight", "success", "cleanup"}
    waiting = ["shadow", "preflight", "success", "cleanup"]
    # prerequisites is not part of this run (a staging gate): preflight waits for shadow only.
    assert ready_gates(waiting, after, {}, selected) == ["shadow", "success"]
    assert ready_gates(["preflight", "cleanup"], after, {"shadow": None}, selected) == ["preflight"]
    assert ready_gates(["cleanup"], after, {"shadow": None, "success": None}, selected) == [
        "cleanup"
    ]


def test_gates_that_others_wait_for_are_counted_for_going_first():
    after = {"preflight": ("prerequisites", "shadow"), "cleanup": ("success",)}
    gates = ["shadow", "preflight", "full-health", "success", "cleanup"]
    assert [count_waiting_on(g, gates, after) for g in gates] == [1, 0, 0, 1, 0]
