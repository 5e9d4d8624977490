"""Simulated rollouts: params/scenarios/*.yaml written into observability_events.

A scenario describes, per environment, a timeline of phases (legacy, shadow, full,
rollback), a booking volume and the mix of outcomes, with periods that override the
mix or the volume. `generate_events` turns it into the rows the real application
writes (spec/telemetry.md), deterministically from the scenario's seed and `end`;
`simulate` loads them with COPY into a database, refusing to overwrite telemetry it
did not write. `flag_changes` gives the flag ledger the timeline implies, and a
scenario's `checkpoints` say when the demo runs which gate.

The generation rules are exact, so that tests can derive verdicts by hand:

1. [timeline start, end) is split into segments at every phase start, every period
   start and end, and the end of every rollback's straggler window. A segment of D
   hours at r bookings an hour holds n = round(D * r) bookings; booking i is at
   start + (i + 0.5) * D/n, plus a seeded jitter within +-0.2 * D/n.
2. Each booking is handled by the V3 coordinator or by the legacy planner. Full
   mode: all by the coordinator. A rollback's straggler window [rollback start,
   + stragglers): `straggler_share` of them by the coordinator (processes still
   running the old deploy). Other legacy, shadow and rollback time: the period's
   `v3_share` (a leak; default 0; not allowed where full mode or a straggler window
   overlaps the period) by the coordinator, in mode active like any coordinator
   booking, mirror events included. The coordinator's count is
   an exact quota k = apportion(n, {v3: share, legacy: 1 - share}) (a tie of
   remainders goes to V3), and the two are interleaved by smooth weighted round
   robin (rule 3), V3 first on a tie.
3. The outcome classes of the coordinator's k bookings (the period's `outcomes`,
   else the section's) and of the legacy planner's n - k (the period's
   `legacy_outcomes`, else the section's) are exact quotas (largest remainder, ties
   in the order of the YAML mapping), ordered by smooth weighted round robin.
4. Extra coordinator calls that decide nothing, taken evenly (no randomness) over
   the section's coordinator bookings in time order: `lock_contention_share` of
   them get a lock_contention call 3 s after their last event, and
   `noop_share` of those left in a terminal state (confirmed, manual_review; an
   invalid_transition booking counts as confirmed) a noop call 5 s after. `missing`
   and `stuck` bookings take no extra call and do not count towards either share.
5. Noise rows (other sources) make up `noise_share` of all rows, uniformly spread.

Outcome classes, V3 coordinator (`outcomes`), after the booking's creation and its
transitions created -> capacity_verified -> assignment_pending:
  confirmed, manual_review, retry, error, circuit_open: one processBooking call
    ending in that event (retry leaves the booking in assignment_pending, error in
    assignment_in_progress, circuit_open in assignment_pending);
  circuit_open_recovered, error_recovered: that outcome, then 120 s later a call
    that confirms;
  missing: no coordinator event at all (a telemetry gap);
  stuck: coordinator.start and lock_acquired, the transition to
    assignment_in_progress, then nothing: no outcome, never decided;
  invalid_transition: confirmed, then 2 s after the confirmed transition a
    transition confirmed -> assignment_pending (not allowed: confirmed is terminal),
    which also leaves the booking in a non-terminal state.
Legacy planner (`legacy_outcomes`): succeeded, failed, and missing (the booking is
created but no legacy event and no transition follows; counted as `legacy_missing` in
a load's summary, apart from the coordinator's `missing`).

Every booking begins with the application's `booking.creation.success` (source
`capacity.transaction`), its ids only in context (`bookingId`, `restaurantId`, `duplicate`
false) and the row's booking_id and restaurant_id columns NULL.

Only the V3 coordinator writes `assignment.*` events: legacy, shadow and rollback
time write none (spec/telemetry.md, "Shadow mode runs nothing") except for the
leaked and straggler bookings of rule 2. Event names come from params/taxonomy.yaml.
"""

from __future__ import annotations

import difflib
import gc
import hashlib
import json
import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import psycopg
from psycopg import sql
from psycopg.types.json import set_json_dumps
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from ..config import flags, ledger
from ..config import params as config
from ..core import layout, timefmt
from ..core.errors import UsageError
from ..gates import RUNBOOK_ORDER
from ..ops import admin
from ..telemetry.db import redact_url

# --- scenario files -------------------------------------------------------------------------

# The outcome classes, described in the module docstring.
V3Class = Literal[
    "confirmed",
    "manual_review",
    "retry",
    "error",
    "circuit_open",
    "circuit_open_recovered",
    "error_recovered",
    "missing",
    "stuck",
    "invalid_transition",
]
LegacyClass = Literal["succeeded", "failed", "missing"]
Phase = Literal["legacy", "shadow", "full", "rollback"]  # all but full run the legacy planner
V3_CLASSES: tuple[str, ...] = get_args(V3Class)
LEGACY_CLASSES: tuple[str, ...] = get_args(LegacyClass)

_ZERO_WORDS = {"0", "0s", "0m", "0h", "0d"}


