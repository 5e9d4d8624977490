"""Pure decision rules shared by the gates (DESIGN.md, "Verdicts").

Each function turns one observation into a Check; none touches the database.
"""

from dataclasses import dataclass
from datetime import UTC, timedelta

from ..core.stats import percent
from ..core.timefmt import format_duration
from ..core.verdict import Check, Status

# How far back a database is searched for any creation event before the gates fall back
# (telemetry.arrivals.fetch_recorded), and how they say so.
RECORDED_LOOKBACK = timedelta(days=7)
FALLBACK = (
    "this database has no booking.creation.success event (capacity.transaction) in the "
    f"{RECORDED_LOOKBACK.days} days before the as-of, as written by an older deploy: bookings "
    "are counted from planner activity (state machine, legacy planner) instead"
)


@dataclass(frozen=True)
class Traffic:
    """A window's V3 traffic, as telemetry.metrics.fetch_traffic counts it."""

    active_starts: int
    bookings_with_activity: int  # arrivals, and bookings with planner activity
    bookings_seen_by_coordinator: int
    bookings_created: int = 0  # arrivals (booking.creation.success, duplicates aside)
    bookings_created_seen: int = 0  # ... of which the coordinator wrote about
    recorded: bool = True  # False: the database has no creation event at all (older deploy)


def longest_run(counts) -> int:
    """The longest stretch of consecutive buckets with at least one event."""
    longest = current = 0
    for count in counts:
        current = current + 1 if count > 0 else 0
        longest = max(longest, current)
    return longest


def nothing_seen(common: dict, what: str, status: Status = Status.INCONCLUSIVE) -> Check:
    """A check with no rows to look at: marked no_data, never a PASS; INCONCLUSIVE, or WARN
    for an advisory check, which stays advisory."""
    return Check(
        **common,
        status=status,
        detail=f"no data: {what}, so there was nothing to judge",
        no_data=True,
    )


NO_COORDINATOR = "no booking with a coordinator outcome in the window"


def judge_events(
    common: dict,
    event: str,
    total: int,
    beyond: bool,
    fail: str,
    warn: str = "",
    seen: int | None = None,
) -> Check:
    """The ladder of an event that should not happen (coordinator.error, circuit_open): FAIL
    when the `total` events go `beyond` the rule, WARN (advisory) when some came within it,
    no data when no booking had a coordinator outcome (`seen` 0), else PASS with none."""
    if beyond:
        return Check(**common, status=Status.FAIL, detail=fail)
    if total:
        return Check(**common, status=Status.WARN, detail=warn)
    if seen == 0:
        return nothing_seen(common, f"no {event} because {NO_COORDINATOR}")
    return Check(**common, status=Status.PASS, detail=f"no {event}")


def assess_sustained_errors(
    bucket_counts: list[int],
    needed_buckets: int,
    bucket: timedelta,
    seen: int | None = None,
    outcome_counts: list[int] | None = None,
    share: float = 0.0,
) -> Check:
    """coordinator.error in `needed_buckets` consecutive buckets is sustained: FAIL.

    With `outcome_counts` (coordinator outcome events per bucket), a bucket counts only when
    its errors are more than `share` of them: at a few bookings a bucket one error is all of
    it, as before; at 200 an hour a healthy 1% of errors is in most buckets, and would read as
    "sustained" on chance alone. Isolated errors are shown as WARN, which never changes the
    gate. `seen`: the bookings with a coordinator outcome in the window; 0 means no errors
    because no events at all, which is no data, not a PASS (None: the caller does not say).
    """
    outcomes = outcome_counts if outcome_counts is not None else [None] * len(bucket_counts)
    counted = [
        errors > 0 and (total is None or errors > share * total)
        for errors, total in zip(bucket_counts, outcomes, strict=True)
    ]
    run, total = longest_run(counted), sum(bucket_counts)
    size = format_duration(bucket)
    above = f" with more than {percent(share)} of outcomes errors" if outcome_counts else ""
    common = {
        "id": "sustained_errors",
        "rule": f"coordinator.error in fewer than {needed_buckets} consecutive {size} "
        f"buckets{above}",
        "observed": run,
        "threshold": needed_buckets,
        "sample_size": total,
    }
    fail = f"{total} coordinator.error, in {run} consecutive {size} buckets"
    warn = f"{total} coordinator.error, not sustained (longest run {run} of {size})"
    return judge_events(common, "coordinator.error", total, run >= needed_buckets, fail, warn, seen)


def assess_circuit_opens(max_in_any_hour: int, total: int, limit: int) -> Check:
    """More than `limit` coordinator.circuit_open in any hour is frequent: FAIL."""
    common = {
        "id": "circuit_opens",
        "rule": f"at most {limit} coordinator.circuit_open in any hour",
        "observed": max_in_any_hour,
        "threshold": limit,
        "sample_size": total,
    }
    fail = f"{max_in_any_hour} coordinator.circuit_open within one hour ({total} in all)"
    warn = f"{total} coordinator.circuit_open, at most {max_in_any_hour} in an hour"
    return judge_events(
        common, "coordinator.circuit_open", total, max_in_any_hour > limit, fail, warn
    )


