"""Rules of the checklist gates (preflight, scale, success): pure, unit-tested.

- Recorded verdicts: a later gate trusts an earlier one only if it is the latest at or
  before the as-of, a PASS, fresh enough, and taken on the same kind of data.
- Full mode's start: from the flag ledger when it records V3 or shadow changes, else
  from telemetry (the first `coordinator.start` with mode=active after the last legacy
  planner activity of a lookback); the soak check says which source it used.
- MAX_PARALLEL: the current value (a parameter, else the ledger), the cap, the time
  since its last change, and the runbook's commands to raise it by one.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from ..config import ledger
from ..config.flags import describe_reading, load_flag_matrix, parse_max_parallel
from ..config.ledger import FlagChange
from ..core.timefmt import format_duration
from ..core.verdict import Check, GateResult, Status, worst
from .phase import ActiveStretch


def utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def span(duration: timedelta) -> str:
    """48h rather than 2d: the runbook counts soak times and ages in hours."""
    seconds = int(duration.total_seconds())
    return f"{seconds // 3600}h" if seconds % 3600 == 0 else format_duration(duration)


def hours(duration: timedelta) -> float:
    return round(duration.total_seconds() / 3600, 2)


def describe_age(duration: timedelta) -> str:
    """1h 05m, 30h 00m: an age at a glance."""
    minutes = int(duration.total_seconds() // 60)
    return f"{minutes // 60}h {minutes % 60:02d}m"


# --- recorded verdicts ------------------------------------------------------------------------


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
        "rule": f"{label}: latest `{gate}` verdict on {env} is a PASS at most {span(max_age)} old",
        "threshold": span(max_age),
    }
    if verdict is None:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"no recorded {gate} verdict on {env} at or before the as-of: run `{command}`",
        )
    age = as_of - verdict.as_of
    when = f"as of {utc(verdict.as_of)}, {describe_age(age)} before this check"
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
            f"{span(max_age)}, stale; `{command}` again",
        )
    if verdict.simulated and not simulated:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"the latest {gate} verdict on {env} is a PASS on simulated data (scenario "
            f"{verdict.scenario}), {when}: not evidence for a real rollout; `{command}`",
        )
    return Check(**common, status=Status.PASS, detail=f"{gate} on {env}: PASS {when}{where}")


@dataclass(frozen=True)
class RunbookItem:
    """One checklist item as the runbook wrote it, and the ids of the checks that decide it."""

    text: str
    checks: tuple[str, ...]


@dataclass(frozen=True)
class RunbookChecklist:
    """The runbook items a gate decides: declared once, in the gate's module, as CHECKLIST."""

    section: str  # the runbook's heading: "Success Criteria", "Pre-Flight Checklist", ...
    items: tuple[RunbookItem, ...]

    @classmethod
    def of(cls, section: str, items) -> "RunbookChecklist":
        return cls(
            section,
            tuple(
                RunbookItem(text, (ids,) if isinstance(ids, str) else tuple(ids))
                for text, ids in items
            ),
        )


MET, NOT_MET, NO_DATA, NOT_CHECKED = "met", "not met", "no data", "not checked"


@dataclass(frozen=True)
class ItemState:
    """An item judged from a verdict's checks: met only when every deciding check PASSed on data."""

    item: RunbookItem
    state: str  # MET, NOT_MET, NO_DATA or NOT_CHECKED
    status: Status | None  # the worst status of its checks; None when none was found
    why: str

    @property
    def met(self) -> bool:
        return self.state == MET


def judge_item(item: RunbookItem, checks: list[Check]) -> ItemState:
    """MET needs every deciding check present, PASS (or advisory WARN), and none without data.

    A FAIL is NOT_MET whatever else is missing; a check that saw nothing (`no_data`) makes
    the item NO_DATA, never met; a check missing from the verdict leaves it NOT_CHECKED.
    """
    by_id = {check.id: check for check in checks}
    found = [by_id[i] for i in item.checks if i in by_id]
    missing = [i for i in item.checks if i not in by_id]
    if not found:
        return ItemState(item, NOT_CHECKED, None, "not checked")
    status = worst(check.status for check in found)
    if len(found) == 1:
        why = found[0].detail.replace("\n", " ")
    else:
        why = "; ".join(
            f"{c.id} {'no data' if c.no_data else c.status}: {c.detail}".replace("\n", " ")
            for c in found
            if c.no_data or c.status not in (Status.PASS, Status.WARN)
        ) or "; ".join(f"{c.id} {c.status}" for c in found)
    if status is Status.FAIL:
        state = NOT_MET
    elif any(c.no_data for c in found):
        state = NO_DATA
    elif missing:
        return ItemState(item, NOT_CHECKED, status, f"not checked: {', '.join(missing)}")
    else:
        state = MET if status is Status.PASS else NOT_MET
    return ItemState(item, state, status, why)