def _parse_offset(value: Any) -> timedelta:
    """A duration before `end`, like 50h or 45m; 0 (or 0h) is `end` itself."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        return timedelta(0)
    if isinstance(value, str) and value.strip().replace(" ", "") in _ZERO_WORDS:
        return timedelta(0)
    return timefmt.parse_duration(value)


def _fmt(offset: timedelta) -> str:
    return timefmt.format_duration(offset) if offset else "0h"


Offset = Annotated[timedelta, BeforeValidator(_parse_offset)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]


def _sums_to_one(mix: dict[str, float]) -> dict[str, float]:
    total = sum(mix.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"shares must sum to 1, got {total:g}")
    return mix


V3Mix = Annotated[dict[V3Class, Share], AfterValidator(_sums_to_one)]
LegacyMix = Annotated[dict[LegacyClass, Share], AfterValidator(_sums_to_one)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimelineEntry(_Model):
    """A phase that starts `start` before `end` and runs until the next one starts.

    A rollback may leave `straggler_share` of the bookings of its first `stragglers`
    to the coordinator (processes still running the old deploy). `ledger_at`, when
    given, is when the flag ledger records the switch (a change recorded late), so
    that flags and telemetry disagree.
    """

    phase: Phase
    start: Offset
    stragglers: Offset = timedelta(0)
    straggler_share: Share = 0.0
    ledger_at: Offset | None = None

    @model_validator(mode="after")
    def _stragglers_in_a_rollback(self) -> TimelineEntry:
        if not (self.stragglers or self.straggler_share):
            return self
        if self.phase != "rollback":
            raise ValueError(
                f"stragglers and straggler_share apply to a rollback, not to a {self.phase} phase"
            )
        if not (self.stragglers and self.straggler_share):
            raise ValueError("stragglers and straggler_share go together: give both or neither")
        if self.stragglers > self.start:
            raise ValueError(
                f"stragglers {_fmt(self.stragglers)} outlast `end` "
                f"(the rollback starts {_fmt(self.start)} before it)"
            )
        return self

    @property
    def stragglers_end(self) -> timedelta:
        """The offset before `end` at which the straggler window closes."""
        return self.start - self.stragglers


class Period(_Model):
    """Overrides for bookings created in [end - start, end - end)."""

    start: Offset
    end: Offset
    outcomes: V3Mix | None = None
    legacy_outcomes: LegacyMix | None = None
    bookings_per_hour: Annotated[float, Field(ge=0.0)] | None = None
    v3_share: Share | None = None  # outside full mode: that share leaks to the coordinator

    @model_validator(mode="after")
    def _start_before_end(self) -> Period:
        if self.start <= self.end:
            raise ValueError(
                "start must be further before `end` than end "
                f"(got start {_fmt(self.start)}, end {_fmt(self.end)})"
            )
        return self


class MaxParallel(_Model):
    """FEATURE_ASSIGNMENT_PIPELINE_V3_MAX_PARALLEL set to `value` `at` before `end`."""

    at: Offset
    value: Annotated[int, Field(ge=1, le=50)]


class EnvironmentScenario(_Model):
    timeline: Annotated[list[TimelineEntry], Field(min_length=1)]
    bookings_per_hour: Annotated[float, Field(ge=0.0)]
    outcomes: V3Mix
    legacy_outcomes: LegacyMix
    noise_share: Annotated[float, Field(ge=0.0, lt=1.0)]
    lock_contention_share: Share
    noop_share: Share
    periods: list[Period] = []
    max_parallel: list[MaxParallel] = []

    @model_validator(mode="after")
    def _consistent(self) -> EnvironmentScenario:
        starts = [entry.start for entry in self.timeline]
        if any(later >= earlier for earlier, later in zip(starts, starts[1:], strict=False)):
            raise ValueError("timeline: each phase must start closer to `end` than the one before")
        if starts[-1] <= timedelta(0):
            raise ValueError("timeline: the last phase must start before `end`")
        ordered = sorted(self.periods, key=lambda p: p.start, reverse=True)
        for earlier, later in zip(ordered, ordered[1:], strict=False):
            if later.start > earlier.end:
                raise ValueError(
                    f"periods overlap: {_fmt(earlier.start)}-{_fmt(earlier.end)} "
                    f"and {_fmt(later.start)}-{_fmt(later.end)}"
                )
        for entry, following in zip(self.timeline, [*self.timeline[1:], None], strict=True):
            closes = following.start if following else timedelta(0)
            if entry.stragglers and entry.stragglers_end < closes:
                raise ValueError(
                    f"timeline: the rollback at {_fmt(entry.start)} has stragglers "
                    f"{_fmt(entry.stragglers)}, past the next phase at {_fmt(closes)}"
                )
        for period in self.periods:
            if period.v3_share:
                self._check_leak(period)
        return self

    def _check_leak(self, period: Period) -> None:
        """A v3_share only where the legacy planner runs: not in full mode, not among stragglers."""
        span = f"{_fmt(period.start)}-{_fmt(period.end)}"
        for entry, following in zip(self.timeline, [*self.timeline[1:], None], strict=True):
            closes = following.start if following else timedelta(0)
            if entry.phase == "full" and period.start > closes and period.end < entry.start:
                raise ValueError(
                    f"period {span}: v3_share applies outside full mode, but overlaps the "
                    f"full phase from {_fmt(entry.start)}"
                )
            if (
                entry.stragglers
                and period.start > entry.stragglers_end
                and period.end < entry.start
            ):
                raise ValueError(
                    f"period {span}: v3_share overlaps the straggler window of the rollback "
                    f"at {_fmt(entry.start)} (its straggler_share applies there)"
                )

    @property
    def duration(self) -> timedelta:
        return self.timeline[0].start


class Checkpoint(_Model):
    """A gate run the demo makes `at` before `end` (`rollout-gates run GATE --as-of ...`)."""

    gate: str
    at: Offset
    env: Literal["staging", "production"] | None = None  # None: the gate's own environment
    set: dict[str, str] = {}  # --set KEY=VALUE overrides, e.g. attestations
    note: str | None = None

    @model_validator(mode="after")
    def _known_gate_on_a_whole_second(self) -> Checkpoint:
        if self.gate not in RUNBOOK_ORDER:
            close = difflib.get_close_matches(self.gate, RUNBOOK_ORDER, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"unknown gate {self.gate!r}{hint} (known: {', '.join(RUNBOOK_ORDER)})"
            )
        if self.at.microseconds:
            raise ValueError(f"at {self.at} is not a whole number of seconds before `end`")
        return self


class Scenario(_Model):
    """A simulated rollout (params/scenarios/<name>.yaml)."""

    name: str = ""  # set from the file name by load_scenario
    description: str
    seed: int
    production: EnvironmentScenario
    staging: EnvironmentScenario
    checkpoints: list[Checkpoint] = []

    @model_validator(mode="after")
    def _checkpoints_within_the_timelines(self) -> Scenario:
        for index, checkpoint in enumerate(self.checkpoints):
            envs = [checkpoint.env] if checkpoint.env else list(config.ENVIRONMENTS)
            longest = max(self.section(env).duration for env in envs)
            if checkpoint.at > longest:
                raise ValueError(
                    f"checkpoints[{index}] ({checkpoint.gate}): at {_fmt(checkpoint.at)} is "
                    f"before the timeline starts ({_fmt(longest)} before `end`)"
                )
        return self

    def section(self, env: str) -> EnvironmentScenario:
        return getattr(self, config.check_env(env))


def scenarios_dir() -> Path:
    return layout.params_dir() / "scenarios"


def list_scenarios() -> list[str]:
    directory = scenarios_dir()
    return sorted(path.stem for path in directory.glob("*.yaml")) if directory.is_dir() else []


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A scenario by name (params/scenarios/NAME.yaml) or by path to a YAML file."""
    text = str(name_or_path)
    looks_like_path = (
        isinstance(name_or_path, Path) or "/" in text or text.endswith((".yaml", ".yml"))
    )
    path = Path(text) if looks_like_path else scenarios_dir() / f"{text}.yaml"
    if not path.is_file():
        available = list_scenarios()
        hint = difflib.get_close_matches(path.stem, available, n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        what = f"no scenario file {path}" if looks_like_path else f"unknown scenario {text!r}"
        raise UsageError(
            f"{what}{suggestion} (available: {', '.join(available) or 'none'}, "
            f"in {scenarios_dir()})"
        )
    data = config.read_yaml(path)
    if "name" in data:
        raise UsageError(f"invalid scenario {path}: name: a scenario is named by its file name")
    try:
        return Scenario.model_validate({**data, "name": path.stem})
    except ValidationError as exc:
        problems = "; ".join(
            f"{_location(err['loc'])}: {err['msg']}"
            + (f" (got {err['input']!r})" if _short_input(err.get("input")) else "")
            for err in exc.errors()
        )
        raise UsageError(f"invalid scenario {path}: {problems}") from None


def _location(loc: tuple) -> str:
    parts = []
    for part in loc:
        if part == "[key]":
            parts[-1] = f"{parts[-1]} (key)"
        elif isinstance(part, int):
            parts.append(f"[{part}]")
        elif not isinstance(part, str) or part.startswith(("function-", "nullable", "dict[")):
            continue
        else:
            parts.append(part)
    return ".".join(parts).replace(".[", "[") or "scenario"


def _short_input(value: Any) -> bool:
    return value is not None and not isinstance(value, dict | list) and len(repr(value)) < 80


# --- generation ------------------------------------------------------------------------------

Row = tuple[uuid.UUID, datetime, str, str, str, str | None, uuid.UUID | None, uuid.UUID | None]

COPY_COLUMNS = (
    "id",
    "created_at",
    "source",
    "event_type",
    "severity",
    "context",
    "restaurant_id",
    "booking_id",
)

COPY_TYPES = ("uuid", "timestamptz", "text", "text", "text", "jsonb", "uuid", "uuid")

# Events the taxonomy does not name (spec/telemetry.md, legacy planner), and noise.
NOISE_CONFLICT = ("capacity", "capacity.rpc.conflict", "warning")
NOISE_OTHER = (
    ("auth", "auth.session.refreshed", "info"),
    ("auth", "auth.login.failed", "warning"),
    ("email", "email.confirmation.sent", "info"),
    ("email", "email.delivery.deferred", "warning"),
)
TRIGGERS = ("inline_creation", "creation", "modification")
RESTAURANT_POOL = 12
BACKGROUND_SUCCESS_SHARE = 0.3  # legacy successes that go through the background job
RECOVERY_DELAY_S = 120.0  # circuit_open / error, then a new call that confirms
INVALID_TRANSITION_DELAY_S = 2.0  # invalid_transition: after the confirmed transition
LOCK_TTL_MS = 30000
EXTRA_CALL_DELAY_S = {"lock_contention": 3.0, "noop": 5.0}

_STRATEGIES = ("optimal", "greedy", "adjacent_tables")
_REVIEW_REASONS = ("no_capacity", "party_too_large", "max_attempts_exceeded")
_RETRY_DELAYS_MS = (5000, 15000, 30000, 60000)
_RETRY_REASONS = ("rate_limited", "hold_conflict", "supabase timeout after 8000ms")
_ERROR_MESSAGES = (
    "Connection terminated unexpectedly",
    "confirm_hold_assignment returned no rows",
    "TypeError: Cannot read properties of undefined (reading 'tableIds')",
)
_ATTEMPT_REASONS = (("no_tables_available", "NO_CAPACITY"), ("hold_conflict", "HOLD_CONFLICT"))


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))  # version and variant bits
_UUID_SET = (4 << 76) | (0x8000 << 48)  # version 4, RFC 4122 variant
_new_object, _set_attribute = object.__new__, object.__setattr__


