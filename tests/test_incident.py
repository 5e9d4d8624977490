"""`rollout-gates incident`: a draft and a zip of exactly the evidence it cites, no secret.

red-flag-success-dip (as in test_report): full-health FAILs at its incident hour, 3h before
the end; no rollback in its ledger, so the draft says none was recorded.
"""

import re
import zipfile
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

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
