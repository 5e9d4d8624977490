"""The flag ledger: phases and values as the runbook's flags define them."""

from datetime import UTC, datetime, timedelta

import pytest

from rollout_gates.config.ledger import (
    MAX_PARALLEL,
    SHADOW,
    V3,
    FlagChange,
    append_changes,
    last_change,
    phase_at,
    phase_started,
    read_ledger,
    value_at,
)
from rollout_gates.core.errors import UsageError

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


# shadow at 0h, full at 26h, rollback at 29h, full again at 31h, MAX_PARALLEL 3 -> 4 at 100h
STORY = [
    FlagChange(at(0), V3, "false"),
    FlagChange(at(0), SHADOW, "true"),
    FlagChange(at(0), MAX_PARALLEL, "3"),
    FlagChange(at(26), V3, "true", old="false"),
    FlagChange(at(26), SHADOW, "false", old="true"),
    FlagChange(at(29), V3, "false", old="true"),
    FlagChange(at(31), V3, "true", old="false"),
    FlagChange(at(100), MAX_PARALLEL, "4", old="3"),
]


def test_phase_follows_the_flags_with_v3_winning_over_shadow():
    assert phase_at(STORY, at(-1)) == "legacy"
    assert phase_at(STORY, at(1)) == "shadow"
    assert phase_at(STORY, at(27)) == "full"
    assert phase_at(STORY, at(30)) == "legacy"
    assert phase_at([FlagChange(at(0), V3, "true"), FlagChange(at(0), SHADOW, "true")], at(1)) == (
        "full"
    )


def test_phase_start_is_the_latest_switch_into_the_current_phase():
    assert phase_started(STORY, at(10)) == at(0)
    assert phase_started(STORY, at(28)) == at(26)
    assert phase_started(STORY, at(30)) == at(29)
    assert phase_started(STORY, at(200)) == at(31), "the re-enable after the rollback counts"


def test_changes_after_the_as_of_time_are_ignored():
    assert value_at(STORY, MAX_PARALLEL, at(99)) == "3"
    assert value_at(STORY, MAX_PARALLEL, at(100)) == "4"
    assert last_change(STORY, MAX_PARALLEL, at(50)).at == at(0)
    assert value_at(STORY, MAX_PARALLEL, at(-1)) is None


def test_ledger_round_trips_through_appends(tmp_path):
    path = tmp_path / "production" / "flags.jsonl"
    append_changes(path, STORY[:3])
    append_changes(path, STORY[3:])
    assert read_ledger(path) == STORY


def test_malformed_line_is_reported_with_its_number(tmp_path):
    path = tmp_path / "flags.jsonl"
    append_changes(path, STORY[:1])
    with path.open("a") as handle:
        handle.write('{"at": "yesterday", "variable": "X", "new": "1"}\n')
    with pytest.raises(UsageError, match=r"flags\.jsonl:2"):
        read_ledger(path)


def test_no_ledger_is_an_empty_history(tmp_path):
    assert read_ledger(tmp_path / "missing.jsonl") == []


def test_v3_off_stretches_leave_the_drain_after_a_switch_off():
    from rollout_gates.config.ledger import v3_off_intervals

    drain = timedelta(minutes=30)
    # V3 off from 0h (shadow), on at 26h, off at 29h, on again at 31h.
    assert v3_off_intervals(STORY, at(20), at(32), drain) == [
        (at(20), at(26)),
        (at(29.5), at(31)),
    ]
    assert v3_off_intervals(STORY, at(27), at(28), drain) == []
    assert v3_off_intervals([], at(0), at(1), drain) is None, "no ledger: nothing to compare"