def judge_checklist(checklist: RunbookChecklist, checks: list[Check]) -> list[ItemState]:
    return [judge_item(item, checks) for item in checklist.items]


def item_line(state: ItemState) -> str:
    tick = "x" if state.met else " "
    if state.state == NOT_CHECKED and state.status is None:
        return f"- [ ] {state.item.text} — not checked"
    label = "no data" if state.state == NO_DATA else str(state.status)
    return f"- [{tick}] {state.item.text} — **{label}**: {state.why}"


def checklist_markdown(checklist: RunbookChecklist, checks: list[Check]) -> str:
    """The runbook's checklist as it wrote it, each item ticked only when judge_item says met."""
    return "\n".join(item_line(state) for state in judge_checklist(checklist, checks))


def ledger_table(changes: list[FlagChange], as_of: datetime) -> pd.DataFrame:
    """The flag ledger as a table; changes after the as-of are shown but marked ignored."""
    rows = [
        {
            "at": change.at,
            "variable": change.variable,
            "old": change.old,
            "new": change.new,
            "by": change.by,
            "used": "yes" if change.at <= as_of else "no: after the as-of",
        }
        for change in changes
    ]
    return pd.DataFrame(rows, columns=["at", "variable", "old", "new", "by", "used"])


# --- full mode's start and soak time ----------------------------------------------------------


@dataclass(frozen=True)
class PhaseStart:
    """Whether full mode is on at the as-of, since when, and how we know."""

    on: bool | None  # None: cannot tell
    started: datetime | None
    source: str  # "flag ledger" or "telemetry"
    explanation: str
    at_least: bool = False  # telemetry: on since the lookback's start, maybe longer


def full_mode_from_ledger(changes: list[FlagChange], as_of: datetime) -> PhaseStart | None:
    """Full mode's start from the ledger; None when it records no V3 or shadow change by as-of."""
    recorded = [c for c in changes if c.variable in (ledger.V3, ledger.SHADOW) and c.at <= as_of]
    if not recorded:
        return None
    phase = ledger.phase_at(changes, as_of)
    started = ledger.phase_started(changes, as_of)
    since = f" since {utc(started)}" if started else ""
    if phase != "full":
        return PhaseStart(
            on=False,
            started=None,
            source="flag ledger",
            explanation=f"from the flag ledger: phase {phase}{since}",
        )
    return PhaseStart(
        on=True,
        started=started,
        source="flag ledger",
        explanation="from the flag ledger (V3 set to true)",
    )


def full_mode_from_telemetry(stretch: ActiveStretch) -> PhaseStart:
    """Full mode's start read from telemetry, when there is no ledger.

    V3 is on since the first `coordinator.start` with mode=active after the last legacy
    planner activity (auto_assign.started, inline_auto_assign.*, V3 mirror events excluded)
    of the lookback; with no legacy activity there, since the lookback's first active start
    at least.
    """
    window = f"{utc(stretch.lookback.start)} to {utc(stretch.lookback.end)}"
    if not stretch.active_starts:
        if stretch.legacy_events:
            return PhaseStart(
                on=False,
                started=None,
                source="telemetry",
                explanation=f"from telemetry: no coordinator.start with mode=active from {window}, "
                f"while the legacy planner ran ({stretch.legacy_events} events, last at "
                f"{utc(stretch.last_legacy_at)})",
            )
        return PhaseStart(
            on=None,
            started=None,
            source="telemetry",
            explanation=f"no flag ledger, and neither a coordinator.start with mode=active nor "
            f"legacy planner activity from {window}: cannot tell when full mode began",
        )
    if stretch.stretch_start is None:
        return PhaseStart(
            on=False,
            started=None,
            source="telemetry",
            explanation=f"from telemetry: the legacy planner ran at {utc(stretch.last_legacy_at)}, "
            f"after the last coordinator.start with mode=active ({utc(stretch.last_active_at)}): "
            "V3 looks off (rolled back, or not yet on)",
        )
    if stretch.legacy_events:
        return PhaseStart(
            on=True,
            started=stretch.stretch_start,
            source="telemetry",
            explanation="from telemetry: the first coordinator.start with mode=active after "
            f"the last legacy planner activity ({utc(stretch.last_legacy_at)})",
        )
    return PhaseStart(
        on=True,
        started=stretch.stretch_start,
        source="telemetry",
        explanation="from telemetry: the first coordinator.start with mode=active of the "
        f"lookback {window}, which has no legacy planner activity",
        at_least=True,
    )


