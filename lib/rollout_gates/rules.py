"""Pure decision rules shared by the gates (DESIGN.md, "Verdicts").

Each function turns one observation into a Check; none touches the database.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .arrivals import FALLBACK
from .config import format_duration
from .metrics import Traffic, longest_run
from .stats import Proportion, percent
from .verdict import Check, Status


def assess_rate(
    check_id: str,
    name: str,
    proportion: Proportion,
    limit: float,
    *,
    at_least: bool,
    min_decided: int,
    red_flag_min_decided: int,
    strict: bool = False,
) -> Check:
    """A rate against a limit, honest about small samples.

    FAIL when the point estimate is beyond the limit with at least
    `red_flag_min_decided` bookings, or when the whole 95% interval is beyond it
    with fewer. PASS needs `min_decided` bookings: no data is never a PASS. `strict`
    makes the limit itself a breach, for the runbook's "manual review rate < 1%".
    """
    comparison = (">" if strict else ">=") if at_least else ("<" if strict else "<=")
    rule = f"{name} {comparison} {percent(limit)}"
    common = {
        "id": check_id,
        "rule": rule,
        "threshold": limit,
        "sample_size": proportion.n,
        "observed": proportion.rate,
        "interval": proportion.interval,
    }
    if proportion.n == 0:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"no decided bookings in the window; {min_decided} needed",
        )

    def beyond(value: float) -> bool:
        if at_least:
            return value <= limit if strict else value < limit
        return value >= limit if strict else value > limit

    low, high = proportion.interval
    nearest_bound = high if at_least else low
    observed = proportion.describe()
    if strict:  # at the limit is a breach too, so "above" would misstate it
        side = "not above" if at_least else "not below"
    else:
        side = "below" if at_least else "above"
    if proportion.n >= red_flag_min_decided and beyond(proportion.rate):
        return Check(
            **common, status=Status.FAIL, detail=f"{name} {observed} is {side} {percent(limit)}"
        )
    if proportion.n < red_flag_min_decided and beyond(nearest_bound):
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{name} {observed}: the whole 95% interval is {side} {percent(limit)}",
        )
    if beyond(proportion.rate):
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"{name} {observed} is {side} {percent(limit)} on a small sample: "
            f"{proportion.n} decided, a red flag needs {red_flag_min_decided}",
        )
    if proportion.n < min_decided:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"{name} {observed}: {proportion.n} decided bookings, {min_decided} needed",
        )
    return Check(**common, status=Status.PASS, detail=f"{name} {observed}")


def assess_sustained_errors(
    bucket_counts: list[int], needed_buckets: int, bucket: timedelta
) -> Check:
    """coordinator.error in `needed_buckets` consecutive buckets is sustained: FAIL.

    Isolated errors are shown as WARN, which never changes the gate.
    """
    run, total = longest_run(bucket_counts), sum(bucket_counts)
    size = format_duration(bucket)
    common = {
        "id": "sustained_errors",
        "rule": f"coordinator.error in fewer than {needed_buckets} consecutive {size} buckets",
        "observed": run,
        "threshold": needed_buckets,
        "sample_size": total,
    }
    if run >= needed_buckets:
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{total} coordinator.error, in {run} consecutive {size} buckets",
        )
    if total:
        return Check(
            **common,
            status=Status.WARN,
            detail=f"{total} coordinator.error, not sustained (longest run {run} of {size})",
        )
    return Check(**common, status=Status.PASS, detail="no coordinator.error")


def assess_circuit_opens(max_in_any_hour: int, total: int, limit: int) -> Check:
    """More than `limit` coordinator.circuit_open in any hour is frequent: FAIL."""
    common = {
        "id": "circuit_opens",
        "rule": f"at most {limit} coordinator.circuit_open in any hour",
        "observed": max_in_any_hour,
        "threshold": limit,
        "sample_size": total,
    }
    if max_in_any_hour > limit:
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{max_in_any_hour} coordinator.circuit_open within one hour ({total} in all)",
        )
    if total:
        return Check(
            **common,
            status=Status.WARN,
            detail=f"{total} coordinator.circuit_open, at most {max_in_any_hour} in an hour",
        )
    return Check(**common, status=Status.PASS, detail="no coordinator.circuit_open")


def assess_no_circuit_opens(max_in_any_hour: int, total: int, over: str = "in the window") -> Check:
    """The runbook's "no circuit breaker trips": any coordinator.circuit_open is a FAIL."""
    common = {
        "id": "circuit_opens",
        "rule": f"no coordinator.circuit_open {over} (no circuit breaker trips)",
        "observed": total,
        "threshold": 0,
        "sample_size": total,
    }
    if total:
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{total} coordinator.circuit_open {over}, "
            f"at most {max_in_any_hour} in one hour",
        )
    return Check(**common, status=Status.PASS, detail="no coordinator.circuit_open")