def uuid4_from_bits(bits: int) -> uuid.UUID:
    """uuid.UUID(int=bits, version=4), without the constructor's checks (4x faster)."""
    value = _new_object(uuid.UUID)
    _set_attribute(value, "int", (bits & _UUID_CLEAR) | _UUID_SET)
    _set_attribute(value, "is_safe", uuid.SafeUUID.unknown)
    return value


_dumps: Callable[[dict], str] = json.JSONEncoder(separators=(",", ":")).encode


@dataclass(frozen=True)
class _Names:
    """Coordinator and state machine event names, from params/taxonomy.yaml."""

    coordinator: str
    start: str
    active: str
    outcome: dict[str, str]
    lock_acquired: str
    rate_permit: str
    lock_contention: str
    noop: str
    state_machine: str
    transition: str
    job_source: str
    inline_source: str
    job_started: str
    job_succeeded: str
    job_failed: str
    inline_succeeded: str
    mirror_trigger: str
    arrivals_source: str
    booking_created: str
    booking_id_key: str  # the creation event carries the ids in context, the columns NULL
    restaurant_id_key: str
    duplicate_key: str

    @classmethod
    def from_taxonomy(cls, taxonomy: dict) -> _Names:
        try:
            coordinator = taxonomy["coordinator"]
            state_machine = taxonomy["state_machine"]
            legacy = taxonomy["legacy"]
            arrivals = taxonomy["arrivals"]
            [booking_id_key] = arrivals["booking_id_path"]  # a top-level key: written flat
            [restaurant_id_key] = arrivals["restaurant_id_path"]
            [duplicate_key] = arrivals["duplicate_path"]
            calls = coordinator["non_outcomes"]
            inline_source = legacy["inline_source"]
            [job_source] = [source for source in legacy["sources"] if source != inline_source]

            return cls(
                coordinator=coordinator["source"],
                start=coordinator["start"],
                active=coordinator["active_mode"],
                outcome=dict(coordinator["outcomes"]),
                lock_acquired=calls["lock_acquired"],
                rate_permit=calls["rate_permit_acquired"],
                lock_contention=calls["lock_contention"],
                noop=calls["noop"],
                state_machine=state_machine["source"],
                transition=state_machine["transition"],
                job_source=job_source,
                inline_source=inline_source,
                job_started=legacy["started"],
                job_succeeded=legacy["succeeded"],
                job_failed=legacy["failed"],
                inline_succeeded=legacy["inline_succeeded"],
                mirror_trigger=legacy["coordinator_trigger"],
                arrivals_source=arrivals["source"],
                booking_created=arrivals["created"],
                booking_id_key=booking_id_key,
                restaurant_id_key=restaurant_id_key,
                duplicate_key=duplicate_key,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"params/taxonomy.yaml lacks {exc} needed by the simulator") from None


