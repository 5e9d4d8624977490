"""The soak rule: a phase on for at least the soak time before the as-of (check id `soak`).

Every gate that waits for a phase to have run long enough judges it here, from the phase
clock (telemetry.phase.PhaseClock: phase, started, source, how, at_least), which this
module reads but does not import, so the rules stay free of telemetry.
"""

from datetime import datetime, timedelta

from ..core.timefmt import as_utc, format_duration, utc
from ..core.verdict import Check, Status


def assess_soak(
    clock,
    as_of: datetime,
    soak: timedelta,
    *,
    phase: str = "full",
    wrong_phase: Status = Status.INCONCLUSIVE,
    unknown: str | None = None,
) -> Check:
    """`phase` on for `soak` before the as-of; until then INCONCLUSIVE, naming when it can pass.

    `unknown` replaces the clock's own words when it cannot date the phase (None: no clock);
    `wrong_phase` is the status when another phase is in force (cleanup: V3 off is a FAIL).
    """
    common = {
        "id": "soak",
        "rule": f"{phase} mode on for at least {format_duration(soak)} before the as-of",
        "threshold": format_duration(soak),
    }
    if clock is None or clock.phase is None:
        detail = unknown or (clock.how if clock else "no phase clock")
        return Check(**common, status=Status.INCONCLUSIVE, detail=detail)
    source = f"from the {clock.source}: {clock.how}"
    if clock.phase != phase:
        since = f" since {utc(clock.started)}" if clock.started else ""
        return Check(
            **common,
            status=wrong_phase,
            observed=clock.phase,
            detail=f"{clock.phase} mode{since}, not {phase} mode ({source}); it can pass "
            f"{format_duration(soak)} after {phase} mode begins",
        )
    if clock.started is None:
        return Check(**common, status=Status.INCONCLUSIVE, detail=unknown or clock.how)
    elapsed = as_utc(as_of) - as_utc(clock.started)
    since = f"{phase} mode on {'at least ' if clock.at_least else ''}since {utc(clock.started)}"
    passed = f"{since}, {format_duration(elapsed)} >= {format_duration(soak)} ({source})"
    waiting = (
        f"{since}, only {format_duration(elapsed)} of {format_duration(soak)}: can pass "
        f"at {utc(clock.started + soak)} ({source})"
    )
    return judge_elapsed(common, elapsed, soak, passed, waiting)


def judge_elapsed(
    common: dict, elapsed: timedelta, minimum: timedelta, passed: str, waiting: str
) -> Check:
    """Time since a moment against the wait it needs (a soak, the spacing of MAX_PARALLEL
    raises): PASS once `elapsed` reaches `minimum`; until then INCONCLUSIVE, as time alone
    will pass it, and `waiting` says when. The time waited is the observed value."""
    common = common | {"observed": format_duration(max(elapsed, timedelta(0)))}
    if elapsed >= minimum:
        return Check(**common, status=Status.PASS, detail=passed)
    return Check(**common, status=Status.INCONCLUSIVE, detail=waiting)
