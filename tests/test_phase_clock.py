"""The one phase clock (telemetry/phase.py): the ledger first, else telemetry; pure parts.

Expected phases and start times worked out by hand from the ledgers and telemetry rows each
test writes: V3=true is full, SHADOW=true shadow, V3 switched true -> false a rollback;
without a ledger, full mode runs from the first active coordinator.start after the last
legacy planner activity of the lookback.
"""

import tempfile
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from app_telemetry import Telemetry
from rollout_gates.config.ledger import MAX_PARALLEL, SHADOW, V3, FlagChange, last_rollback
from rollout_gates.notebook.context import open_gate
from rollout_gates.telemetry.metrics import Window
from rollout_gates.telemetry.phase import (
    LEDGER,
    TELEMETRY,
    UNKNOWN_PHASE,
    ActiveStretch,
    PhaseClock,
    clock_from_buckets,
    clock_from_ledger,
    clock_from_stretch,
    in_checkpoint_phase,
    resolve_phase_clock,
)

AS_OF = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)
LOOKBACK = Window.ending(AS_OF, 96 * H)


def ago(hours: float) -> datetime:
    return AS_OF - hours * H


def change(hours_before: float, variable: str, new: str, old: str | None = None) -> FlagChange:
    return FlagChange(ago(hours_before), variable, new, old, by="test")


SHADOW_76H = [change(76, SHADOW, "true"), change(76, MAX_PARALLEL, "3")]
FULL_60H = [*SHADOW_76H, change(60, V3, "true", "false"), change(60, SHADOW, "false", "true")]
ROLLED_BACK_2H_AGO = [*FULL_60H, change(2, V3, "false", "true")]
ACTIVE_20H = ActiveStretch(
    lookback=LOOKBACK, active_starts=800, first_active_at=ago(20), stretch_start=ago(20)
)


def telemetry_must_not_be_read() -> PhaseClock:
    raise AssertionError("the ledger decides: telemetry is not read")


# --- the ledger --------------------------------------------------------------------------------


def test_ledger_full_mode_starts_at_the_switch_to_v3():
    clock = clock_from_ledger(FULL_60H, AS_OF)
    assert (clock.phase, clock.started, clock.source) == ("full", ago(60), LEDGER)


def test_ledger_shadow_mode_starts_at_the_shadow_switch():
    clock = clock_from_ledger(FULL_60H, ago(70))
    assert (clock.phase, clock.started) == ("shadow", ago(76))


def test_ledger_switch_off_of_v3_is_a_rollback_since_that_switch():
    clock = clock_from_ledger(ROLLED_BACK_2H_AGO, AS_OF)
    assert (clock.phase, clock.started) == ("rollback", ago(2))


def test_ledger_entries_after_the_as_of_are_ignored():
    # The rollback is recorded 2h before AS_OF: 3h before it, full mode still runs.
    clock = clock_from_ledger(ROLLED_BACK_2H_AGO, ago(3))
    assert (clock.phase, clock.started) == ("full", ago(60))


def test_a_ledger_with_only_max_parallel_says_nothing_about_the_phase():
    assert clock_from_ledger([change(30, MAX_PARALLEL, "3")], AS_OF) is None


def test_last_rollback_is_the_last_v3_true_to_false_at_or_before_the_as_of():
    # SHADOW_76H sets no V3 at all; the shadow phase's V3=false from nothing is no rollback.
    changes = [*ROLLED_BACK_2H_AGO, change(-1, V3, "true", "false")]
    assert last_rollback(changes, AS_OF).at == ago(2)
    assert last_rollback([change(30, V3, "false"), *FULL_60H], AS_OF) is None
    assert last_rollback(ROLLED_BACK_2H_AGO, ago(3)) is None


# --- telemetry: the active stretch of a lookback -----------------------------------------------


def test_telemetry_full_mode_starts_after_the_last_legacy_activity():
    # V3 seen since 90h ago, but the legacy planner ran 10h ago (a rollback and re-enable).
    stretch = ActiveStretch(
        lookback=LOOKBACK,
        active_starts=3000,
        first_active_at=ago(90),
        last_active_at=AS_OF,
        legacy_events=40,
        last_legacy_at=ago(10),
        stretch_start=ago(9),
    )
    clock = clock_from_stretch(stretch)
    assert (clock.phase, clock.started, clock.source) == ("full", ago(9), TELEMETRY)
    assert not clock.at_least
    assert "after the last legacy planner activity (2026-11-29 02:00:00 UTC)" in clock.how


def test_telemetry_without_legacy_activity_is_full_at_least_since_the_first_start():
    clock = clock_from_stretch(ACTIVE_20H)
    assert (clock.phase, clock.started, clock.at_least) == ("full", ago(20), True)


def test_telemetry_legacy_activity_after_the_last_active_start_means_v3_is_off():
    stretch = ActiveStretch(
        lookback=LOOKBACK,
        active_starts=1900,
        first_active_at=ago(50),
        last_active_at=ago(3),
        legacy_events=40,
        last_legacy_at=ago(1),
    )
    clock = clock_from_stretch(stretch)
    assert (clock.phase, clock.started) == ("legacy", None)
    assert "rolled back" in clock.how


def test_telemetry_with_only_legacy_activity_is_legacy():
    stretch = ActiveStretch(lookback=LOOKBACK, legacy_events=12, last_legacy_at=ago(1))
    assert clock_from_stretch(stretch).phase == "legacy"


