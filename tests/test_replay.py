"""replay: a gate's rules at every step of a range, in one notebook, against a real database."""

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from rollout_gates.core.errors import UsageError
from rollout_gates.notebook.replay import gate_timeline, replay_times, status_changes

T0 = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)


def test_times_include_both_ends():
    times = replay_times(T0, T0 + timedelta(hours=1), timedelta(minutes=10))
    assert len(times) == 7 and times[-1] == T0 + timedelta(hours=1)


def test_a_range_that_ends_before_it_starts_is_refused():
    with pytest.raises(UsageError, match="is after --to"):
        replay_times(T0, T0 - timedelta(minutes=1), timedelta(minutes=10))


def test_a_huge_range_is_refused_before_any_query():
    with pytest.raises(UsageError, match="use a larger --step"):
        replay_times(T0, T0 + timedelta(days=30), timedelta(minutes=1))


def test_timeline_lists_what_did_not_pass_and_changes_keep_only_flips():
    frame = pd.DataFrame(
        [
            (T0, "gate", "PASS"), (T0, "success_rate", "PASS"), (T0, "errors", "WARN"),
            (T0 + timedelta(minutes=10), "gate", "FAIL"),
            (T0 + timedelta(minutes=10), "success_rate", "FAIL"),
            (T0 + timedelta(minutes=10), "errors", "PASS"),
            (T0 + timedelta(minutes=20), "gate", "FAIL"),
            (T0 + timedelta(minutes=20), "success_rate", "FAIL"),
            (T0 + timedelta(minutes=20), "errors", "INCONCLUSIVE"),
        ],
        columns=["as_of", "check", "status"],
    )  # fmt: skip
    frame["detail"] = ""
    timeline = gate_timeline(frame)
    assert timeline["not passing"].tolist() == [
        "", "success_rate FAIL", "success_rate FAIL, errors INCONCLUSIVE",
    ]  # fmt: skip
    assert status_changes(timeline)["status"].tolist() == ["PASS", "FAIL"]


@pytest.mark.db
def test_every_gate_can_be_assessed_at_any_time(scenario_db, scenario_end, monkeypatch):
    """replay calls each gate's `assess`: it must exist and run at an as-of in the past."""
    from rollout_gates.gates import gate_ids, gate_module, gate_spec
    from rollout_gates.notebook.context import open_gate

    for gate_id in gate_ids():
        env = gate_spec(gate_id).env
        monkeypatch.setenv("ROLLOUT_DB_URL", scenario_db("healthy", env))
        gate = open_gate(gate_id, env, as_of=(scenario_end - timedelta(hours=2)).isoformat())
        checks = gate_module(gate_id).assess(gate)
        assert checks, gate_id
        gate.connection.close()


@pytest.mark.db
@pytest.mark.slow
def test_replay_finds_the_incident_hour_and_nothing_else(cli, scenario_db, scenario_end, tmp_path):
    """The issue's must-show: red-flag-success-dip, last 12 hours, every 10 minutes.

    The dip is the hour [end-4h, end-3h). A step judges the hour before it, so only
    steps after end-4h can see the dip, and from end-2h on the dip has left the window.
    At end-3h the window is the dip exactly: success <= 24/36, confidently below 90% (as in
    test_full_health_gate), the only failing check.
    """
    url = scenario_db("red-flag-success-dip")
    completed = cli(
        "replay", "full-health", "--env", "production", "--db-url", url,
        "--from", (scenario_end - timedelta(hours=12)).isoformat(),
        "--to", scenario_end.isoformat(), "--step", "10m", "--output-dir", str(tmp_path),
    )  # fmt: skip
    print(completed.stdout)
    assert completed.returncode == 0, completed.stderr
    [run_dir] = (tmp_path / "production" / "replays" / "full-health").iterdir()
    summary = json.loads((run_dir / "replay.json").read_text())
    steps = {datetime.fromisoformat(s["as_of"]): s for s in summary["timeline"]}
    assert len(steps) == 73
    fails = sorted(t for t, s in steps.items() if s["status"] == "FAIL")
    dip_start, dip_end = scenario_end - timedelta(hours=4), scenario_end - timedelta(hours=3)
    assert fails, "the dip must fire"
    assert dip_start < fails[0] <= dip_end, "first FAIL inside the incident hour"
    assert fails[-1] < scenario_end - timedelta(hours=2), "cleared once the dip left the window"
    assert all(steps[t]["status"] == "PASS" for t in steps if t <= dip_start), "no FAIL before"
    assert steps[dip_end]["not_passing"] == "success_rate FAIL"
    # one notebook for the whole range, with its HTML, table and figure
    assert sorted(p.name for p in run_dir.glob("*.ipynb")) == ["replay-full-health.ipynb"]
    assert (run_dir / "replay-full-health.html").exists()
    assert (run_dir / "figures" / "timeline.png").exists()
    assert len(pd.read_csv(run_dir / "tables" / "timeline.csv")) == 73