@dataclass(frozen=True)
class _Segment:
    start_s: float  # seconds after the timeline start
    end_s: float
    phase: str
    rate: float
    v3_share: float  # of the bookings, handled by the coordinator (rule 2)
    v3_mix: dict[str, float]
    legacy_mix: dict[str, float]


def _env_hash(env: str) -> int:
    return int.from_bytes(hashlib.sha256(env.encode()).digest()[:8], "big")


def _segments(section: EnvironmentScenario) -> list[_Segment]:
    """[timeline start, end) cut at phase starts, period bounds and straggler window ends."""
    span = section.duration.total_seconds()

    def at(offset: timedelta) -> float:
        return min(max(span - offset.total_seconds(), 0.0), span)

    phase_starts = [(at(entry.start), entry.phase) for entry in section.timeline]
    stragglers = [
        (at(entry.start), at(entry.stragglers_end), entry.straggler_share)
        for entry in section.timeline
        if entry.stragglers
    ]
    periods = [(at(p.start), at(p.end), p) for p in section.periods]
    cuts = {0.0, span, *(s for s, _ in phase_starts)}
    for start, end, _ in (*periods, *stragglers):
        cuts.update((start, end))
    bounds = sorted(cuts)
    segments = []
    for seg_start, seg_end in zip(bounds, bounds[1:], strict=False):
        if seg_end <= seg_start:
            continue
        phase = [name for start, name in phase_starts if start <= seg_start][-1]
        period = next((p for start, end, p in periods if start <= seg_start < end), None)
        rate = section.bookings_per_hour
        if period is not None and period.bookings_per_hour is not None:
            rate = period.bookings_per_hour
        v3_mix = period.outcomes if period is not None and period.outcomes else section.outcomes
        legacy_mix = section.legacy_outcomes
        if period is not None and period.legacy_outcomes:
            legacy_mix = period.legacy_outcomes
        straggling = [share for start, end, share in stragglers if start <= seg_start < end]
        if phase == "full":
            v3_share = 1.0
        elif straggling:
            v3_share = straggling[0]
        else:
            v3_share = (period.v3_share if period is not None else None) or 0.0
        segments.append(
            _Segment(seg_start, seg_end, phase, rate, v3_share, dict(v3_mix), dict(legacy_mix))
        )
    return segments


def apportion(n: int, mix: dict[str, float]) -> dict[str, int]:
    """Exact counts of n over the mix: largest remainder, ties in the mapping's order."""
    total = sum(mix.values())
    quotas = {name: n * share / total for name, share in mix.items()}
    counts = {name: math.floor(quota + 1e-9) for name, quota in quotas.items()}
    left = n - sum(counts.values())
    order = sorted(
        enumerate(mix), key=lambda item: (-round(quotas[item[1]] - counts[item[1]], 9), item[0])
    )
    for _, name in order[:left]:
        counts[name] += 1
    return counts


def smooth_round_robin(counts: dict[str, int]) -> list[str]:
    """nginx's smooth weighted round robin: each class spread evenly over the sequence."""
    n = sum(counts.values())
    credit = dict.fromkeys(counts, 0)
    sequence = []
    for _ in range(n):
        for name, count in counts.items():
            credit[name] += count
        best = max(credit, key=lambda name: credit[name])  # first maximum: mapping order
        credit[best] -= n
        sequence.append(best)
    return sequence


