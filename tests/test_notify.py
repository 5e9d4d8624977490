"""Webhook notifications: on a change of state only, never changing a verdict, URL kept secret.

The receiver is a real HTTP server on 127.0.0.1 (conftest `webhook`); nothing is mocked.
"""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import closed_port_url
from rollout_gates.config.flags import plan_commands
from rollout_gates.core.verdict import Check, GateResult, Status, read_verdict
from rollout_gates.run.evidence import record_verdict
from rollout_gates.run.notify import build_message, notification_kind, notify_run, post_json

AS_OF = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def full_health_run(root: Path, stamp: str, status: Status) -> GateResult:
    """The result of a run of full-health under `root`, before the runner records it."""
    return GateResult(
        gate="full-health",
        env="production",
        status=status,
        as_of=AS_OF,
        run_dir=str(root / "production" / "full-health" / stamp),
        checks=[Check(id="success_rate", rule="r", status=status, detail="success rate 80%")],
    )


def recorded_run(
    root: Path, stamp: str, status: Status, webhook_url: str = "", **post_options
) -> GateResult:
    """A run as the runner leaves it: alerted about (with a webhook), then recorded."""
    result = full_health_run(root, stamp, status)
    if webhook_url:
        result = notify_run(result, webhook_url, **post_options)
    record_verdict(Path(result.run_dir), result)
    return result


def test_first_fail_notifies():
    assert notification_kind(Status.FAIL, Status.PASS) == "fail"
    assert notification_kind(Status.FAIL, None) == "fail"


def test_repeated_fail_is_silent():
    assert notification_kind(Status.FAIL, Status.FAIL) is None


def test_error_notifies_once():
    assert notification_kind(Status.ERROR, Status.PASS) == "error"
    assert notification_kind(Status.ERROR, Status.ERROR) is None


def test_recovery_after_fail_notifies():
    assert notification_kind(Status.PASS, Status.FAIL) == "recovered"
    assert notification_kind(Status.PASS, Status.ERROR) == "recovered"


def test_repeated_pass_and_inconclusive_are_silent():
    assert notification_kind(Status.PASS, Status.PASS) is None
    assert notification_kind(Status.PASS, None) is None
    assert notification_kind(Status.INCONCLUSIVE, Status.PASS) is None


def test_fail_message_has_checks_figures_runbook_commands_and_evidence():
    rollback = plan_commands("rollback", "production")
    result = GateResult(
        gate="full-health",
        env="production",
        status=Status.FAIL,
        as_of=AS_OF,
        run_dir="/evidence/production/full-health/20261129T030000Z",
        actions=rollback,
        checks=[
            Check(id="success_rate", rule="r", status=Status.FAIL, detail="success 83.3% (60/72)"),
            Check(id="circuit_opens", rule="r", status=Status.PASS, detail="no circuit opens"),
        ],
    )
    message = build_message(result, "fail")
    body = message["blocks"][0]["text"]["text"]
    assert message["text"] == "full-health FAILED on production as of 2026-11-29 03:00 UTC"
    assert "`success_rate`: success 83.3% (60/72)" in body
    assert "circuit_opens" not in body  # passing checks are not news
    assert all(line in body for line in rollback)
    assert "/evidence/production/full-health/20261129T030000Z" in body


def test_delivered_on_first_attempt(webhook):
    assert post_json(webhook.url, {"text": "hi"}) == (1, None)
    assert webhook.messages == [{"text": "hi"}]


def test_server_error_is_retried_then_given_up(webhook):
    webhook.status = 500
    attempts, problem = post_json(webhook.url, {"text": "hi"}, attempts=3, backoff=0.05)
    assert (attempts, len(webhook.messages)) == (3, 3)
    assert problem.startswith("HTTP 500")


def test_client_error_is_not_retried(webhook):
    webhook.status = 404
    attempts, problem = post_json(webhook.url, {"text": "hi"}, attempts=3, backoff=0.05)
    assert (attempts, problem) == (1, "HTTP 404 Not Found")


def test_refused_connection_is_reported_without_the_url():
    url = closed_port_url()
    attempts, problem = post_json(url, {"text": "hi"}, attempts=2, backoff=0.05)
    assert attempts == 2
    assert "refused" in problem.lower() and "127.0.0.1" not in problem


