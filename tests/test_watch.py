"""watch: clock-aligned runs, skipped ticks, errors that do not stop it, SIGTERM, the must-show.

The scheduling logic is tested with a clock the test controls (no sleeping); the
end-to-end tests run the real CLI against a real database with intervals of seconds.
"""

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from rollout_gates.core.errors import RolloutGatesError
from rollout_gates.core.layout import lock_path
from rollout_gates.core.verdict import GateResult, Status
from rollout_gates.run.lock import gate_lock
from rollout_gates.run.watch import WatchRun, clock_ticks, exit_code_of, watch_gate

T0 = datetime(2026, 11, 29, 10, 7, tzinfo=UTC)


def test_ticks_align_to_the_clock():
    ticks = clock_ticks(T0, timedelta(minutes=30), timedelta(hours=6))
    assert ticks[0] == datetime(2026, 11, 29, 10, 30, tzinfo=UTC)
    assert ticks[-1] == datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
    assert len(ticks) == 12  # 10:30, 11:00, ... 16:00: every half hour before 16:07
    assert all(t.minute in (0, 30) and t.second == 0 for t in ticks)


def test_a_start_on_a_tick_runs_at_once():
    start = datetime(2026, 11, 29, 10, 30, tzinfo=UTC)
    assert clock_ticks(start, timedelta(minutes=30), timedelta(hours=1))[0] == start