class _Spread:
    """Picks `share` of the items it is asked about, evenly and without randomness."""

    def __init__(self, share: float):
        self.share = share
        self.credit = 0.0

    def take(self) -> bool:
        self.credit += self.share
        if self.credit >= 1.0 - 1e-9:
            self.credit -= 1.0
            return True
        return False


@dataclass(slots=True)
class _Booking:
    id: uuid.UUID
    restaurant: uuid.UUID
    trigger: str
    state: str = "created"
    version: int = 0
    transitioned_s: float = 0.0  # when its latest transition was written


# The summary counts bookings by class; the legacy planner's `missing` is told apart.
_LEGACY_SUMMARY_KEY = {"missing": "legacy_missing"}


@dataclass
class _Generation:
    rows: list[Row]
    bookings: dict[str, int]
    start: datetime
    end: datetime


_by_time = itemgetter(1)


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def flag_changes(scenario: Scenario, env: str, end: datetime) -> list[ledger.FlagChange]:
    """The flag ledger the `env` timeline implies, oldest first, by "simulator".

    At each phase start the runbook's commands for that phase (params/flags.yaml): a
    shadow sets V3=false, SHADOW=true, MAX_PARALLEL=3; a full V3=true, SHADOW=false,
    MAX_PARALLEL=3; a rollback V3=false, SHADOW=false. A legacy phase sets nothing.
    Then every `max_parallel` entry. V3 and SHADOW are recorded whenever a phase sets
    them (the runbook runs the command), MAX_PARALLEL only when its value changes;
    `old` is the value before (None the first time). Only changes at or before `end`.
    """
    end = _as_utc(end)
    section = scenario.section(env)
    variables = flags.load_flag_matrix()["variables"]
    steps = []  # (offset before end, variable, value), in the order they are applied
    for entry in section.timeline:
        for variable, values in variables.items():
            if entry.phase in values:
                recorded = entry.start if entry.ledger_at is None else entry.ledger_at
                steps.append((recorded, variable, str(values[entry.phase])))
    steps += [(entry.at, ledger.MAX_PARALLEL, str(entry.value)) for entry in section.max_parallel]
    steps.sort(key=lambda step: -step[0])  # stable: phase commands before max_parallel entries
    current: dict[str, str] = {}
    changes = []
    for offset, variable, value in steps:
        old = current.get(variable)
        current[variable] = value
        if variable == ledger.MAX_PARALLEL and old == value:
            continue
        at = end - offset
        if at <= end:
            changes.append(ledger.FlagChange(at, variable, value, old, by="simulator"))
    return changes


def generate_events(scenario: Scenario, env: str, end: datetime) -> list[Row]:
    """The rows of the scenario's `env` section ending at `end` (naive times are UTC).

    Pure and deterministic: the same scenario, env and end give the same rows, sorted
    by created_at. Events that would fall after `end` are left out.
    """
    return _generate(scenario, env, end).rows


def _generate(scenario: Scenario, env: str, end: datetime) -> _Generation:
    collecting = gc.isenabled()
    gc.disable()  # hundreds of thousands of tuples: the cyclic collector only slows this down
    try:
        return _Generator(scenario, env, _as_utc(end)).run()
    finally:
        if collecting:
            gc.enable()


