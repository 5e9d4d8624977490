"""Every verdict carries the rollout phase at its as-of; a run outside its phase is labelled.

Phases by hand from the ledger each test writes (legacy.rollout_clock): V3=true is full,
SHADOW=true shadow, V3 switched true -> false a rollback.
"""

from datetime import UTC, datetime, timedelta

from rollout_gates.config.ledger import SHADOW, V3, FlagChange
from rollout_gates.core.verdict import Check, GateResult, Status
from rollout_gates.present.display import verdict_markdown
from rollout_gates.report.verification import decisive, standing_line, with_phase
from rollout_gates.telemetry.planner import in_checkpoint_phase, rollout_clock

H = timedelta(hours=1)
T0 = datetime(2026, 3, 1, tzinfo=UTC)
LEDGER = [
    FlagChange(T0, SHADOW, "true"),
    FlagChange(T0 + 26 * H, V3, "true", old="false"),
    FlagChange(T0 + 26 * H, SHADOW, "false", old="true"),
    FlagChange(T0 + 29 * H, V3, "false", old="true"),  # rolled back
    FlagChange(T0 + 31 * H, V3, "true", old="false"),  # second attempt
]


def run(gate: str, hours: float, status: str = "PASS") -> GateResult:
    checks = [Check(id="c", rule="r", status=Status(status), detail="d")]
    return GateResult(
        gate=gate, env="production", status=Status(status), as_of=T0 + hours * H, checks=checks
    )


def test_phase_comes_from_the_ledger_and_a_switch_off_is_a_rollback():
    assert rollout_clock(LEDGER, T0 + 1 * H).phase == "shadow"
    assert rollout_clock(LEDGER, T0 + 27 * H).phase == "full"
    clock = rollout_clock(LEDGER, T0 + 30 * H)
    assert (clock.phase, clock.started) == ("rollback", T0 + 29 * H)
    assert rollout_clock(LEDGER, T0 + 40 * H).started == T0 + 31 * H


def test_no_ledger_and_no_telemetry_is_an_unknown_phase_never_out_of_phase():
    clock = rollout_clock([], T0)
    assert clock.phase is None
    assert in_checkpoint_phase("shadow", clock) is None


def test_a_shadow_run_in_full_mode_keeps_its_status_but_is_labelled():
    late = with_phase(run("shadow", 100, "FAIL"), LEDGER)
    assert late.status is Status.FAIL and late.in_phase is False
    assert late.out_of_phase == "out of phase (full mode since 2026-03-02 07:00 UTC)"
    assert "out of phase (full mode since 2026-03-02 07:00 UTC)" in late.summary()
    assert "Out of phase (full mode since 2026-03-02 07:00 UTC)" in verdict_markdown(late)
    assert with_phase(run("shadow", 25), LEDGER).out_of_phase is None


def test_the_decisive_verdict_is_the_last_run_in_the_phase_it_checks():
    runs = [with_phase(r, LEDGER) for r in (run("shadow", 24), run("shadow", 100, "FAIL"))]
    assert decisive(runs).as_of == T0 + 24 * H
    rollback = [with_phase(r, LEDGER) for r in (run("rollback", 29.75), run("rollback", 100))]
    assert decisive(rollback).as_of == T0 + 29.75 * H


def test_standing_line_says_the_phase_the_tally_and_what_is_next():
    verdicts = {
        "prerequisites": [run("prerequisites", 25)],  # no staging ledger: phase unknown
        "shadow": [run("shadow", 25), run("shadow", 100, "FAIL")],
        "preflight": [run("preflight", 25.5)],
        "full-health": [run("full-health", 28, "FAIL"), run("full-health", 33)],
        "rollback": [run("rollback", 29.75)],
        "success": [run("success", 60, "INCONCLUSIVE")],
    }
    # prerequisites runs on staging, whose ledger (none here) decides its phase.
    verdicts = {
        g: [with_phase(r, [] if g == "prerequisites" else LEDGER) for r in rs]
        for g, rs in verdicts.items()
    }
    line = standing_line(verdicts, LEDGER, "production")
    # Applicable: 9 gates less scale (never run, optional); rollback applies (a rollback
    # happened). Passed at their time: prerequisites, shadow, preflight, full-health (33h),
    # rollback = 5. Next in full mode: full-extended, never run.
    assert line.startswith("**Where the rollout stands:** full mode since 2026-03-02 07:00 UTC;")
    assert "5 of 8 checkpoints passed at their time" in line
    assert "next: full-extended" in line

    verdicts["full-extended"] = [with_phase(run("full-extended", 80), LEDGER)]
    verdicts["success"] = [with_phase(run("success", 100), LEDGER)]
    line = standing_line(verdicts, LEDGER, "production")
    assert "7 of 8 checkpoints passed" in line
    assert "the rollout succeeded (success criteria met as of 2026-03-05 04:00 UTC)" in line
    assert "next: the legacy cleanup" in line
