"""One run at a time per environment and gate: waiting, giving up, and surviving a killed holder."""

import json
import signal
import subprocess
import sys
import time

import pytest

from rollout_gates.core.layout import lock_path
from rollout_gates.run.lock import LockTimeout, gate_lock


def test_second_holder_gives_up_naming_the_first(tmp_path):
    path = lock_path(tmp_path, "production", "full-health")
    with gate_lock(path, 0, "full-health on production"):
        began = time.monotonic()
        with (
            pytest.raises(
                LockTimeout, match=r"full-health on production is in progress \(held by pid"
            ),
            gate_lock(path, 0.5, "full-health on production"),
        ):
            pass
        assert time.monotonic() - began >= 0.5
    with gate_lock(path, 0, "full-health on production"):
        pass  # released at the end of the block


def test_other_gates_do_not_wait(tmp_path):
    with (
        gate_lock(lock_path(tmp_path, "production", "full-health"), 0, "a"),
        gate_lock(lock_path(tmp_path, "production", "rollback"), 0, "b"),
        gate_lock(lock_path(tmp_path, "staging", "full-health"), 0, "c"),
    ):
        pass


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    path = lock_path(tmp_path, "production", "full-health")
    holder = subprocess.Popen(
        [
            sys.executable, "-c",
            "import sys, time; from pathlib import Path\n"
            "from rollout_gates.run.lock import gate_lock\n"
            f"with gate_lock(Path({str(path)!r}), 0, 'x'):\n"
            "    print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(LockTimeout), gate_lock(path, 0, "x"):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    with gate_lock(path, 2, "x"):
        pass


def file_times(folder) -> list[float]:
    """The modification times of every file in a run folder."""
    return [path.stat().st_mtime for path in folder.rglob("*") if path.is_file()]


@pytest.mark.db
@pytest.mark.slow
def test_overlapping_runs_of_a_gate_serialize(scenario_db, scenario_end, events_locked, tmp_path):
    """A first run held in its notebook (the test locks observability_events, so its first
    read waits): a run that will not wait gives up with exit 4, naming the first and writing
    nothing; a patient one starts while the first is going, waits, and runs after it ended."""
    url = scenario_db("healthy")
    run = [
        sys.executable, "-m", "rollout_gates", "run", "full-health", "--env", "production",
        "--db-url", url, "--output-dir", str(tmp_path), "--as-of", scenario_end.isoformat(),
    ]  # fmt: skip
    runs = tmp_path / "production" / "full-health"
    with events_locked(url) as table:
        first = subprocess.Popen(run, stdout=subprocess.PIPE, text=True)
        table.wait_for_blocked_gates(1)  # the first run holds the gate's lock, mid-notebook
        [first_dir] = runs.iterdir()
        impatient = subprocess.run([*run, "--lock-wait", "1s"], capture_output=True, text=True)
        patient_launched = time.time()
        patient = subprocess.Popen([*run, "--lock-wait", "5m"], stdout=subprocess.PIPE, text=True)
        time.sleep(3)  # long enough for the patient run to reach the lock
        assert patient.poll() is None and first.poll() is None, "both runs are going"
        assert table.blocked_gates() == 1, "the patient run opened no session"
        assert list(runs.iterdir()) == [first_dir], "nothing else runs while the lock is held"
    first_out, _ = first.communicate(timeout=300)
    patient_out, _ = patient.communicate(timeout=300)

    assert impatient.returncode == 4
    assert "another run of full-health on production is in progress" in impatient.stderr
    assert f"held by pid {first.pid}" in impatient.stderr
    assert first.returncode == 0, first_out
    assert patient.returncode == 0, patient_out
    [second_dir] = set(runs.iterdir()) - {first_dir}  # the impatient run left no folder
    for folder in (first_dir, second_dir):
        assert json.loads((folder / "verdict.json").read_text())["status"] == "PASS"
    # The patient run started while the first was going and wrote its first file only once
    # the first had written its last: it waited, then ran.
    first_end, second_start = max(file_times(first_dir)), min(file_times(second_dir))
    assert patient_launched < first_end <= second_start