class _Generator:
    """One environment's rows; every random draw comes from one seeded generator, in order."""

    def __init__(self, scenario: Scenario, env: str, end: datetime):
        self.section = scenario.section(env)
        self.names = _Names.from_taxonomy(config.load_taxonomy())
        self.end = end
        self.origin = end - self.section.duration
        self.rng = random.Random(scenario.seed + _env_hash(env))
        self.rows: list[Row] = []
        self.restaurants = [self.uuid() for _ in range(RESTAURANT_POOL)]
        self.lock_spread = _Spread(self.section.lock_contention_share)
        self.noop_spread = _Spread(self.section.noop_share)
        self.background_spread = _Spread(BACKGROUND_SUCCESS_SHARE)
        legacy_keys = (_LEGACY_SUMMARY_KEY.get(name, name) for name in LEGACY_CLASSES)
        self.bookings = dict.fromkeys((*V3_CLASSES, *legacy_keys), 0)

    def uuid(self) -> uuid.UUID:
        return uuid4_from_bits(self.rng.getrandbits(128))

    def emit(self, at_s, source, event_type, context, severity, restaurant, booking_id) -> None:
        created_at = self.origin + timedelta(seconds=at_s)
        if created_at <= self.end:
            context = None if context is None else _dumps(context)
            row = (self.uuid(), created_at, source, event_type, severity, context)
            self.rows.append((*row, restaurant, booking_id))

    def event(self, booking, at_s, source, event_type, context=None, severity="info") -> None:
        self.emit(at_s, source, event_type, context, severity, booking.restaurant, booking.id)

    # -- bookings --

    def run(self) -> _Generation:
        rng = self.rng
        for segment in _segments(self.section):
            seconds = segment.end_s - segment.start_s
            n = round(seconds / 3600 * segment.rate)
            if n == 0:
                continue
            slot = seconds / n
            v3 = apportion(n, {"v3": segment.v3_share, "legacy": 1.0 - segment.v3_share})["v3"]
            v3_outcomes = iter(smooth_round_robin(apportion(v3, segment.v3_mix)))
            legacy_outcomes = iter(smooth_round_robin(apportion(n - v3, segment.legacy_mix)))
            engines = smooth_round_robin({"v3": v3, "legacy": n - v3})
            for index, engine in enumerate(engines):
                at_s = segment.start_s + (index + 0.5) * slot + rng.uniform(-0.2, 0.2) * slot
                booking = _Booking(self.uuid(), rng.choice(self.restaurants), rng.choice(TRIGGERS))
                self.created(booking, at_s)
                if engine == "v3":
                    outcome = next(v3_outcomes)
                    self.bookings[outcome] += 1
                    self.v3_booking(booking, at_s, outcome)
                else:
                    outcome = next(legacy_outcomes)
                    self.bookings[_LEGACY_SUMMARY_KEY.get(outcome, outcome)] += 1
                    self.legacy_booking(booking, at_s, outcome)
        self.rows.sort(key=_by_time)
        self.rows.extend(self.noise())  # already in time order: the sort below merges two runs
        self.rows.sort(key=_by_time)
        return _Generation(
            rows=self.rows,
            bookings={name: count for name, count in self.bookings.items() if count},
            start=self.origin,
            end=self.end,
        )

    def created(self, booking, at_s) -> None:
        """booking.creation.success as the application writes it: ids in context only."""
        names = self.names
        context = {
            names.restaurant_id_key: str(booking.restaurant),
            names.booking_id_key: str(booking.id),
            names.duplicate_key: False,
            "utilizationPercent": booking.id.int % 100,  # no draw: the seeded sequence stays
        }
        self.emit(at_s, names.arrivals_source, names.booking_created, context, "info", None, None)

    def transition(self, booking, at_s, to_state, reason=None) -> None:
        booking.version += 1
        context = {
            "from": booking.state,
            "to": to_state,
            "version": booking.version,
            "metadata": {"reason": reason} if reason else {},
        }
        self.event(booking, at_s, self.names.state_machine, self.names.transition, context)
        booking.state = to_state
        booking.transitioned_s = at_s

    def v3_booking(self, booking, at_s, outcome) -> None:
        self.transition(booking, at_s + 0.1, "capacity_verified")
        self.transition(booking, at_s + 0.2, "assignment_pending")
        if outcome == "missing":  # a telemetry gap: the coordinator's events never arrive
            return
        if outcome == "stuck":  # the call hangs after taking the lock: never decided
            self.stalled_call(booking, at_s + 1.0)
            return
        first = {
            "circuit_open_recovered": "circuit_open",
            "error_recovered": "error",
            "invalid_transition": "confirmed",
        }
        last = self.call(booking, at_s + 1.0, first.get(outcome, outcome))
        if outcome in ("circuit_open_recovered", "error_recovered"):
            last = self.call(booking, last + RECOVERY_DELAY_S, "confirmed")
        terminal = booking.state in ("confirmed", "manual_review")
        if outcome == "invalid_transition":  # a defect: confirmed is terminal
            at = booking.transitioned_s + INVALID_TRANSITION_DELAY_S
            self.transition(booking, at, "assignment_pending")
        names = self.names
        if self.lock_spread.take():
            at = last + EXTRA_CALL_DELAY_S["lock_contention"]
            self.extra_call(booking, at, names.lock_contention, {}, "warning")
        if terminal and self.noop_spread.take():
            at = last + EXTRA_CALL_DELAY_S["noop"]
            self.extra_call(booking, at, names.noop, {"reason": "terminal_state"}, "info")

    def call(self, booking, at_s, kind) -> float:
        """One processBooking call ending in `kind`; returns the time of its last event."""
        rng, names, trigger = self.rng, self.names, booking.trigger
        source = names.coordinator
        start = {"mode": names.active, "trigger": trigger}
        self.emit(at_s, source, names.start, start, "info", None, booking.id)
        lock = {"ttl_ms": LOCK_TTL_MS, "trigger": trigger}
        self.event(booking, at_s + 0.05, source, names.lock_acquired, lock)
        if kind not in ("error", "circuit_open"):
            self.event(booking, at_s + 0.1, source, names.rate_permit, {"trigger": trigger})
        duration_ms = rng.randint(150, 2500)
        attempts = rng.randint(1, 5)
        done = at_s + 0.1 + duration_ms / 1000
        severity, mirror, reason = "info", None, None
        if kind == "confirmed":
            strategy = rng.choice(_STRATEGIES)
            context = {"strategy": strategy, "attempts": attempts, "duration_ms": duration_ms}
            mirror_context = {"attempt_index": attempts - 1, "durationMs": duration_ms}
            mirror = (names.job_succeeded, "info", mirror_context)
        elif kind == "manual_review":
            reason = rng.choice(_REVIEW_REASONS)
            context = {"reason": reason, "attempts": attempts, "duration_ms": duration_ms}
            mirror = ("auto_assign.manual_review", "info", {"reason": reason})
        elif kind == "retry":
            reason, delay_ms = rng.choice(_RETRY_REASONS), rng.choice(_RETRY_DELAYS_MS)
            context = {"reason": reason, "delay_ms": delay_ms}
            context.update(attempts=attempts, duration_ms=duration_ms)
            severity = "warning"
            mirror_context = {"reason": reason, "delay_ms": delay_ms}
            mirror = ("auto_assign.retry_scheduled", "warning", mirror_context)
        elif kind == "error":
            context, severity = {"message": rng.choice(_ERROR_MESSAGES)}, "error"
        else:  # circuit_open: the breaker rejects the booking before any permit
            context, severity = {"delay_ms": int(RECOVERY_DELAY_S * 1000)}, "warning"
        context["trigger"] = trigger
        self.event(booking, done, source, names.outcome[kind], context, severity)
        last = done
        if kind != "circuit_open":
            if booking.state == "assignment_pending":
                last += 0.01
                self.transition(booking, last, "assignment_in_progress")
            following = {
                "confirmed": ("assigned", "confirmed"),
                "manual_review": ("manual_review",),
                "retry": ("assignment_pending",),
            }.get(kind, ())  # error: stuck in assignment_in_progress
            for to_state in following:
                last += 0.01
                self.transition(booking, last, to_state, reason)
        if mirror:
            last = done + 0.05
            event_type, mirror_severity, mirror_context = mirror
            mirror_context["trigger"] = names.mirror_trigger
            source = names.job_source
            self.event(booking, last, source, event_type, mirror_context, mirror_severity)
        return last

    def stalled_call(self, booking, at_s) -> None:
        """A call that takes the lock, moves the booking to assignment_in_progress and hangs."""
        names, trigger = self.names, booking.trigger
        start = {"mode": names.active, "trigger": trigger}
        self.emit(at_s, names.coordinator, names.start, start, "info", None, booking.id)
        lock = {"ttl_ms": LOCK_TTL_MS, "trigger": trigger}
        self.event(booking, at_s + 0.05, names.coordinator, names.lock_acquired, lock)
        self.transition(booking, at_s + 0.1, "assignment_in_progress")

    def extra_call(self, booking, at_s, event_type, context, severity) -> None:
        """A later call that decides nothing: start, then lock_contention or noop."""
        names = self.names
        start = {"mode": names.active, "trigger": booking.trigger}
        self.emit(at_s, names.coordinator, names.start, start, "info", None, booking.id)
        context = {**context, "trigger": booking.trigger}
        self.event(booking, at_s + 0.05, names.coordinator, event_type, context, severity)

    def legacy_booking(self, booking, at_s, outcome) -> None:
        """The legacy planner: no assignment.* event at all (shadow mode runs nothing)."""
        if outcome == "missing":  # the booking is made, the planner leaves no trace
            return
        rng, names = self.rng, self.names
        inline, job = names.inline_source, names.job_source
        inline_ms = rng.randint(150, 2500)
        background = outcome == "failed" or self.background_spread.take()
        quote = {"hasHold": not background, "durationMs": inline_ms}
        self.event(booking, at_s + 1.0, inline, "inline_auto_assign.quote_result", quote)
        at = at_s + 1.0 + inline_ms / 1000
        if not background:
            succeeded = {"durationMs": inline_ms}
            self.event(booking, at, inline, names.inline_succeeded, succeeded)
            return
        self.event(booking, at, inline, "inline_auto_assign.no_hold", {"reason": "no_hold"})
        at += 5.0
        started = {"status": "pending", "trigger": "creation"}
        self.event(booking, at, job, names.job_started, started)
        self.event(booking, at + 0.1, job, "auto_assign.quote", {"attempt_index": 0})
        job_ms = rng.randint(150, 2500)
        at += 0.1 + job_ms / 1000
        if outcome == "succeeded":
            succeeded = {"attempt_index": 0, "durationMs": job_ms}
            self.event(booking, at, job, names.job_succeeded, succeeded)
            summary = {"result": "succeeded"}
        else:
            attempts = rng.randint(1, 3)
            for index in range(attempts):
                reason, code = rng.choice(_ATTEMPT_REASONS)
                attempt = {"attempt_index": index, "reason": reason, "reasonCode": code}
                self.event(booking, at + index * 2.0, job, "auto_assign.attempt", attempt)
            at += (attempts - 1) * 2.0 + 0.05
            failed = {"attempts": attempts}
            self.event(booking, at, job, names.job_failed, failed, "warning")
            summary = {"result": "exhausted"}
        self.event(booking, at + 0.05, job, "auto_assign.summary", summary)

    # -- noise --

    def noise(self) -> list[Row]:
        """Rows of other sources, `noise_share` of all rows, uniformly over the timeline."""
        share = self.section.noise_share
        count = round(len(self.rows) * share / (1 - share))
        span = self.section.duration.total_seconds()
        pool = self.restaurants
        contexts = [
            _dumps({"rpc": rpc, "code": code})
            for rpc in ("confirm_hold_assignment", "create_hold", "release_hold")
            for code in ("P0001", "23P01")
        ]
        # Every (source, event_type, severity, context, restaurant_id, booking_id) a row can have.
        conflicts = [(*NOISE_CONFLICT, c, r, None) for c in contexts for r in pool]
        contexts = [_dumps({"channel": channel}) for channel in ("web", "widget", "api")]
        others = [
            (source, event_type, severity, c, r if source == "email" else None, None)
            for source, event_type, severity in NOISE_OTHER
            for c in contexts
            for r in pool
        ]
        origin, random_, getrandbits = self.origin, self.rng.random, self.rng.getrandbits
        new, set_, unknown = _new_object, _set_attribute, uuid.SafeUUID.unknown
        rows: list[Row] = []
        append = rows.append
        for at_s in sorted([random_() * span for _ in range(count)]):
            bits = getrandbits(32)  # one draw for the kind of row
            kind = conflicts[(bits >> 10) % len(conflicts)] if bits % 1000 < 900 else None
            kind = kind or others[(bits >> 10) % len(others)]
            row_id = new(uuid.UUID)  # uuid4_from_bits, inlined
            set_(row_id, "int", (getrandbits(128) & _UUID_CLEAR) | _UUID_SET)
            set_(row_id, "is_safe", unknown)
            append((row_id, origin + timedelta(seconds=at_s), *kind))
        return rows


