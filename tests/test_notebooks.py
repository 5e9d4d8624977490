"""Notebooks are stored clean and run as stored, with their default parameters."""

import json
import os
import subprocess
import sys

import pytest

from rollout_gates.core import layout
from rollout_gates.gates import gate_ids, gate_module
from rollout_gates.sim.simulate import simulate

NOTEBOOKS = sorted(layout.notebooks_dir().glob("*.ipynb"))
TOOL_NOTEBOOKS = ["booking-trace", "replay"]  # notebooks of the tool itself, not of a runbook step


def test_every_gate_has_a_notebook_and_every_notebook_a_gate():
    assert sorted(p.stem for p in NOTEBOOKS) == sorted(gate_ids() + TOOL_NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_one_parameters_cell_without_a_database_url(path):
    notebook = json.loads(path.read_text())
    tagged = [c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1
    source = "".join(tagged[0]["source"])
    assert "url" not in source.lower(), "the database URL must come from the environment"


@pytest.mark.db
@pytest.mark.slow
def test_notebooks_run_as_stored_with_nbval(make_database):
    url = make_database("notebooks")
    simulate(url, "healthy", "production")
    completed = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "--nbval-lax", "--nbval-current-env", str(layout.notebooks_dir()),
        ],
        capture_output=True,
        text=True,
        cwd=layout.PROJECT_ROOT,
        env={**os.environ, "ROLLOUT_DB_URL": url},
        timeout=900,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    assert " passed" in completed.stdout and "failed" not in completed.stdout


def test_each_gate_module_is_named_after_its_gate():
    for gate_id in gate_ids():
        assert gate_module(gate_id).SPEC.id == gate_id
