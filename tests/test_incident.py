"""`rollout-gates incident`: a draft and a zip of exactly the evidence it cites, no secret.

red-flag-success-dip (as in test_report): full-health FAILs at its incident hour, 3h before
the end; no rollback in its ledger, so the draft says none was recorded.
"""

import re
import zipfile
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

pytestmark = [pytest.mark.db, pytest.mark.slow]

SCENARIO = "red-flag-success-dip"
PASSWORD = "incident-s3cret-pw"


def with_password(url: str) -> str:
    """The same database with a password in the URL (the test servers trust, ignoring it)."""
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user.split(':')[0]}:{PASSWORD}@{host}"))


def test_incident_draft_and_zip_cite_each_other_and_hold_no_secret(
    scenario_db, scenario_end, run_gate, write_ledger, webhook, cli, tmp_path
):
    url = with_password(scenario_db(SCENARIO))
    write_ledger(tmp_path, SCENARIO)
    token = webhook.url.rsplit("/", 1)[-1]
    secrets_env = {"ROLLOUT_DB_URL": url, "ROLLOUT_NOTIFY_WEBHOOK": webhook.url}
    failed = run_gate("full-health", "production", url, tmp_path,
                      scenario_end - timedelta(hours=3), extra_env=secrets_env)  # fmt: skip
    assert failed.verdict["status"] == "FAIL", failed.completed.stderr
    assert webhook.messages, "the FAIL was notified through the webhook"

    completed = cli("incident", "--env", "production", "--evidence-dir", str(tmp_path),
                    env=secrets_env)  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    draft_path = tmp_path / re.search(r"draft: (.+)", completed.stdout)[1]
    bundle_path = tmp_path / re.search(r"bundle: (.+)", completed.stdout)[1]
    draft = draft_path.read_text()
    assert "`full-health` ❌ FAIL" in draft and "| success_rate |" in draft
    assert "no rollback recorded" in draft
    assert_bookings_listed(draft, url, failed.verdict)

    with zipfile.ZipFile(bundle_path) as archive:
        members = set(archive.namelist())
        texts = {name: archive.read(name) for name in members}
    assert "incident.md" in members
    links = re.findall(r"\]\(([^)]+)\)", draft)
    assert links
    for link in links:
        assert link in members or any(m.startswith(link.rstrip("/") + "/") for m in members), link
    cited = {link.split("/")[1] + "/" + link.split("/")[2] for link in links}
    assert {"/".join(m.split("/")[1:3]) for m in members if m != "incident.md"} == cited, (
        "the zip holds exactly the runs the draft cites"
    )
    for name, content in texts.items():
        assert PASSWORD.encode() not in content, name
        assert token.encode() not in content, name
    assert PASSWORD not in completed.stdout + completed.stderr


# DESIGN.md, "Outcome of a booking", written again here as the test's own oracle: the latest
# coordinator outcome before the as-of decides; a retry or circuit_open younger than the
# 15-minute grace is pending. Against the success rate: every decided outcome but confirmed.
NOT_CONFIRMED_SQL = """
SELECT booking_id::text FROM (
    SELECT DISTINCT ON (booking_id) booking_id, event_type, created_at
    FROM observability_events
    WHERE source = 'assignment.coordinator' AND booking_id IS NOT NULL
      AND event_type IN ('coordinator.confirmed', 'coordinator.manual_review',
                         'coordinator.error', 'coordinator.retry', 'coordinator.circuit_open')
      AND created_at >= %(start)s AND created_at < %(as_of)s
    ORDER BY booking_id, created_at DESC, id DESC
) latest
WHERE created_at < %(end)s AND event_type <> 'coordinator.confirmed'
  AND NOT (event_type IN ('coordinator.retry', 'coordinator.circuit_open')
           AND created_at >= %(as_of)s - interval '15 minutes')
"""


def assert_bookings_listed(draft: str, url: str, verdict: dict) -> None:
    """The failing success rate's bookings, each with its trail from creation on."""
    [success] = [c for c in verdict["checks"] if c["id"] == "success_rate"]
    assert success["status"] == "FAIL"
    windows = success["behind"]
    assert windows, "a failing rate check says where its bookings are"
    as_of = datetime.fromisoformat(verdict["as_of"])
    expected = set()
    with psycopg.connect(url) as connection:
        for window in windows:
            binds = {"start": window["start"], "end": window["end"], "as_of": as_of}
            expected |= {row[0] for row in connection.execute(NOT_CONFIRMED_SQL, binds)}
    assert expected, "the dip hour holds unconfirmed bookings"
    listed = min(len(expected), 20)
    assert "## Bookings behind the failing checks" in draft
    assert f"### success_rate: {listed} of {len(expected)} listed" in draft
    rows = [line for line in draft.splitlines() if re.match(r"\| [0-9a-f]{8}-", line)]
    assert len(rows) == listed
    for row in rows:
        booking = row.split(" | ")[0].strip("| ")
        assert booking in expected
        assert "booking.creation.success" in row and "coordinator.start" in row