class FakeClock:
    """Time that moves only when the watch sleeps or a run takes time."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def result(status: Status) -> GateResult:
    return GateResult(gate="full-health", env="production", status=status)


def watch_with(outcomes, run_seconds, every=10, duration=55):
    """Watch over a scripted list of outcomes (a Status or an exception), each taking time."""
    clock = FakeClock(datetime(2026, 11, 29, 10, 0, 5, tzinfo=UTC))
    script = iter(outcomes)

    def run_once():
        clock.sleep(run_seconds)
        outcome = next(script)
        if isinstance(outcome, Exception):
            raise outcome
        return result(outcome)

    runs = watch_gate(
        run_once,
        timedelta(seconds=every),
        timedelta(seconds=duration),
        echo=lambda _m: None,
        clock=clock,
        sleep=clock.sleep,
    )
    return runs


def test_every_tick_runs_and_the_worst_verdict_is_the_exit_code():
    runs = watch_with([Status.PASS, Status.PASS, Status.FAIL, Status.PASS, Status.PASS], 3)
    # from 10:00:05 for 55 s every 10 s: ticks 10:00:10 ... 10:00:50 (10:01:00 is the end)
    assert [r.scheduled.second for r in runs] == [10, 20, 30, 40, 50]
    assert exit_code_of(runs) == 1


def test_a_run_that_errors_does_not_stop_the_watch():
    problem = RolloutGatesError("another run of full-health on production is in progress")
    runs = watch_with([Status.PASS, problem, Status.PASS, Status.PASS, Status.PASS], 3)
    assert [r.status for r in runs] == [
        Status.PASS, Status.ERROR, Status.PASS, Status.PASS, Status.PASS,
    ]  # fmt: skip
    assert "in progress" in runs[1].summary_line()
    assert exit_code_of(runs) == 4


def test_a_tick_missed_by_a_long_run_is_skipped_not_queued():
    # runs take 15 s. :10 runs until :25; :20 is late but inside its interval, so it runs
    # at :25 until :40; by then :30's interval is over: skipped. :40 runs on time until :55,
    # and :50 runs late.
    runs = watch_with([Status.PASS] * 4, 15)
    assert [r.status for r in runs] == [Status.PASS, Status.PASS, None, Status.PASS, Status.PASS]
    assert "SKIPPED" in runs[2].summary_line()
    assert exit_code_of(runs) == 0


def test_a_watch_that_ran_nothing_is_an_error():
    assert exit_code_of([WatchRun(scheduled=T0)]) == 4
    assert exit_code_of([]) == 4


def test_inconclusive_is_not_a_pass():
    runs = watch_with([Status.PASS, Status.INCONCLUSIVE, Status.PASS, Status.PASS, Status.PASS], 1)
    assert exit_code_of(runs) == 3


def watch_command(url, out, every, duration, extra=()):
    return [
        sys.executable, "-m", "rollout_gates", "watch", "full-health", "--env", "production",
        "--db-url", url, "--output-dir", str(out), "--every", every, "--for", duration, *extra,
    ]  # fmt: skip


@pytest.mark.db
@pytest.mark.slow
def test_sigterm_during_a_run_keeps_its_partial_evidence(scenario_db, events_locked, tmp_path):
    """The test holds observability_events, so the run's first read of it waits in its cell:
    SIGTERM certainly lands mid-run. The run ends as ERROR beside its partial notebook."""
    url = scenario_db("healthy")
    runs = tmp_path / "production" / "full-health"
    with events_locked(url) as table:
        watch = subprocess.Popen(
            watch_command(url, tmp_path, "2s", "1m"), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            table.wait_for_blocked_gates(1)  # the kernel is in a cell, its query waiting
            assert list(runs.glob("*/full-health.ipynb")), "papermill wrote the notebook"
            watch.send_signal(signal.SIGTERM)
            out, err = watch.communicate(timeout=120)
        finally:
            if watch.poll() is None:
                watch.kill()

    assert watch.returncode == 4, out + err
    [run_dir] = runs.iterdir()
    verdict = json.loads((run_dir / "verdict.json").read_text())
    assert verdict["status"] == "ERROR"
    assert "interrupted (Ctrl-C or SIGTERM) before the notebook finished" in verdict["error"]
    assert verdict["checks"] == [], "no check was judged: the run was cut short"
    notebook = json.loads((run_dir / "full-health.ipynb").read_text())
    assert notebook["metadata"]["rollout_gates"]["status"] == "ERROR"
    sources = ["".join(cell["source"]) for cell in notebook["cells"]]
    assert "ERROR" in sources[0], "the verdict banner on top"
    described = [c for c in notebook["cells"] if "open_gate(" in "".join(c["source"])]
    assert described[0]["outputs"], "the cells before the signal kept their outputs"
    verdict_cell = [c for c in notebook["cells"] if "gate.finish(" in "".join(c["source"])]
    assert not verdict_cell[0].get("outputs"), "the verdict cell never ran"
    html = (run_dir / "full-health.html").read_text()
    assert "interrupted" in html
    assert "1 scheduled runs" in out
    assert "stopped during the run" in err
    assert "  ERROR  " in out.splitlines()[-1], "the summary line of the interrupted run"
    with gate_lock(lock_path(tmp_path, "production", "full-health"), 0, "released"):
        pass


@pytest.mark.db
@pytest.mark.slow
def test_watch_catches_an_incident_and_alerts_once(make_database, cli, tmp_path, webhook):
    """The issue's must-show: every 10 s for a minute; an incident lands 30 s in."""
    url = make_database("watch_incident")
    loaded = cli("simulate", "--scenario", "healthy", "--db-url", url)
    assert loaded.returncode == 0, loaded.stderr
    watch = subprocess.Popen(
        watch_command(url, tmp_path, "10s", "1m"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**__import__("os").environ, "ROLLOUT_NOTIFY_WEBHOOK": webhook.url},
    )  # fmt: skip
    time.sleep(30)
    # incident.yaml, appended at the database's now: the last 50 minutes hold about 33
    # bookings, a third of them coordinator.error, in every 10-minute bucket. With the
    # hour's 40 healthy bookings, success <= (40 + 22) / (40 + 33) = 85% < 90%: a FAIL.
    appended = cli("simulate", "--scenario", "incident", "--append", "--db-url", url)
    assert appended.returncode == 0, appended.stderr
    out, err = watch.communicate(timeout=180)
    print(out)

    lines = [line for line in out.splitlines() if line[:4] == "2026" or line[:2] == "20"]
    statuses = [line.split()[2] for line in lines]
    ran = [s for s in statuses if s != "SKIPPED"]
    assert len(statuses) == 6  # ticks in a minute, every 10 s
    assert ran[0] == "PASS" and ran[-1] == "FAIL"
    assert ran == sorted(ran, key=lambda s: s == "FAIL"), "PASS runs, then FAIL runs"
    assert watch.returncode == 1
    heads = [m["text"].split(" as of")[0] for m in webhook.messages]
    assert heads == ["full-health FAILED on production"]
