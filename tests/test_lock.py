"""One run at a time per environment and gate: waiting, giving up, and surviving a killed holder."""

import signal
import subprocess
import sys
import time

import pytest

from rollout_gates.lock import LockTimeout, gate_lock, lock_path


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
            "import sys, time; from pathlib import Path; from rollout_gates.lock import gate_lock\n"
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


@pytest.mark.db
@pytest.mark.slow
def test_overlapping_runs_of_a_gate_serialize(scenario_db, scenario_end, tmp_path):
    """The test holds the gate's lock, as a long first run would: a run that will not wait
    gives up with exit 4 and writes nothing; a patient one waits, then runs once it is free."""
    url = scenario_db("healthy")
    run = [
        sys.executable, "-m", "rollout_gates", "run", "full-health", "--env", "production",
        "--db-url", url, "--output-dir", str(tmp_path), "--as-of", scenario_end.isoformat(),
    ]  # fmt: skip
    runs = tmp_path / "production" / "full-health"
    with gate_lock(lock_path(tmp_path, "production", "full-health"), 0, "the first run"):
        impatient = subprocess.run([*run, "--lock-wait", "1s"], capture_output=True, text=True)
        patient = subprocess.Popen([*run, "--lock-wait", "5m"], stdout=subprocess.PIPE, text=True)
        time.sleep(3)  # long enough for the patient run to reach the lock
        assert patient.poll() is None, "the patient run must be waiting"
        assert not runs.exists() or not list(runs.iterdir()), "nothing runs while the lock is held"
    patient_out, _ = patient.communicate(timeout=300)

    assert impatient.returncode == 4
    assert "another run of full-health on production is in progress" in impatient.stderr
    assert "held by pid" in impatient.stderr
    assert patient.returncode == 0, patient_out
    [run_dir] = runs.iterdir()  # the impatient run left no folder
    assert (run_dir / "verdict.json").exists()
