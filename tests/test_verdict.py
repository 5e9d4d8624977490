from datetime import UTC, datetime
from itertools import permutations

from rollout_gates.core.verdict import Check, GateResult, Status, gate_status, read_verdict, worst
from rollout_gates.run.evidence import record_verdict


def check(status, check_id="c"):
    return Check(id=check_id, rule="r", status=status, detail="d")


def test_worst_status_wins_in_any_order():
    statuses = [Status.PASS, Status.INCONCLUSIVE, Status.ERROR, Status.FAIL]
    for order in permutations(statuses):
        assert worst(order) is Status.FAIL
    assert worst([Status.PASS, Status.ERROR, Status.INCONCLUSIVE]) is Status.ERROR
    assert worst([Status.INCONCLUSIVE, Status.PASS]) is Status.INCONCLUSIVE


def test_warn_is_advisory():
    assert gate_status([check(Status.PASS), check(Status.WARN)]) is Status.PASS
    assert gate_status([check(Status.WARN)]) is Status.PASS


def test_a_gate_without_checks_is_inconclusive():
    assert gate_status([]) is Status.INCONCLUSIVE


def test_verdict_round_trips_through_json(tmp_path):
    result = GateResult(
        gate="full-health",
        env="production",
        status=Status.FAIL,
        as_of=datetime(2026, 11, 29, 3, 0, tzinfo=UTC),
        checks=[
            Check(
                id="success_rate",
                rule="success rate >= 90%",
                status=Status.FAIL,
                detail="85%",
                observed=0.85,
                threshold=0.9,
                sample_size=40,
                interval=(0.71, 0.93),
            )
        ],
        actions=["vercel --prod"],
        simulated=True,
        scenario="red-flag-success-dip",
    )
    path = record_verdict(tmp_path, result)
    assert read_verdict(path) == result
    assert read_verdict(path).exit_code == 1
    assert not list(tmp_path.glob(".verdict-*")), "no temporary file is left behind"