@dataclass(frozen=True)
class BucketVerdict:
    """One time bucket against the red-flag limits."""

    start: datetime
    decided: int
    red_flags: tuple[str, ...]  # why this bucket is a red flag; empty if it is not
    uncertain: bool  # beyond a limit on a sample too small to call it


def judge_bucket(
    start: datetime,
    limits: list[tuple[str, Proportion, float, bool]],
    red_flag_min_decided: int,
) -> BucketVerdict:
    """Each (name, proportion, limit, at_least) of a bucket, by assess_rate's small-sample rule."""
    flags, beyond, decided = [], False, 0
    for name, proportion, limit, at_least in limits:
        check = assess_rate(
            name,
            name,
            proportion,
            limit,
            at_least=at_least,
            min_decided=red_flag_min_decided,
            red_flag_min_decided=red_flag_min_decided,
        )
        if check.status is Status.FAIL:
            flags.append(check.detail)
        decided = max(decided, proportion.n)
        if proportion.n:
            beyond |= proportion.rate < limit if at_least else proportion.rate > limit
    return BucketVerdict(start, decided, tuple(flags), uncertain=beyond and not flags)


def bucket_label(start: datetime, bucket: timedelta) -> str:
    start = start.astimezone(UTC)
    return f"{start:%Y-%m-%d %H:%M}-{start + bucket:%H:%M} UTC"


def assess_red_flag_buckets(
    check_id: str, rule: str, verdicts: list[BucketVerdict], bucket: timedelta, listed: int = 5
) -> Check:
    """No bucket may raise a red flag; buckets without decided bookings judge nothing."""
    size = format_duration(bucket)
    judged = [v for v in verdicts if v.decided]
    flagged = [v for v in judged if v.red_flags]
    uncertain = sum(v.uncertain for v in judged)
    common = {
        "id": check_id,
        "rule": rule,
        "observed": len(flagged),
        "threshold": 0,
        "sample_size": len(judged),
    }
    if flagged:
        named = "; ".join(
            f"{bucket_label(v.start, bucket)}: {', '.join(v.red_flags)}" for v in flagged[:listed]
        )
        more = f"; and {len(flagged) - listed} more" if len(flagged) > listed else ""
        plural = "s" if len(flagged) > 1 else ""
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{len(flagged)} red-flag {size} bucket{plural} of {len(judged)} with decided "
            f"bookings: {named}{more}",
        )
    if not judged:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"no decided bookings in any {size} bucket of the window: none could be judged",
        )
    doubt = (
        f"; {uncertain} beyond a limit on too small a sample to call a red flag"
        if uncertain
        else ""
    )
    return Check(
        **common,
        status=Status.PASS,
        detail=f"no red flag in the {len(judged)} {size} buckets with decided bookings{doubt}",
    )


def assess_v3_traffic(traffic: Traffic) -> Check:
    """V3 must receive traffic when bookings are being made."""
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
    return Check(
        **common,
        status=Status.INCONCLUSIVE,
        detail="no booking created, no booking activity and no coordinator events in the window",
    )


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
    if total and seen / total < minimum:
        return Check(
            **common,
            status=Status.WARN,
            detail=f"only {seen} of {total} {what} have coordinator events{note}",
        )
    return Check(
        **common,
        status=Status.PASS,
        detail=f"{seen} of {total} {what} have coordinator events{note}",
    )


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