# --- loading ---------------------------------------------------------------------------------

MARKER_TABLE = "rollout_gates_simulation"
_MARKER_DDL = f"""
CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (
    scenario    text        NOT NULL,
    env         text        NOT NULL,
    seed        bigint      NOT NULL,
    description text,
    end_at      timestamptz NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    events      bigint      NOT NULL
)
"""


@dataclass(frozen=True)
class SimulationSummary:
    scenario: str
    env: str
    start: datetime
    end: datetime
    rows: int
    bookings: dict[str, int] = field(default_factory=dict)  # by outcome class
    elapsed: float = 0.0  # seconds, generation and load

    def describe(self) -> str:
        mix = ", ".join(f"{name} {count}" for name, count in self.bookings.items())
        return (
            f"{self.env}: scenario {self.scenario}, {self.rows} events from "
            f"{self.start:%Y-%m-%d %H:%M:%S%z} to {self.end:%Y-%m-%d %H:%M:%S%z} "
            f"(bookings: {mix}) in {self.elapsed:.1f}s"
        )


def simulate(
    db_url: str,
    scenario_name: str,
    env: str = "production",
    end: datetime | None = None,
    *,
    force: bool = False,
    append: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SimulationSummary:
    """Replace observability_events in the database with the scenario's `env` section.

    `end` defaults to the server's now(), to the second. Refuses to touch rows the
    simulator did not write (no rollout_gates_simulation table) unless `force`.
    With `append`, the events are added to those already loaded (an incident that
    starts while a watch is running), and the simulation is named after both.
    """
    began = time.perf_counter()
    say = progress or (lambda _message: None)
    config.check_env(env)
    scenario = load_scenario(scenario_name)
    with admin.writable_connection(db_url) as connection:
        if _missing(connection, "observability_events"):
            admin.apply_schema(connection)
        if end is None:
            end = connection.execute("SELECT date_trunc('second', now())").fetchone()[0]
        if not force:
            _refuse_real_telemetry(connection, db_url)
        say(f"{env}: generating scenario {scenario.name} up to {_as_utc(end):%Y-%m-%d %H:%M:%SZ}")
        generation = _generate(scenario, env, end)
        generated = time.perf_counter()
        say(f"{env}: {len(generation.rows)} events generated in {generated - began:.1f}s; loading")
        connection.execute(_MARKER_DDL)
        label = scenario.name
        if append:
            loaded = connection.execute(
                f"SELECT scenario FROM {MARKER_TABLE} ORDER BY loaded_at DESC LIMIT 1"
            ).fetchone()
            label = f"{loaded[0]} + {scenario.name}" if loaded else scenario.name
            rebuild = []
        else:
            connection.execute(f"TRUNCATE observability_events, {MARKER_TABLE}")
            rebuild = _drop_indexes(connection)  # an index built afterwards is twice as fast
        columns = ", ".join(COPY_COLUMNS)
        copy_sql = f"COPY observability_events ({columns}) FROM STDIN (FORMAT BINARY)"
        with connection.cursor() as cursor:
            set_json_dumps(_already_encoded, cursor)  # contexts are JSON text already
            with cursor.copy(copy_sql) as copy:
                copy.set_types(COPY_TYPES)
                write_row = copy.write_row
                for row in generation.rows:
                    write_row(row)
        for statement in rebuild:
            connection.execute(statement)
        connection.execute(
            f"INSERT INTO {MARKER_TABLE} (scenario, env, seed, description, end_at, events)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (
                label,
                env,
                scenario.seed,
                scenario.description,
                generation.end,
                len(generation.rows),
            ),
        )
        connection.execute("ANALYZE observability_events")
        connection.commit()
    elapsed = time.perf_counter() - began
    say(f"{env}: {len(generation.rows)} events loaded in {elapsed - (generated - began):.1f}s")
    return SimulationSummary(
        scenario=scenario.name,
        env=env,
        start=generation.start,
        end=generation.end,
        rows=len(generation.rows),
        bookings=generation.bookings,
        elapsed=elapsed,
    )


