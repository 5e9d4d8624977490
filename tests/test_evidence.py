from datetime import UTC, datetime, timedelta

import pytest

from rollout_gates.errors import RolloutGatesError
from rollout_gates.evidence import latest_verdict
from rollout_gates.verdict import GateResult, Status, write_verdict

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)


def record(root, folder, status, as_of):
    path = root / "staging" / "prerequisites" / folder / "verdict.json"
    write_verdict(GateResult(gate="prerequisites", env="staging", status=status, as_of=as_of), path)


def test_latest_verdict_is_the_latest_as_of_not_the_latest_folder(tmp_path):
    record(tmp_path, "20261129T000000Z", Status.FAIL, T0 - timedelta(hours=5))
    record(tmp_path, "20261128T000000Z", Status.PASS, T0)
    assert latest_verdict(tmp_path, "staging", "prerequisites").status is Status.PASS


def test_verdicts_after_the_as_of_time_are_ignored(tmp_path):
    record(tmp_path, "a", Status.FAIL, T0 - timedelta(hours=5))
    record(tmp_path, "b", Status.PASS, T0)
    found = latest_verdict(tmp_path, "staging", "prerequisites", at_or_before=T0 - timedelta(1))
    assert found is None
    found = latest_verdict(
        tmp_path, "staging", "prerequisites", at_or_before=T0 - timedelta(hours=1)
    )
    assert found.status is Status.FAIL


def test_no_recorded_verdict_is_none(tmp_path):
    assert latest_verdict(tmp_path, "staging", "prerequisites") is None


def test_a_damaged_verdict_is_reported_not_skipped(tmp_path):
    record(tmp_path, "a", Status.PASS, T0)
    damaged = tmp_path / "staging" / "prerequisites" / "b" / "verdict.json"
    damaged.parent.mkdir(parents=True)
    damaged.write_text('{"gate": "prereq')
    with pytest.raises(RolloutGatesError, match="unreadable recorded verdict"):
        latest_verdict(tmp_path, "staging", "prerequisites")
