"""MAX_PARALLEL: the value in force (a parameter, else the ledger), the cap, the time since
its last change, and the runbook's commands to raise it by one."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..config import ledger
from ..config.flags import describe_reading, load_flag_matrix, parse_max_parallel
from ..config.ledger import FlagChange
from ..core.timefmt import format_duration, utc
from ..core.verdict import Check, Status
from .soak import judge_elapsed


@dataclass(frozen=True)
class ParallelSetting:
    """The MAX_PARALLEL value in force, where it comes from, and its last recorded change."""

    value: int | None
    source: str
    note: str = ""
    last_change: FlagChange | None = None


def current_max_parallel(
    parameter: int | None, changes: list[FlagChange], as_of: datetime
) -> ParallelSetting:
    """The `max_parallel` parameter when given, else the ledger's value at the as-of.

    A ledger value is read as the application does (flags.parse_max_parallel); an invalid
    one leaves the value unknown.
    """
    last = ledger.last_change(changes, ledger.MAX_PARALLEL, as_of)
    if parameter is not None:
        note = ""
        if last is not None and last.new.strip() != str(parameter):
            note = f"; the flag ledger says {last.new} (set {utc(last.at)}): the parameter wins"
        return ParallelSetting(parameter, "the max_parallel parameter", note, last)
    if last is None:
        return ParallelSetting(None, "", "", None)
    value = parse_max_parallel(last.new)
    if value is None:
        return ParallelSetting(
            None,
            "the flag ledger",
            f"the flag ledger's value {last.new!r} (set {utc(last.at)}) is "
            f"{describe_reading(None)}",
            last,
        )
    note = f", set {utc(last.at)} by {last.by}"
    if int(last.new) > value:
        note += f"; the application clamps {last.new.strip()} to {value}"
    return ParallelSetting(value, "the flag ledger", note, last)


def assess_max_parallel(setting: ParallelSetting, cap: int) -> Check:
    """The current MAX_PARALLEL must be known and below the runbook's cap."""
    common = {
        "id": "max_parallel_below_cap",
        "rule": f"current MAX_PARALLEL known and below the cap {cap}",
        "observed": setting.value,
        "threshold": cap,
    }
    if setting.value is None:
        why = setting.note or "no MAX_PARALLEL in the flag ledger"
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"current MAX_PARALLEL unknown ({why}): pass --set max_parallel=N "
            "or record the flag changes in the ledger",
        )
    where = f"MAX_PARALLEL is {setting.value} (from {setting.source}{setting.note})"
    if setting.value >= cap:
        return Check(
            **common,
            status=Status.FAIL,
            detail=f"{where}: at the cap {cap}, do not raise it (the runbook's maximum)",
        )
    return Check(
        **common,
        status=Status.PASS,
        detail=f"{where}: below the cap {cap}, the next value would be {setting.value + 1}",
    )


def assess_change_spacing(last: FlagChange | None, as_of: datetime, minimum: timedelta) -> Check:
    """The last MAX_PARALLEL change at least `minimum` before the as-of ("monitor 6+ hours").

    Without a ledger entry the time of the last change is unknown (no telemetry shows a
    flag value or a redeploy): INCONCLUSIVE, even when the value is given as a parameter.
    """
    common = {
        "id": "time_since_last_change",
        "rule": f"last MAX_PARALLEL change at least {format_duration(minimum)} ago",
        "threshold": format_duration(minimum),
    }
    if last is None:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail="no MAX_PARALLEL change in the flag ledger at or before the as-of: when "
            "it last changed is unknown (telemetry does not show flag values or deploys); "
            "record flag changes in the ledger to judge this",
        )
    elapsed = as_of - last.at
    change = f"set to {last.new} at {utc(last.at)} by {last.by} (flag ledger)"
    passed = f"{change}: {format_duration(elapsed)} ago >= {format_duration(minimum)}"
    waiting = (
        f"{change}: only {format_duration(elapsed)} ago; it may go up at {utc(last.at + minimum)}"
    )
    return judge_elapsed(common, elapsed, minimum, passed, waiting)


def raise_commands(current: int, cap: int, env: str, monitor: timedelta) -> list[str]:
    """The runbook's Phase 2 Step 5 for the next value, rendered from params/flags.yaml."""
    matrix = load_flag_matrix()
    wait = f"{monitor / timedelta(hours=1):g}"
    return [
        matrix["set_command"].format(variable=ledger.MAX_PARALLEL, env=env),
        f"# When prompted, enter: {current + 1}",
        matrix["deploy_command"],
        f"# Monitor for {wait}+ hours before the next increase (cap {cap})",
    ]
