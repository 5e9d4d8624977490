"""Runbook checklists in verification.md: an item is ticked only when its checks passed on data.

Each gate module declares the runbook items it decides (CHECKLIST); the report, the
notebook banner and the gate's notebook tick them with checklist.judge_item. Expected
ticks are written by hand from the checks each test sets up (or, for the empty window,
from DESIGN's rule "no data is never a PASS").
"""

from datetime import UTC, datetime

import pytest

from rollout_gates.core.verdict import Check, GateResult, Status, gate_status
from rollout_gates.gates import gate_checklist
from rollout_gates.present.display import verdict_markdown
from rollout_gates.report.verification import write_report
from rollout_gates.run.evidence import record_verdict
from rollout_gates.telemetry.checklist import (
    MET,
    NO_DATA,
    NOT_CHECKED,
    NOT_MET,
    RunbookChecklist,
    judge_item,
)

AS_OF = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def check(check_id: str, status: str, no_data: bool = False) -> Check:
    return Check(id=check_id, rule="r", status=Status(status), detail=f"{check_id} detail",
                 no_data=no_data)  # fmt: skip


def ticks(text: str, section: str) -> dict[str, str]:
    """{item text: "x" or " "} for the checklist lines of one report section."""
    body = text[text.index(f"## Runbook, {section}") :].split("\n## ", 1)[0]
    found = {}
    for line in body.splitlines():
        if line.startswith("- ["):
            item = line[6:].split(" — ")[0]
            found[item] = line[3]
    return found


def record(root, result: GateResult, folder: str) -> None:
    run_dir = root / result.env / result.gate / folder
    record_verdict(run_dir, result.model_copy(update={"run_dir": str(run_dir)}))


# --- the rule ---------------------------------------------------------------------------------

ITEM = RunbookChecklist.of("S", [("Item", ("a", "b"))]).items[0]


def test_item_is_met_only_when_every_check_passed_on_data():
    assert judge_item(ITEM, [check("a", "PASS"), check("b", "PASS")]).state == MET
    assert judge_item(ITEM, [check("a", "PASS"), check("b", "WARN")]).state == MET


def test_a_failed_check_is_not_met_even_beside_passes():
    assert judge_item(ITEM, [check("a", "PASS"), check("b", "FAIL")]).state == NOT_MET


def test_a_check_without_data_makes_the_item_no_data_never_met():
    state = judge_item(ITEM, [check("a", "PASS"), check("b", "INCONCLUSIVE", no_data=True)])
    assert state.state == NO_DATA and not state.met


def test_a_check_missing_from_the_verdict_leaves_the_item_not_checked():
    assert judge_item(ITEM, [check("a", "PASS")]).state == NOT_CHECKED
    assert judge_item(ITEM, []).state == NOT_CHECKED


def test_a_check_cannot_pass_on_no_data():
    with pytest.raises(ValueError, match="no data"):
        check("a", "PASS", no_data=True)


def test_every_checklist_names_only_checks_its_gate_emits():
    # The ids each gate's evaluate() returns, as written in its module and tests.
    emitted = {
        "success": {"soak", "success_rate", "success_sustained", "manual_review_rate",
                    "sustained_errors", "circuit_opens", "state_transitions", "stuck_bookings",
                    "attest.no_customer_reports", "attest.confirmation_emails"},
        "prerequisites": {"soak", "success_rate", "manual_review_rate", "red_flag_hours",
                          "sustained_errors", "circuit_opens"},
        "preflight": {"staging_prerequisites", "production_shadow", "attest.oncall",
                      "attest.rollback_plan", "attest.db_monitoring", "attest.alert_channels"},
    }  # fmt: skip
    for gate, ids in emitted.items():
        named = {i for item in gate_checklist(gate).items for i in item.checks}
        assert named == ids, gate


# --- the report from a FAILing success verdict (issue 13, item 1) ------------------------------

FAILING_SUCCESS = [
    check("soak", "PASS"),
    check("success_rate", "PASS"),
    check("success_sustained", "FAIL"),  # a red-flag hour hidden by the 48h average
    check("manual_review_rate", "PASS"),
    check("sustained_errors", "WARN"),  # isolated errors, not sustained
    check("circuit_opens", "PASS"),
    check("state_transitions", "FAIL"),
    check("stuck_bookings", "PASS"),
    check("attest.no_customer_reports", "PASS"),
    check("attest.confirmation_emails", "INCONCLUSIVE"),
]


def test_report_from_a_failing_success_verdict_ticks_only_what_passed(tmp_path):
    result = GateResult(gate="success", env="production", status=gate_status(FAILING_SUCCESS),
                        as_of=AS_OF, checks=FAILING_SUCCESS)  # fmt: skip
    assert result.status is Status.FAIL
    record(tmp_path, result, "20260302T120000Z")
    text = write_report(tmp_path, "production").read_text()
    assert ticks(text, "Success Criteria") == {
        "Success rate ≥97% sustained for 48 hours": " ",  # success_sustained FAIL
        "Manual review rate <1%": "x",
        "No sustained errors or circuit breaker trips": "x",  # WARN is advisory
        "State machine transitions working correctly": " ",  # state_transitions FAIL
        "No customer-reported issues": "x",
        "Booking confirmation emails sent properly": " ",  # not attested
    }
    banner = verdict_markdown(result)
    assert "- [ ] Success rate ≥97% sustained for 48 hours" in banner
    assert "- [ ] State machine transitions working correctly" in banner


# --- the report from an empty window, real gate runs ------------------------------------------


@pytest.mark.db
@pytest.mark.slow
def test_report_from_an_empty_window_ticks_nothing(run_gate, make_database, scenario_end, tmp_path):
    # An empty database: no coordinator event, no transition, no booking. Every data check
    # has nothing to look at, so none is met: sustained_errors and circuit_opens say "no
    # data" (no errors because no events). Only the attestations given are met.
    url = make_database("report_empty")
    success = run_gate("success", "production", url, tmp_path, scenario_end,
                       "attest.no_customer_reports=Cara Lee (support)")  # fmt: skip
    prerequisites = run_gate("prerequisites", "staging", url, tmp_path, scenario_end)
    for run in (success, prerequisites):
        assert run.verdict["status"] == "INCONCLUSIVE", run.completed.stderr
        for check_id in ("sustained_errors", "circuit_opens"):
            assert run.statuses[check_id] == "INCONCLUSIVE"
            assert run.checks[check_id]["no_data"] is True
    text = write_report(tmp_path, "production").read_text()
    assert ticks(text, "Success Criteria") == {
        "Success rate ≥97% sustained for 48 hours": " ",
        "Manual review rate <1%": " ",
        "No sustained errors or circuit breaker trips": " ",
        "State machine transitions working correctly": " ",
        "No customer-reported issues": "x",
        "Booking confirmation emails sent properly": " ",
    }
    assert ticks(text, "Prerequisites") == {
        "Success rate ≥97% for 48 hours": " ",
        "Manual review rate <1%": " ",
        "No sustained errors or circuit breaker trips": " ",
    }
    assert "No sustained errors or circuit breaker trips — **no data**" in text
    assert ticks(text, "Phase 2, Pre-Flight Checklist") == dict.fromkeys(
        [item.text for item in gate_checklist("preflight").items], " "
    )