def _drop_indexes(connection) -> list[sql.Composable]:
    """Drop observability_events' indexes and constraints on them; the statements that restore them.

    Inside the load's transaction: a failed load leaves them as they were. If one cannot be
    dropped (another table's foreign key depends on it), all are kept.
    """
    rows = connection.execute(
        """
        SELECT index.indexrelid::regclass::text, pg_get_indexdef(index.indexrelid),
               con.conname, pg_get_constraintdef(con.oid)
        FROM pg_index AS index
        LEFT JOIN pg_constraint AS con
               ON con.conindid = index.indexrelid AND con.conrelid = index.indrelid
        WHERE index.indrelid = 'observability_events'::regclass
        ORDER BY con.conname IS NULL, 1
        """
    ).fetchall()
    table = sql.Identifier("observability_events")
    drops, rebuild = [], []
    for index_name, index_definition, constraint, constraint_definition in rows:
        if constraint is None:
            drops.append(sql.SQL("DROP INDEX {}").format(sql.SQL(index_name)))
            rebuild.append(sql.SQL(index_definition))
        else:
            name = sql.Identifier(constraint)
            drops.append(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(table, name))
            rebuild.append(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    table, name, sql.SQL(constraint_definition)
                )
            )
    try:
        with connection.transaction():  # a savepoint
            for statement in drops:
                connection.execute(statement)
    except psycopg.errors.DependentObjectsStillReferenced:
        return []
    return rebuild


def _already_encoded(context: str) -> str:
    return context


def _missing(connection, table: str) -> bool:
    return connection.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None


def _refuse_real_telemetry(connection, db_url: str) -> None:
    simulated = (
        not _missing(connection, MARKER_TABLE)
        and connection.execute(f"SELECT EXISTS (SELECT 1 FROM {MARKER_TABLE})").fetchone()[0]
    )
    if simulated:
        return
    if not connection.execute("SELECT EXISTS (SELECT 1 FROM observability_events)").fetchone()[0]:
        return
    count = connection.execute("SELECT count(*) FROM observability_events").fetchone()[0]
    connection.rollback()
    raise UsageError(
        f"database {redact_url(db_url)} holds {count} events that were not written by the "
        "simulator; refusing to overwrite real telemetry (point --db-url at a scratch "
        "database, or pass --force to replace them)"
    )