def replay_full_health(cli, url, start, end, step, output_dir):
    completed = cli(
        "replay", "full-health", "--env", "production", "--db-url", url,
        "--from", start.isoformat(), "--to", end.isoformat(), "--step", step,
        "--output-dir", str(output_dir),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    [run_dir] = (output_dir / "production" / "replays" / "full-health").iterdir()
    summary = json.loads((run_dir / "replay.json").read_text())
    return {datetime.fromisoformat(s["as_of"]): s for s in summary["timeline"]}


@pytest.mark.db
@pytest.mark.slow
def test_a_healthy_week_at_real_volume_never_fails_full_health(
    cli, scenario_db, scenario_end, tmp_path
):
    """low-volume-week: 1.125 bookings an hour, failures isolated (1 in 100, ~89h apart).

    Every look (every 30 minutes for 7 days: 337) sees at most one failure among the
    last hour's 0-2 bookings and the intensive period's ~7: one failure of one is P = 0.10
    against 90%, evidence 5 < 20; none is a FAIL. With fewer than 10 decided bookings in
    the 6h the success rate is INCONCLUSIVE at every look, never PASS.
    """
    url = scenario_db("low-volume-week")
    steps = replay_full_health(
        cli, url, scenario_end - timedelta(days=7), scenario_end, "30m", tmp_path
    )
    assert len(steps) == 7 * 48 + 1
    assert not [t for t, s in steps.items() if s["status"] == "FAIL"]
    assert {s["status"] for s in steps.values()} == {"INCONCLUSIVE"}


@pytest.mark.db
@pytest.mark.slow
def test_success_at_sixty_percent_at_twenty_an_hour_fails_within_the_first_hour(
    cli, scenario_db, scenario_end, tmp_path
):
    """success-dip-two-hours: from end-4h, 12 of every 20 bookings confirmed, 8 errors.

    At end-3h the hour is all dip, 12/20: evidence e^4.9 = 134 against 90%, a FAIL; so the
    first FAIL comes at most 1 hour after the incident began, and none before it.
    """
    url = scenario_db("success-dip-two-hours")
    incident = scenario_end - timedelta(hours=4)
    steps = replay_full_health(
        cli, url, incident - timedelta(hours=1), incident + timedelta(hours=1), "10m", tmp_path
    )
    fails = sorted(t for t, s in steps.items() if s["status"] == "FAIL")
    assert fails and incident < fails[0] <= incident + timedelta(hours=1)
    assert "success_rate FAIL" in steps[incident + timedelta(hours=1)]["not_passing"]


@pytest.mark.db
@pytest.mark.slow
@pytest.mark.parametrize(
    ("gate", "hours_before_end", "status"),
    [
        # At end-3h the hour is the dip exactly: success <= 24/36, a red flag (FAIL).
        ("full-health", 3, "FAIL"),
        # At the end, over 48h: one red-flag hour among the stretches (FAIL), the rest PASS,
        # the soak read from the flag ledger the replay and the run both find.
        ("full-extended", 0, "FAIL"),
    ],
)
def test_replay_and_run_agree_at_the_same_as_of(
    gate, hours_before_end, status, cli, run_gate, scenario_db, scenario_end, write_ledger, tmp_path
):
    """One as-of, the two paths to a verdict (the notebook's cells; replay's `assess`): the
    same gate status, and the same checks, id by id and status by status, in order."""
    write_ledger(tmp_path, "red-flag-success-dip", "production")
    url = scenario_db("red-flag-success-dip")
    as_of = scenario_end - timedelta(hours=hours_before_end)
    run = run_gate(gate, "production", url, tmp_path, as_of)
    completed = cli(
        "replay", gate, "--env", "production", "--db-url", url, "--from", as_of.isoformat(),
        "--to", as_of.isoformat(), "--output-dir", str(tmp_path),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    [replay_dir] = (tmp_path / "production" / "replays" / gate).iterdir()
    [step] = json.loads((replay_dir / "replay.json").read_text())["timeline"]
    replayed = pd.read_csv(replay_dir / "tables" / "checks.csv")
    replayed = replayed[replayed["check"] != "gate"]

    assert datetime.fromisoformat(step["as_of"]) == as_of
    assert run.verdict["status"] == step["status"] == status
    assert list(run.statuses.items()) == list(replayed[["check", "status"]].itertuples(False, None))
    assert list(run.statuses.values()).count("FAIL") >= 1
