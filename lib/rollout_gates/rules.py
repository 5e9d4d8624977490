"""Pure decision rules shared by the gates (DESIGN.md, "Verdicts").

Each function turns one observation into a Check; none touches the database.
"""

from datetime import timedelta

from .config import format_duration
from .metrics import Traffic, longest_run
from .stats import percent
from .verdict import Check, Status


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


def assess_v3_traffic(traffic: Traffic) -> Check:
    """V3 must receive traffic when bookings are being made."""
    common = {
        "id": "v3_traffic",
        "rule": "coordinator.start with mode=active present when bookings exist",
        "observed": traffic.active_starts,
        "sample_size": traffic.bookings_with_activity,
    }
    if traffic.active_starts:
        return Check(
            **common,
            status=Status.PASS,
            detail=f"{traffic.active_starts} active coordinator starts; "
            f"{traffic.bookings_with_activity} bookings with activity",
        )
    if traffic.bookings_with_activity:
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{traffic.bookings_with_activity} bookings had activity but no "
            "coordinator.start with mode=active: V3 receives no traffic "
            "(flag off, deploy not live, or telemetry lost)",
        )
    return Check(
        **common,
        status=Status.INCONCLUSIVE,
        detail="no booking activity and no coordinator events in the window",
    )


def assess_telemetry_coverage(traffic: Traffic, minimum: float = 0.9) -> Check:
    """Advisory: bookings with activity that the coordinator never wrote about."""
    seen, total = traffic.bookings_seen_by_coordinator, traffic.bookings_with_activity
    common = {
        "id": "telemetry_coverage",
        "rule": f"coordinator events for at least {percent(minimum)} of bookings with activity",
        "observed": seen / total if total else None,
        "threshold": minimum,
        "sample_size": total,
    }
    if total and seen / total < minimum:
        return Check(
            **common,
            status=Status.WARN,
            detail=f"only {seen} of {total} bookings with activity have coordinator events",
        )
    return Check(
        **common,
        status=Status.PASS,
        detail=f"{seen} of {total} bookings with activity have coordinator events",
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