def assess_no_circuit_opens(
    max_in_any_hour: int, total: int, over: str = "in the window", seen: int | None = None
) -> Check:
    """The runbook's "no circuit breaker trips": any coordinator.circuit_open is a FAIL.

    `seen` as for assess_sustained_errors: 0 is no data, not a PASS.
    """
    common = {
        "id": "circuit_opens",
        "rule": f"no coordinator.circuit_open {over} (no circuit breaker trips)",
        "observed": total,
        "threshold": 0,
        "sample_size": total,
    }
    fail = f"{total} coordinator.circuit_open {over}, at most {max_in_any_hour} in one hour"
    return judge_events(common, "coordinator.circuit_open", total, total > 0, fail, seen=seen)


def assess_v3_traffic(traffic: Traffic, silence=None) -> Check:
    """V3 must receive traffic when bookings are being made.

    A window with nothing at all (no booking created, no activity, no coordinator event) is
    judged against the arrivals before it when `silence` (arrivals.Silence) is given: a FAIL
    when that much silence is improbable at the rate before, else INCONCLUSIVE until then.
    """
    common = {
        "id": "v3_traffic",
        "rule": "coordinator.start with mode=active present when bookings exist",
        "observed": traffic.active_starts,
        "sample_size": traffic.bookings_with_activity,
    }
    bookings = f"{traffic.bookings_with_activity} bookings with activity " + (
        f"({traffic.bookings_created} created)" if traffic.recorded else f"({FALLBACK})"
    )
    if traffic.active_starts:
        return Check(
            **common,
            status=Status.PASS,
            detail=f"{traffic.active_starts} active coordinator starts; {bookings}",
        )
    if traffic.bookings_with_activity:
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{bookings} but no coordinator.start with mode=active: V3 receives no "
            "traffic (flag off, deploy not live, or telemetry lost)",
        )
    nothing = "no booking created, no booking activity and no coordinator events in the window"
    before = "" if silence is None else (
        f"{silence.before} bookings in the {format_duration(silence.lookback)} before it"
    )  # fmt: skip
    if silence is not None and silence.improbable:
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{nothing}, after {before}: {silence.odds}; bookings are not arriving or "
            "not recorded",
        )
    if silence is not None and silence.decidable_at is not None:
        nothing += (
            f"; {before} make that {silence.chance}; if it lasts, decidable at "
            f"{silence.decidable_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        )
    return Check(**common, status=Status.INCONCLUSIVE, detail=nothing, no_data=True)


def assess_telemetry_coverage(traffic: Traffic, minimum: float = 0.9) -> Check:
    """Advisory: bookings created (else with activity) that the coordinator never wrote about."""
    if traffic.bookings_created:
        seen, total = traffic.bookings_created_seen, traffic.bookings_created
        what, note = "bookings created", ""
    else:
        seen, total = traffic.bookings_seen_by_coordinator, traffic.bookings_with_activity
        what = "bookings with activity"
        note = "" if traffic.recorded or not total else f" ({FALLBACK})"
    common = {
        "id": "telemetry_coverage",
        "rule": f"coordinator events for at least {percent(minimum)} of bookings created",
        "observed": seen / total if total else None,
        "threshold": minimum,
        "sample_size": total,
    }
    if not total:
        return nothing_seen(common, "no booking in the window (0 of 0)", Status.WARN)
    covered = f"{seen} of {total} {what} have coordinator events{note}"
    if seen / total < minimum:
        return Check(**common, status=Status.WARN, detail=f"only {covered}")
    return Check(**common, status=Status.PASS, detail=covered)


def assess_attestations(attestations, labels: dict[str, str], recorded_at) -> list[Check]:
    """One check per human item: given is recorded with who and when; missing is INCONCLUSIVE."""
    checks = []
    for name, label in labels.items():
        who = getattr(attestations, name)
        common = {"id": f"attest.{name}", "rule": f"attested: {label}", "observed": who}
        if who:
            checks.append(
                Check(
                    **common,
                    status=Status.PASS,
                    detail=f"attested by {who} at {recorded_at:%Y-%m-%d %H:%M} UTC",
                )
            )
        else:
            checks.append(
                Check(
                    **common,
                    status=Status.INCONCLUSIVE,
                    detail=f'not attested: add --set attest.{name}="your name"',
                )
            )
    return checks


def assess_flags_vs_telemetry(found) -> Check:
    """V3 cannot run before its flag is on: active starts while the ledger says off disagree.

    Either the ledger is wrong (a change not recorded, or recorded late) or V3 runs
    where it should not; both make every soak-time clock of the rollout untrustworthy.
    """
    common = {
        "id": "flags_telemetry",
        "rule": "no active coordinator.start while the flag ledger says V3 is off",
        "observed": found.active_starts,
        "threshold": 0,
    }
    if found.active_starts:
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"flags and telemetry disagree: {found.active_starts} active coordinator "
            f"starts from {found.first_at:%Y-%m-%d %H:%M} to {found.last_at:%H:%M} UTC while "
            "the flag ledger says FEATURE_ASSIGNMENT_PIPELINE_V3 was off; fix the ledger "
            "(rollout-gates flags record) or find the process running V3",
        )
    return Check(
        **common,
        status=Status.PASS,
        detail="flag ledger and telemetry agree: no active start while V3 was off",
    )