def test_telemetry_with_nothing_at_all_cannot_tell_the_phase():
    clock = clock_from_stretch(ActiveStretch(lookback=LOOKBACK))
    assert (clock.phase, clock.started, clock.source) == (None, None, TELEMETRY)
    assert "cannot tell when full mode began" in clock.how


# --- telemetry: hour by hour (cleanup) ---------------------------------------------------------


def buckets(rows):
    """rows: (hours before the as-of, bookings, active starts), one an hour."""
    return pd.DataFrame(
        [
            {
                "bucket_start": ago(hours),
                "bookings_with_activity": bookings,
                "active_starts": starts,
                "first_active_start": ago(hours) + 5 * M if starts else pd.NaT,
            }
            for hours, bookings, starts in rows
        ]
    )


def test_hourly_clock_starts_after_the_last_hour_with_bookings_but_no_v3():
    # Hours 5, 3 and 1 before: active starts; hour 6: bookings without V3 (legacy); hour 4 is
    # empty (neutral). The stretch starts with the first active start of hour 5.
    rows = [(7, 3, 0), (6, 2, 0), (5, 2, 2), (4, 0, 0), (3, 1, 1), (1, 2, 2)]
    clock = clock_from_buckets(buckets(rows), LOOKBACK)
    assert (clock.phase, clock.source) == ("full", TELEMETRY)
    assert clock.started == ago(5) + 5 * M


def test_hourly_clock_with_v3_off_in_the_latest_hour_says_legacy():
    clock = clock_from_buckets(buckets([(3, 2, 2), (1, 2, 0)]), LOOKBACK)
    assert (clock.phase, clock.started) == ("legacy", None)


def test_hourly_clock_active_throughout_is_full_at_least_since_the_lookback():
    clock = clock_from_buckets(buckets([(3, 2, 2), (1, 0, 1)]), LOOKBACK)
    assert (clock.phase, clock.started, clock.at_least) == ("full", ago(3) + 5 * M, True)


def test_hourly_clock_without_any_data_cannot_date_full_mode():
    assert clock_from_buckets(buckets([(3, 0, 0)]), LOOKBACK).phase is None


# --- the resolver ------------------------------------------------------------------------------


def test_the_ledger_wins_and_telemetry_is_then_not_read():
    clock = resolve_phase_clock(FULL_60H, AS_OF, telemetry_must_not_be_read)
    assert (clock.source, clock.started) == (LEDGER, ago(60))


def test_without_phase_flags_in_the_ledger_telemetry_decides():
    only_parallel = [change(10, MAX_PARALLEL, "4")]
    clock = resolve_phase_clock(only_parallel, AS_OF, lambda: clock_from_stretch(ACTIVE_20H))
    assert (clock.source, clock.started) == (TELEMETRY, ago(20))


def test_no_ledger_and_no_telemetry_is_an_unknown_phase_never_out_of_phase():
    clock = resolve_phase_clock([], AS_OF, lambda: UNKNOWN_PHASE)
    assert clock.phase is None
    assert in_checkpoint_phase("shadow", clock) is None


def test_telemetry_legacy_is_neither_in_nor_out_of_the_shadow_or_rollback_phase():
    legacy = PhaseClock("legacy", None, TELEMETRY)
    assert in_checkpoint_phase("shadow", legacy) is None
    assert in_checkpoint_phase("rollback", legacy) is None
    assert in_checkpoint_phase("success", legacy) is False


def test_phase_clock_describes_its_source():
    clock = PhaseClock("full", AS_OF, LEDGER)
    assert clock.describe() == "full mode since 2026-11-29 12:00:00 UTC (from the flag ledger)"


@pytest.mark.db
def test_the_verdict_names_the_clock_the_gate_judged_by_and_reads_no_telemetry_for_it(
    make_database, monkeypatch
):
    """V3 bookings every 10 minutes for the 6 hours before the as-of, no legacy activity, no
    ledger: read from telemetry the phase is full since the first active start (5h55m before
    the as-of, the first booking half a slot in, its start 0.5 s after creation). A gate whose
    metrics carry its own clock (here shadow mode since 30 h, as a ledger would say) gives the
    verdict that clock, and full_mode_start does not run for it."""
    telemetry = Telemetry()
    for at in telemetry.every(ago(6), AS_OF, 6):
        telemetry.v3_booking(at)
    url = make_database("phase_fields")
    telemetry.insert(url)
    monkeypatch.setenv("ROLLOUT_DB_URL", url)
    with tempfile.TemporaryDirectory() as evidence:
        gate = open_gate("success", "production", AS_OF.isoformat(), evidence_dir=evidence)
    statements = []
    sa.event.listen(
        gate.connection, "before_cursor_execute", lambda *args: statements.append(args[2])
    )
    try:
        judged_by = PhaseClock("shadow", ago(30), LEDGER, "")
        assert gate.phase_fields(judged_by) == {
            "phase": "shadow",
            "phase_since": ago(30),
            "phase_source": LEDGER,
            "in_phase": False,  # success checks full mode
        }
        assert not any("full_mode_start" in text for text in statements)
        read = gate.phase_fields()
        assert (read["phase"], read["phase_since"], read["phase_source"]) == (
            "full",
            ago(6) + 5 * M + timedelta(seconds=0.5),
            TELEMETRY,
        )
        assert read["in_phase"] is True
        assert any("full_mode_start" in text for text in statements)
    finally:
        gate.connection.close()
