"""The gate contract (gates/base.py): checked when a module loads, light to import, and open to
gates from an extra folder (ROLLOUT_EXTRA_GATES_DIR), run like the built-in ones."""

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app_telemetry import Telemetry
from rollout_gates.gates import gate_ids, gate_module, gate_notebook
from rollout_gates.gates.base import GateContractError, contract_problems

EXAMPLE = Path(__file__).parent / "fixtures" / "extra_gates"  # the bookings-made gate
HEAVY = ("sqlalchemy", "pandas", "matplotlib", "rollout_gates.telemetry")


def modules_loaded_by(code: str, extra: Path | None = None) -> list[str]:
    """sys.modules after `code` runs in a fresh interpreter, as the runner's and the CLI's
    parent processes start."""
    env = {k: v for k, v in os.environ.items() if k != "ROLLOUT_EXTRA_GATES_DIR"}
    if extra is not None:
        env["ROLLOUT_EXTRA_GATES_DIR"] = str(extra)
    report = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    completed = subprocess.run(
        [sys.executable, "-c", report], capture_output=True, text=True, env=env, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


LOAD_ALL = (
    "from rollout_gates.gates import gate_ids, gate_module\nfor g in gate_ids(): gate_module(g)"
)


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(f"{h}.") for h in HEAVY)]


def test_importing_every_gate_module_loads_no_sqlalchemy_pandas_matplotlib_or_telemetry():
    loaded = modules_loaded_by(LOAD_ALL)
    assert "rollout_gates.gates.cleanup" in loaded  # all nine were imported ...
    assert heavy(loaded) == []  # ... and none pulled in the heavy ones


def test_the_import_check_sees_a_gate_that_imports_pandas_at_its_top(tmp_path):
    shutil.copytree(EXAMPLE, tmp_path, dirs_exist_ok=True)
    module = tmp_path / "gates" / "bookings_made.py"
    module.write_text(module.read_text() + "\nimport pandas  # a top-level import, at the end\n")
    assert "pandas" in heavy(modules_loaded_by(LOAD_ALL, extra=tmp_path))


def test_success_does_not_import_its_sibling_scale():
    loaded = modules_loaded_by("from rollout_gates.gates import success")
    assert "rollout_gates.gates.success" in loaded
    assert "rollout_gates.gates.scale" not in loaded


def test_every_built_in_gate_keeps_the_contract():
    for gate_id in gate_ids():
        assert contract_problems(gate_module(gate_id), gate_id) == [], gate_id


def test_a_gate_missing_part_of_the_contract_is_refused_naming_it_and_what_is_missing(
    tmp_path, monkeypatch
):
    (tmp_path / "gates").mkdir()
    (tmp_path / "gates" / "half_done.py").write_text(
        "from rollout_gates.config.params import GateParams\n"
        "from rollout_gates.gates.base import GateSpec\n\n"
        'SPEC = GateSpec("half-done", "step", "1h", "production", GateParams)\n\n\n'
        "def collect(ctx, connection):\n"
        "    return None\n"
    )
    monkeypatch.setenv("ROLLOUT_EXTRA_GATES_DIR", str(tmp_path))
    assert "half-done" in gate_ids()
    with pytest.raises(GateContractError) as refused:
        gate_module("half-done")
    message = str(refused.value)
    assert "gate 'half-done'" in message
    assert "collect() does not take 1 positional argument(s)" in message
    assert "evaluate() is missing" in message and "advice() is missing" in message


def test_an_extra_gate_may_not_take_a_built_in_gates_id(tmp_path, monkeypatch):
    (tmp_path / "gates").mkdir()
    (tmp_path / "gates" / "shadow.py").write_text("")
    monkeypatch.setenv("ROLLOUT_EXTRA_GATES_DIR", str(tmp_path))
    with pytest.raises(Exception, match="extra gate 'shadow'.* has the id of the gate in"):
        gate_ids()


def test_extra_gates_come_after_the_runbooks_with_their_own_notebook(tmp_path, monkeypatch):
    shutil.copytree(EXAMPLE, tmp_path, dirs_exist_ok=True)
    monkeypatch.setenv("ROLLOUT_EXTRA_GATES_DIR", str(tmp_path))
    assert gate_ids()[-1] == "bookings-made" and gate_ids()[0] == "prerequisites"
    assert gate_notebook("bookings-made") == tmp_path / "notebooks" / "bookings-made.ipynb"
    assert gate_notebook("shadow").parent.parent == Path(__file__).parents[1]


@pytest.mark.db
@pytest.mark.slow
def test_an_extra_gate_runs_end_to_end_through_the_runner(make_database, run_gate, tmp_path):
    """bookings-made from a temporary folder, run with the real runner and papermill.

    Three bookings created in the last hour (at 50, 30 and 10 minutes ago). The rule: at least
    `min_created` (params.yaml: 3) is a PASS; with --set min_created=4, 3 < 4 is a FAIL.
    """
    folder = tmp_path / "extra"
    shutil.copytree(EXAMPLE, folder)
    url = make_database("extra_gate")
    telemetry = Telemetry()
    now = datetime.now(UTC)
    for minutes in (50, 30, 10):
        telemetry.created(now - timedelta(minutes=minutes))
    telemetry.insert(url)
    extra = {"ROLLOUT_EXTRA_GATES_DIR": str(folder)}

    passing = run_gate("bookings-made", "production", url, tmp_path / "out", extra_env=extra)
    assert passing.completed.returncode == 0, passing.completed.stderr[-2000:]
    assert passing.verdict["status"] == "PASS"
    assert passing.checks["bookings_created"]["observed"] == 3
    assert (passing.run_dir / "bookings-made.ipynb").exists()  # the extra folder's notebook ran

    failing = run_gate(
        "bookings-made", "production", url, tmp_path / "out", None, "min_created=4",
        extra_env=extra,
    )  # fmt: skip
    assert failing.completed.returncode == 1, failing.completed.stderr[-2000:]
    assert failing.verdict["status"] == "FAIL"
    assert failing.verdict["actions"] == [
        "# Fewer bookings than expected: check booking creation on production"
    ]
