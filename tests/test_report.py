"""verification.md from verdicts produced by running real gates on a simulated rollout."""

import re
from datetime import timedelta

import pytest

from rollout_gates.report.verification import write_report

pytestmark = [pytest.mark.db, pytest.mark.slow]

SCENARIO = "red-flag-success-dip"


@pytest.fixture(scope="module")
def evidence(tmp_path_factory, scenario_db, scenario_end, run_gate, write_ledger):
    """The dip judged at its incident hour and three hours later, with the scenario's ledger."""
    root = tmp_path_factory.mktemp("evidence")
    url = scenario_db(SCENARIO)
    write_ledger(root, SCENARIO, "production")
    write_ledger(root, SCENARIO, "staging")
    incident = run_gate("full-health", "production", url, root, scenario_end - timedelta(hours=3))
    recovered = run_gate("full-health", "production", url, root, scenario_end)
    return root, incident, recovered


def when(moment):
    return f"{moment:%Y-%m-%d %H:%M}"


def test_timeline_follows_the_ledger(evidence, scenario_end):
    root, _, _ = evidence
    text = write_report(root, "production").read_text()
    # The scenario: shadow from 76h before the end, full mode from 50h before (26h of shadow).
    shadow, full = scenario_end - timedelta(hours=76), scenario_end - timedelta(hours=50)
    assert f"| shadow | {when(shadow)} | {when(full)} | 1d 2h 00m |" in text
    assert f"| full | {when(full)} |  |  |" in text


def test_latest_verdict_and_history_are_shown(evidence):
    root, incident, recovered = evidence
    assert (incident.verdict["status"], recovered.verdict["status"]) == ("FAIL", "PASS")
    text = write_report(root, "production").read_text()
    latest = text[text.index("## Latest verdict") :]
    latest_row = next(line for line in latest.splitlines() if line.startswith("| full-health |"))
    assert "PASS" in latest_row and "n=" in latest_row
    history = text[text.index("### full-health") :]
    assert history.index("FAIL") < history.index("PASS"), "history is in as-of order"
    assert "success_rate" in history, "the failing check is named"
    assert "SIMULATED DATA" in text


def test_every_relative_link_resolves(evidence):
    root, _, _ = evidence
    path = write_report(root, "production")
    links = re.findall(r"\]\(([^)]+)\)", path.read_text())
    assert links, "the report links to its evidence"
    for link in links:
        assert (path.parent / link).exists(), link


def test_writing_twice_gives_the_same_file(evidence):
    root, _, _ = evidence
    first = write_report(root, "production").read_bytes()
    assert write_report(root, "production").read_bytes() == first


def test_html_report_is_one_self_contained_page(evidence):
    root, _, _ = evidence
    path = write_report(root, "production", fmt="html")
    html = path.read_text()
    assert html.startswith("<!doctype html>") and "<table>" in html
    assert not re.search(r'src="(?!data:)', html), "every image is inlined"
    # The incident run FAILed, the recovery PASSed: each status is also a word in a colour,
    # for a reader without an emoji font.
    for word in ("FAIL", "PASS"):
        assert re.search(rf'<span style="color:#[0-9a-f]{{6}}[^"]*">\S+ {word}</span>', html)