def test_slow_receiver_times_out(webhook):
    webhook.delay = 1.0
    attempts, problem = post_json(webhook.url, {}, timeout=0.2, attempts=2, backoff=0.05)
    assert attempts == 2 and "timed out" in problem
    assert "secret-token" not in problem


def test_failed_delivery_is_recorded_and_the_verdict_kept(tmp_path):
    recorded_run(tmp_path, "20261129T023000Z", Status.PASS)
    failed = recorded_run(
        tmp_path, "20261129T030000Z", Status.FAIL, closed_port_url(), attempts=2, backoff=0.05
    )
    on_disk = read_verdict(Path(failed.run_dir) / "verdict.json")
    assert on_disk == failed and on_disk.status is Status.FAIL
    assert on_disk.notification.kind == "fail"
    assert on_disk.notification.sent is False and on_disk.notification.attempts == 2


def test_notify_writes_no_verdict(tmp_path, webhook):
    earlier = recorded_run(tmp_path, "20261129T023000Z", Status.PASS)
    earlier_path = Path(earlier.run_dir) / "verdict.json"
    before = earlier_path.read_bytes()
    failed = full_health_run(tmp_path, "20261129T030000Z", Status.FAIL)
    assert notify_run(failed, webhook.url).notification.sent is True
    assert not Path(failed.run_dir).exists(), "the runner records the verdict, not notify"
    assert earlier_path.read_bytes() == before


def test_an_undelivered_alert_is_sent_by_the_next_run(tmp_path, webhook):
    recorded_run(tmp_path, "20261129T023000Z", Status.PASS)
    recorded_run(tmp_path, "20261129T030000Z", Status.FAIL, closed_port_url(), attempts=1)
    second = recorded_run(tmp_path, "20261129T033000Z", Status.FAIL, webhook.url)
    assert second.notification.sent is True
    third = recorded_run(tmp_path, "20261129T040000Z", Status.FAIL, webhook.url)
    assert third.notification is None
    assert [m["text"].split(" as of")[0] for m in webhook.messages] == [
        "full-health FAILED on production"
    ]


def test_recovery_then_repeated_pass(tmp_path, webhook):
    recorded_run(tmp_path, "20261129T030000Z", Status.FAIL, webhook.url)
    recorded_run(tmp_path, "20261129T033000Z", Status.PASS, webhook.url)
    again = recorded_run(tmp_path, "20261129T040000Z", Status.PASS, webhook.url)
    assert again.notification is None
    heads = [m["text"].split(" as of")[0] for m in webhook.messages]
    assert heads == ["full-health FAILED on production", "full-health recovered on production"]


@pytest.mark.db
@pytest.mark.slow
def test_cli_alerts_on_fail_and_keeps_the_webhook_secret(
    run_gate, scenario_db, scenario_end, tmp_path, webhook
):
    # sustained-errors at its end: errors in 4 consecutive 10-minute buckets, a FAIL.
    url = scenario_db("sustained-errors")
    down = run_gate(
        "full-health", "production", url, tmp_path, scenario_end,
        extra_env={"ROLLOUT_NOTIFY_WEBHOOK": closed_port_url()},
    )  # fmt: skip
    assert down.completed.returncode == 1 and down.verdict["status"] == "FAIL"
    assert down.verdict["notification"]["sent"] is False
    assert "NOT sent" in down.completed.stderr

    up = run_gate(
        "full-health", "production", url, tmp_path, scenario_end,
        extra_env={"ROLLOUT_NOTIFY_WEBHOOK": webhook.url},
    )  # fmt: skip
    assert up.completed.returncode == 1
    assert up.verdict["notification"]["sent"] is True
    [message] = webhook.messages
    body = message["blocks"][0]["text"]["text"]
    assert "sustained_errors" in body and str(up.run_dir) in body
    assert "vercel env add FEATURE_ASSIGNMENT_PIPELINE_V3 production" in body

    token = webhook.url.rsplit("/", 1)[1]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert token not in path.read_text(errors="replace"), path
    for stream in (down.completed, up.completed):
        assert token not in stream.stdout + stream.stderr
