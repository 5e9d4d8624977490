"""schedule prints aligned scheduler entries; prune keeps the evidence that matters."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rollout_gates.core.errors import UsageError
from rollout_gates.core.verdict import GateResult, Status
from rollout_gates.run.evidence import record_verdict
from rollout_gates.run.prune import RunFolder, find_runs, select_prunable
from rollout_gates.run.schedule import Job, cron_entry, cron_times, on_calendar, systemd_units

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("every", "cron", "calendar"),
    [
        (timedelta(minutes=30), "*/30 * * * *", "*-*-* *:00/30:00"),
        (timedelta(minutes=10), "*/10 * * * *", "*-*-* *:00/10:00"),
        (timedelta(hours=1), "0 * * * *", "*-*-* 00/1:00:00"),
        (timedelta(hours=6), "0 */6 * * *", "*-*-* 00/6:00:00"),
        (timedelta(days=1), "0 0 * * *", "*-*-* 00/24:00:00"),
    ],
)
def test_intervals_map_to_aligned_cron_and_calendar(every, cron, calendar):
    assert cron_times(every) == cron
    assert on_calendar(every) == calendar


@pytest.mark.parametrize("every", [timedelta(minutes=45), timedelta(hours=5), timedelta(days=2)])
def test_an_interval_that_cannot_align_is_refused(every):
    with pytest.raises(UsageError, match="does not divide the hour or the day"):
        cron_times(every)


def test_entries_pass_the_scheduled_time_and_keep_the_url_out():
    job = Job(
        "full-health", "production", timedelta(minutes=30), Path("/srv/rg"), Path("/etc/x.env")
    )
    entry = cron_entry(job)
    assert entry.startswith("*/30 * * * * cd /srv/rg && set -a && . /etc/x.env && set +a && ")
    assert "rollout-gates run full-health --env production --align 30m" in entry
    units = systemd_units(job)
    service = units["rollout-gates-full-health-production.service"]
    assert "EnvironmentFile=/etc/x.env" in service and "--align 30m" in service
    assert "OnCalendar=*-*-* *:00/30:00" in units["rollout-gates-full-health-production.timer"]
    assert "postgresql://" not in entry + service


def test_schedule_cli_refuses_before_printing(cli):
    completed = cli("schedule", "full-health", "--env", "production", "--every", "45m")
    assert completed.returncode == 2 and completed.stdout == ""
    assert "cannot be aligned to the clock" in completed.stderr


def run(group: str, days_old: float, status: Status | None) -> RunFolder:
    started = NOW - timedelta(days=days_old)
    return RunFolder(Path(group) / f"{started:%Y%m%dT%H%M%SZ}", started, status)


def test_old_passing_runs_go_but_the_latest_of_each_gate_stays():
    runs = [
        run("full-health", 20, Status.PASS),
        run("full-health", 10, Status.INCONCLUSIVE),
        run("full-health", 1, Status.PASS),
        run("cleanup", 30, Status.PASS),  # old, but cleanup's latest
    ]
    pruned = select_prunable(runs, NOW, keep_days=7)
    assert pruned == runs[:2]


def test_failures_are_kept_unless_asked():
    runs = [
        run("full-health", 20, Status.FAIL),
        run("full-health", 19, Status.ERROR),
        run("full-health", 18, None),  # killed before its verdict
        run("full-health", 1, Status.PASS),
    ]
    assert select_prunable(runs, NOW, keep_days=7) == [runs[2]]
    assert select_prunable(runs, NOW, keep_days=7, include_failures=True) == runs[:3]


def test_nothing_younger_than_keep_days_goes():
    runs = [run("full-health", 6.9, Status.PASS), run("full-health", 0.1, Status.PASS)]
    assert select_prunable(runs, NOW, keep_days=7) == []


def make_run(root: Path, gate: str, started: datetime, status: Status | None) -> Path:
    folder = root / "production" / gate / f"{started:%Y%m%dT%H%M%SZ}"
    folder.mkdir(parents=True)
    (folder / "evidence.html").write_text("x" * 1000)
    if status is not None:
        result = GateResult(gate=gate, env="production", status=status)
        record_verdict(folder, result)
    return folder


def test_prune_cli_removes_only_what_it_says(cli, tmp_path):
    now = datetime.now(UTC)
    old_pass = make_run(tmp_path, "full-health", now - timedelta(days=30), Status.PASS)
    old_fail = make_run(tmp_path, "full-health", now - timedelta(days=29), Status.FAIL)
    latest = make_run(tmp_path, "full-health", now - timedelta(days=20), Status.PASS)
    replay_old = make_run(tmp_path, "replays/full-health", now - timedelta(days=30), None)
    replay_new = make_run(tmp_path, "replays/full-health", now - timedelta(days=1), None)
    (tmp_path / "production" / ".locks").mkdir()
    (tmp_path / "production" / "flags.jsonl").write_text("")
    args = ["prune", "--env", "production", "--keep-days", "14", "--output-dir", str(tmp_path)]

    dry = cli(*args, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert old_pass.exists() and replay_old.exists()
    assert dry.stdout.count("would remove") == 2

    done = cli(*args)
    assert done.returncode == 0, done.stderr
    assert not old_pass.exists() and not replay_old.exists()
    assert old_fail.exists() and latest.exists() and replay_new.exists()
    assert (tmp_path / "production" / "flags.jsonl").exists()
    assert "2 of 5 runs" in done.stderr

    assert {r.path for r in find_runs(tmp_path, "production")} == {old_fail, latest, replay_new}