def assess_soak(start: PhaseStart, as_of: datetime, soak: timedelta) -> Check:
    """Full mode on for `soak` before the as-of, else INCONCLUSIVE with when it can pass."""
    common = {
        "id": "soak",
        "rule": f"full mode on for at least {span(soak)}",
        "threshold": span(soak),
    }
    if start.on is None:
        return Check(**common, status=Status.INCONCLUSIVE, detail=start.explanation)
    if not start.on or start.started is None:
        return Check(
            **common,
            status=Status.INCONCLUSIVE,
            detail=f"full mode is not on at the as-of ({start.explanation}); it can pass "
            f"{span(soak)} after V3 is turned on",
        )
    elapsed = as_of - start.started
    since = f"full mode on {'at least ' if start.at_least else ''}since {utc(start.started)}"
    common["observed"] = describe_age(elapsed)
    if elapsed >= soak:
        return Check(
            **common,
            status=Status.PASS,
            detail=f"{since}, {start.explanation}: {describe_age(elapsed)} >= {span(soak)}",
        )
    return Check(
        **common,
        status=Status.INCONCLUSIVE,
        detail=f"{since}, {start.explanation}: {describe_age(elapsed)} of {span(soak)}; "
        f"can pass at {utc(start.started + soak)}",
    )


def full_mode_start(
    changes: list[FlagChange], stretch: ActiveStretch, as_of: datetime
) -> PhaseStart:
    """The ledger when it records the phase flags, else telemetry."""
    return full_mode_from_ledger(changes, as_of) or full_mode_from_telemetry(stretch)


def phase_table(phase: PhaseStart, stretch: ActiveStretch, as_of: datetime) -> pd.DataFrame:
    """How full mode's start was found: the source used, and what telemetry shows beside it."""
    started = phase.started
    rows = [
        ("source used", phase.source),
        ("full mode on at the as-of", {True: "yes", False: "no", None: "unknown"}[phase.on]),
        ("full mode since", utc(started) if started else "-"),
        ("on for", describe_age(as_of - started) if started else "-"),
        ("how", phase.explanation),
        ("telemetry lookback", f"{utc(stretch.lookback.start)} to {utc(stretch.lookback.end)}"),
        ("active coordinator.start in it", str(stretch.active_starts)),
        ("legacy planner events in it", str(stretch.legacy_events)),
        ("last legacy activity", utc(stretch.last_legacy_at) if stretch.last_legacy_at else "-"),
        (
            "first active start after it",
            utc(stretch.stretch_start) if stretch.stretch_start else "-",
        ),
    ]
    return pd.DataFrame(rows, columns=["fact", "value"])


# --- MAX_PARALLEL -----------------------------------------------------------------------------


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
        "rule": f"last MAX_PARALLEL change at least {span(minimum)} ago",
        "threshold": span(minimum),
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
    common["observed"] = describe_age(elapsed)
    change = f"set to {last.new} at {utc(last.at)} by {last.by} (flag ledger)"
    if elapsed >= minimum:
        return Check(
            **common,
            status=Status.PASS,
            detail=f"{change}: {describe_age(elapsed)} ago >= {span(minimum)}",
        )
    return Check(
        **common,
        status=Status.INCONCLUSIVE,
        detail=f"{change}: only {describe_age(elapsed)} ago; it may go up at "
        f"{utc(last.at + minimum)}",
    )


def raise_commands(current: int, cap: int, env: str, monitor: timedelta) -> list[str]:
    """The runbook's Phase 2 Step 5 for the next value, rendered from params/flags.yaml."""
    matrix = load_flag_matrix()
    wait = f"{hours(monitor):g}"
    return [
        matrix["set_command"].format(variable=ledger.MAX_PARALLEL, env=env),
        f"# When prompted, enter: {current + 1}",
        matrix["deploy_command"],
        f"# Monitor for {wait}+ hours before the next increase (cap {cap})",
    ]


# --- rates ------------------------------------------------------------------------------------
