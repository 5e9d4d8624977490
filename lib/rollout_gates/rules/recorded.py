"""Recorded verdicts: a later gate trusts an earlier one only if it is the latest at or
before the as-of, a PASS, fresh enough, and taken on the same kind of data."""

from datetime import datetime, timedelta

from ..core.timefmt import format_duration, utc
from ..core.verdict import Check, GateResult, Status


def assess_recorded_verdict(
    check_id: str,
    label: str,
    verdict: GateResult | None,
    *,
    gate: str,
    env: str,
    as_of: datetime,
    max_age: timedelta,
    simulated: bool,
) -> Check:
    """The latest recorded verdict of `gate` on `env` must be a fresh PASS.

    None recorded, or an INCONCLUSIVE or ERROR one, or a PASS older than `max_age`, or a
    PASS on simulated data while this gate reads real data: INCONCLUSIVE, with the
    command to run. A recorded FAIL is a FAIL whatever its age: the latest word on that
    checkpoint is that it failed.
    """
    command = f"rollout-gates run {gate} --env {env}"
    common = {
        "id": check_id,
        "rule": f"{label}: latest `{gate}` verdict on {env} is a PASS at most "
        f"{format_duration(max_age)} old",
        "threshold": format_duration(max_age),
    }
    if verdict is None:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"no recorded {gate} verdict on {env} at or before the as-of: run `{command}`",
        )
    age = as_of - verdict.as_of
    when = f"as of {utc(verdict.as_of)}, {format_duration(age)} before this check"
    where = f"; evidence {verdict.run_dir}" if verdict.run_dir else ""
    common["observed"] = str(verdict.status)
    if verdict.status is Status.FAIL:
        failing = [c.id for c in verdict.checks if c.status is Status.FAIL]
        why = f" ({', '.join(failing)})" if failing else ""
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"the latest {gate} verdict on {env} is FAIL{why}, {when}{where}: fix it, "
            f"then `{command}`",
        )
    if verdict.status is not Status.PASS:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"the latest {gate} verdict on {env} is {verdict.status}, {when}: "
            f"`{command}` again",
        )
    if age > max_age:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"the latest {gate} verdict on {env} is a PASS {when}: older than "
            f"{format_duration(max_age)}, stale; `{command}` again",
        )
    if verdict.simulated and not simulated:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"the latest {gate} verdict on {env} is a PASS on simulated data (scenario "
            f"{verdict.scenario}), {when}: not evidence for a real rollout; `{command}`",
        )
    return Check(**common, status=Status.PASS, detail=f"{gate} on {env}: PASS {when}{where}")
