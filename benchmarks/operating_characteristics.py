"""`make oc`: operating characteristics of the gates' rate rules (issue 11, item 7).

Many simulated rollouts per cell, at 1.125, 20 and 200 bookings an hour, healthy (true
success 98.5%, manual review 0.5%, the failures isolated coordinator.error) and broken
(success 96%, 90%, 80%, 60%, every booking failing; or manual review 8%). Each gate is
judged at its cadence: full-health every 30 minutes, the 48h gates every 6 hours.

Replaying SQL for tens of thousands of rollouts is far too slow, so outcome counts are drawn
per 5-minute tick (numpy, seeded: Poisson arrivals, multinomial outcomes) and the gates' OWN
code judges them: the count path below builds each gate's Metrics dataclass from the counts
(`FullHealthMetrics`, `StabilityMetrics`, `SuccessMetrics`, `ScaleMetrics`) with the phase
start from a flag ledger, and calls the gate's `evaluate` with the parameters loaded from
params/defaults.yaml by the package's loader. tests/test_operating_characteristics.py shows,
on a scenario loaded into Postgres, that this path gives the same verdicts as
`rollout-gates replay`.

full-health's `evaluate` is memoized on the values of its metrics (counts, window lengths,
error buckets; not the timestamps, which only reach the detail text): the verdict is a pure
function of them, and at low volume the same counts recur thousands of times.

Writes benchmarks/results/operating_characteristics.json and prints a table against
DESIGN.md's targets ("Statistics: verdicts that hold at every volume").
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import multiprocessing
import os
import platform
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from rollout_gates.config import ledger
from rollout_gates.config import params as config
from rollout_gates.core import stats, timefmt
from rollout_gates.core.verdict import Status, gate_status
from rollout_gates.gates import full_extended, full_health, prerequisites, scale, success
from rollout_gates.rules import rates
from rollout_gates.telemetry import stability
from rollout_gates.telemetry.arrivals import Arrivals
from rollout_gates.telemetry.checklist import current_max_parallel, full_mode_start
from rollout_gates.telemetry.metrics import (
    FlagDisagreement,
    OutcomeSummary,
    Traffic,
    Window,
    bucket_starts,
)
from rollout_gates.telemetry.phase import ActiveStretch
from rollout_gates.telemetry.quality import TelemetryQuality
from rollout_gates.telemetry.transitions import StuckBookings, TransitionCount

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "operating_characteristics.json"

TICK = timedelta(minutes=5)  # the counts' resolution; every window and bucket is a multiple
HOUR = timedelta(hours=1)
ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)  # tick 0 of a simulated rollout: full mode starts

VOLUMES = (1.125, 20.0, 200.0)
HEALTHY = {"confirmed": 0.985, "manual_review": 0.005, "error": 0.010}
BROKEN = {
    "success 96%": {"confirmed": 0.96, "manual_review": 0.005, "error": 0.035},
    "success 90%": {"confirmed": 0.90, "manual_review": 0.005, "error": 0.095},
    "success 80%": {"confirmed": 0.80, "manual_review": 0.005, "error": 0.195},
    "success 60%": {"confirmed": 0.60, "manual_review": 0.005, "error": 0.395},
    "every booking failing": {"confirmed": 0.0, "manual_review": 0.0, "error": 1.0},
    "manual review 8%": {"confirmed": 0.91, "manual_review": 0.08, "error": 0.010},
}
OUTCOMES = ("confirmed", "manual_review", "error")

# The rate checks (stats.py / rates.py) of each gate, as opposed to count and state checks.
RATE_CHECKS = {
    "full-health": ("success_rate", "manual_review_rate"),
    "stability": ("success_rate", "manual_review_rate", "red_flag_hours"),
    "success": ("success_rate", "success_sustained", "manual_review_rate"),
    "scale": ("success_rate",),
}
GATES_48H = ("stability", "success", "scale")
GATE_NAMES = {
    "full-health": "full-health",
    "stability": "prerequisites / full-extended",
    "success": "success",
    "scale": "scale",
}


# --- per-tick counts and the count path ---------------------------------------------------


FIELDS = (
    "confirmed",
    "manual_review",
    "error",  # coordinator.error as the booking's outcome
    "unresolved",  # retry or circuit_open as the outcome: pending while younger than the grace
    "stuck",  # bookings left non-terminal without a decided outcome (a hung call; none drawn)
    "error_events",  # every coordinator.error event (an error_recovered booking has one too)
    "outcome_events",  # every coordinator outcome event: the denominator of the error share
    "circuit_opens",  # coordinator.circuit_open events
    "active_starts",  # coordinator.start with mode=active
    "activity",  # bookings created (activity from other sources than the coordinator)
    "transitions",  # booking.assignment_state_transition events (all allowed here)
)


@dataclass
class Counts:
    """Per-tick counts from `start` (tick 0); ticks before 0 and past the end hold nothing."""

    start: datetime
    arrays: dict[str, np.ndarray]
    cumulative: dict[str, np.ndarray] = field(init=False)

    def __post_init__(self):
        length = len(next(iter(self.arrays.values())))
        for name in FIELDS:
            self.arrays.setdefault(name, np.zeros(length, dtype=np.int64))
        self.cumulative = {
            name: np.concatenate([[0], np.cumsum(values)]) for name, values in self.arrays.items()
        }

    @property
    def length(self) -> int:
        return len(self.arrays["confirmed"])

    def at(self, tick: int) -> datetime:
        return self.start + tick * TICK

    def tick_of(self, moment: datetime) -> int:
        return ticks(moment - self.start)

    def total(self, name: str, first: int, end: int) -> int:
        first, end = min(max(first, 0), self.length), min(max(end, 0), self.length)
        return int(self.cumulative[name][end] - self.cumulative[name][first]) if end > first else 0

    def summary(self, first: int, end: int, as_of: int, grace: int) -> OutcomeSummary:
        """The outcomes in ticks [first, end) seen at tick `as_of` (pending: younger than grace)."""
        unresolved = self.total("unresolved", first, end)
        pending = self.total("unresolved", max(first, as_of - grace), end)
        return OutcomeSummary(
            confirmed=self.total("confirmed", first, end),
            manual_review=self.total("manual_review", first, end),
            error=self.total("error", first, end),
            unresolved=unresolved - pending,
            pending=pending,
        )

    def _sums(self, name: str, starts: np.ndarray, size: int) -> np.ndarray:
        """Sums over [start, start + size) for each start, ticks outside the data empty."""
        cumulative = self.cumulative[name]
        low = np.clip(starts, 0, self.length)
        high = np.clip(starts + size, 0, self.length)
        return cumulative[high] - cumulative[low]

    def buckets(self, name: str, first: int, end: int, size: int) -> list[int]:
        """Sums over consecutive buckets of `size` ticks from `first` (aligned to `end`)."""
        assert (end - first) % size == 0
        return self._sums(name, np.arange(first, end, size), size).tolist()

    def max_per_hour(self, name: str, first: int, end: int) -> int:
        """The most events in any hour of ticks inside [first, end) (a rolling hour in SQL)."""
        hour = ticks(HOUR)
        if end - first <= hour:
            return self.total(name, first, end)
        return int(self._sums(name, np.arange(first, end - hour + 1), hour).max())


def ticks(duration: timedelta) -> int:
    count, rest = divmod(duration, TICK)
    if rest:
        raise ValueError(f"{duration} is not a whole number of {TICK} ticks")
    return count


def window_of(counts: Counts, tick: int, length: timedelta) -> tuple[Window, int]:
    return Window.ending(counts.at(tick), length), tick - ticks(length)


def lookback_stretch(window: Window) -> ActiveStretch:
    """Telemetry's view of full mode, unused: every rollout here has a flag ledger."""
    return ActiveStretch(lookback=window)


def traffic(counts: Counts, first: int, end: int) -> Traffic:
    """V3's traffic: active starts, and bookings created in the window as the bookings with
    activity (all of them seen by the coordinator once it runs)."""
    starts = counts.total("active_starts", first, end)
    created = counts.total("activity", first, end)
    return Traffic(active_starts=starts, bookings_with_activity=created,
                   bookings_seen_by_coordinator=min(starts, created))  # fmt: skip


def full_health_metrics(
    counts: Counts, tick: int, params, changes: list[ledger.FlagChange]
) -> full_health.FullHealthMetrics:
    """full-health's metrics at `tick`, as its `collect` would read them from these events."""
    window, first = window_of(counts, tick, params.window)
    grace = ticks(params.outcome_grace)
    phase = full_mode_start(changes, lookback_stretch(window), window.end)
    widest = full_health.full_mode_window(window, phase, params.intensive_period)
    full_mode = None
    if widest is not None:
        full_mode = (widest, counts.summary(counts.tick_of(widest.start), tick, tick, grace))
    off = ledger.v3_off_intervals(changes, window.start, window.end, params.ledger_drain)
    flags = None
    if off is not None:
        active = sum(
            counts.total("active_starts", counts.tick_of(start), counts.tick_of(end))
            for start, end in off
        )
        flags = FlagDisagreement(active)
    seen = traffic(counts, first, tick)
    arrivals_before = None
    if not (
        seen.active_starts or seen.bookings_with_activity
    ):  # silence: judged on the rate before
        before = Window(window.start - params.intensive_period, window.start)
        count = counts.total("activity", counts.tick_of(before.start), first)
        arrivals_before = Arrivals(window=before, created=count)
    return full_health.FullHealthMetrics(
        window=window,
        outcomes=counts.summary(first, tick, tick, grace),
        phase=phase,
        full_mode=full_mode,
        error_buckets=counts.buckets("error_events", first, tick, ticks(params.error_bucket)),
        outcome_event_buckets=counts.buckets(
            "outcome_events", first, tick, ticks(params.error_bucket)
        ),
        circuit_opens_max_per_hour=counts.max_per_hour("circuit_opens", first, tick),
        circuit_opens=counts.total("circuit_opens", first, tick),
        traffic=seen,
        arrivals_before=arrivals_before,
        flags=flags,
        quality=TelemetryQuality(),
    )


def stability_metrics(
    counts: Counts, tick: int, params, changes: list[ledger.FlagChange], env: str
) -> stability.StabilityMetrics:
    window, first = window_of(counts, tick, params.window)
    grace = ticks(params.outcome_grace)
    phase = stability.resolve_phase_start(
        changes, stability.ActiveStarts(), window.end, env, stability.lookback_of(params)
    )
    hour = ticks(stability.RED_FLAG_BUCKET)
    hours = tuple(
        (start, counts.summary(counts.tick_of(start), counts.tick_of(start) + hour, tick, grace))
        for start in bucket_starts(window, stability.RED_FLAG_BUCKET)
    )
    return stability.StabilityMetrics(
        as_of=window.end,
        phase=phase,
        outcomes=counts.summary(first, tick, tick, grace),
        hours=hours,
        error_buckets=tuple(
            counts.buckets("error_events", first, tick, ticks(params.error_bucket))
        ),
        outcome_event_buckets=tuple(
            counts.buckets("outcome_events", first, tick, ticks(params.error_bucket))
        ),
        circuit_opens=counts.total("circuit_opens", first, tick),
        circuit_opens_max_per_hour=counts.max_per_hour("circuit_opens", first, tick),
    )


# The state machine's path of each outcome (spec/telemetry.md): all allowed transitions.
PATHS = {
    "confirmed": [("created", "capacity_verified"), ("capacity_verified", "assignment_pending"),
                  ("assignment_pending", "assignment_in_progress"),
                  ("assignment_in_progress", "assigned"), ("assigned", "confirmed")],
    "manual_review": [("created", "capacity_verified"), ("capacity_verified", "assignment_pending"),
                      ("assignment_pending", "assignment_in_progress"),
                      ("assignment_in_progress", "manual_review")],
    "error": [("created", "capacity_verified"), ("capacity_verified", "assignment_pending"),
              ("assignment_pending", "assignment_in_progress")],
}  # fmt: skip


def transition_counts(summary: OutcomeSummary) -> list[TransitionCount]:
    found = Counter()
    for outcome in OUTCOMES:
        for pair in PATHS[outcome]:
            found[pair] += getattr(summary, outcome)
    return [TransitionCount(a, b, n, n) for (a, b), n in found.items() if n]


def stuck_bookings(counts: Counts, first: int, tick: int, stuck_after: timedelta, observed: int):
    """Bookings left in a non-terminal state for longer than `stuck_after` without a decided
    outcome. An error leaves its booking in assignment_in_progress (the shipped code never
    reschedules it), but it is a decided failure, counted by the success rate: `failed`."""
    total = counts.total("stuck", first, tick - ticks(stuck_after))
    failed = counts.total("error", first, tick - ticks(stuck_after))
    listed = pd.DataFrame(
        {
            "booking_id": [f"simulated-{i}" for i in range(min(total, 3))],
            "last_state": "assignment_in_progress",
            "since": [counts.at(max(first, 0))] * min(total, 3),
        }
    )
    return StuckBookings(bookings_observed=observed, total=total, listed=listed, failed=failed)


def success_metrics(
    counts: Counts, tick: int, params, changes: list[ledger.FlagChange]
) -> success.SuccessMetrics:
    window, first = window_of(counts, tick, params.window)
    grace = ticks(params.outcome_grace)
    outcomes = counts.summary(first, tick, tick, grace)
    size = ticks(params.trend_bucket)
    return success.SuccessMetrics(
        phase=full_mode_start(changes, lookback_stretch(window), window.end),
        outcomes=outcomes,
        buckets=[
            (
                start,
                counts.summary(
                    counts.tick_of(start), counts.tick_of(start) + size, tick, grace
                ).success,
            )
            for start in bucket_starts(window, params.trend_bucket)
        ],  # fmt: skip
        error_buckets=counts.buckets("error_events", first, tick, ticks(params.error_bucket)),
        outcome_event_buckets=counts.buckets(
            "outcome_events", first, tick, ticks(params.error_bucket)
        ),
        circuit_opens_max_per_hour=counts.max_per_hour("circuit_opens", first, tick),
        circuit_opens=counts.total("circuit_opens", first, tick),
        transitions=transition_counts(outcomes),
        stuck=stuck_bookings(counts, first, tick, params.stuck_after, outcomes.decided),
    )


def scale_metrics(
    counts: Counts, tick: int, params, changes: list[ledger.FlagChange]
) -> scale.ScaleMetrics:
    window, first = window_of(counts, tick, params.window)
    return scale.ScaleMetrics(
        setting=current_max_parallel(params.max_parallel, changes, window.end),
        phase=full_mode_start(changes, lookback_stretch(window), window.end),
        outcomes=counts.summary(first, tick, tick, ticks(params.outcome_grace)),
    )


@dataclass(frozen=True)
class Look:
    """One judgement: the gate's status and each check's."""

    status: str
    checks: dict[str, str]


def look(checks) -> Look:
    return Look(str(gate_status(checks)), {c.id: str(c.status) for c in checks})


class Gates:
    """The gates' parameters (params/defaults.yaml through the package's loader) and their
    `evaluate`, applied to counts."""

    def __init__(self, memoize: bool = True):
        load = config.load_params
        self.full_health = load(full_health.FullHealthParams, "full-health", "production")
        self.full_extended = load(full_extended.FullExtendedParams, "full-extended", "production")
        self.prerequisites = load(prerequisites.PrerequisitesParams, "prerequisites", "staging")
        # The human items are given, as an operator would: the benchmark judges the data.
        self.success = load(
            success.SuccessParams,
            "success",
            "production",
            {"attest.no_customer_reports": "oc-benchmark", "attest.confirmation_emails": "oc"},
        )
        self.scale = load(scale.ScaleParams, "scale", "production")
        self.allowed = config.load_taxonomy()["state_machine"]["allowed"]
        shared = set(stability.StabilityParams.model_fields)
        self.stability_shared = all(
            getattr(self.full_extended, name) == getattr(self.prerequisites, name)
            for name in shared
        )
        self.memoize = memoize
        self._memo: dict = {}
        self.hits = self.misses = 0

    def judge_full_health(self, counts, tick, changes) -> Look:
        metrics = full_health_metrics(counts, tick, self.full_health, changes)
        extra = ()
        if EXTRA_WINDOWS:
            extra = tuple(extra_samples(counts, tick, metrics, self.full_health))
            EXTRA_SAMPLES[:] = extra
        if not self.memoize:
            return look(full_health.evaluate(metrics, self.full_health))
        longer = metrics.full_mode
        key = (
            tuple((s.hours, s.proportion) for s in extra),
            metrics.outcomes,
            None if longer is None else (longer[0].end - longer[0].start, longer[1]),
            tuple(metrics.error_buckets),
            metrics.circuit_opens_max_per_hour,
            metrics.circuit_opens,
            metrics.traffic,
            metrics.flags.active_starts if metrics.flags else None,
            metrics.phase.on,
        )
        found = self._memo.get(key)
        if found is None:
            self.misses += 1
            found = self._memo[key] = look(full_health.evaluate(metrics, self.full_health))
        else:
            self.hits += 1
        return found

    def judge(self, gate: str, counts, tick, changes) -> Look:
        if gate == "full-health":
            return self.judge_full_health(counts, tick, changes)
        if gate == "stability":
            metrics = stability_metrics(counts, tick, self.full_extended, changes, "production")
            return look(stability.evaluate(metrics, self.full_extended))
        if gate == "success":
            metrics = success_metrics(counts, tick, self.success, changes)
            checks = success.evaluate(metrics, self.success, self.allowed, counts.at(tick))
            return look(checks)
        if gate == "scale":
            metrics = scale_metrics(counts, tick, self.scale, changes)
            return look(scale.evaluate(metrics, self.scale, counts.at(tick)))
        raise ValueError(gate)


def ledger_for(full_start: datetime, max_parallel: str = "2") -> list[ledger.FlagChange]:
    """Shadow a day before full mode, V3 on at `full_start`, MAX_PARALLEL set with it."""
    return [
        ledger.FlagChange(full_start - timedelta(days=1), ledger.SHADOW, "true", "false", "oc"),
        ledger.FlagChange(full_start, ledger.V3, "true", "false", "oc"),
        ledger.FlagChange(full_start, ledger.MAX_PARALLEL, max_parallel, None, "oc"),
    ]


# --- simulation ----------------------------------------------------------------------------


def simulate(rng, per_hour: float, length: int, mixes) -> Counts:
    """Arrivals Poisson per tick, outcomes multinomial. `mixes`: [(from_tick, mix), ...].

    Every booking is decided within its tick (a coordinator call takes seconds); a failure
    is a coordinator.error that leaves the booking in assignment_in_progress (a decided
    failure, not a stuck booking: transitions.FAILURE_OUTCOMES).
    """
    arrivals = rng.poisson(per_hour * (TICK / HOUR), size=length)
    outcome = np.zeros((length, len(OUTCOMES)), dtype=np.int64)
    bounds = [start for start, _ in mixes] + [length]
    for (start, mix), end in zip(mixes, bounds[1:], strict=True):
        probabilities = np.array([mix[name] for name in OUTCOMES])
        outcome[start:end] = rng.multinomial(
            arrivals[start:end], probabilities / probabilities.sum()
        )
    confirmed, manual_review, error = outcome.T
    return Counts(
        ORIGIN,
        {
            "confirmed": confirmed,
            "manual_review": manual_review,
            "error": error,
            "error_events": error.copy(),
            "outcome_events": arrivals,
            "active_starts": arrivals,
            "activity": arrivals,
            "transitions": arrivals,
        },
    )


def generator(seed: int, *key) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *key]))


# --- the experiments -----------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    runs: int  # full-health healthy and broken, 48h healthy
    runs_48h_broken: int
    healthy_days: int  # full-health: 30 days of 30-minute looks
    healthy_48h_days: int  # the 48h gates' healthy rollouts
    broken_48h_days: int
    incident_within: timedelta  # the incident starts uniformly in [0, this) after full mode
    horizon: timedelta  # looks after the incident's start
    step: timedelta = timedelta(minutes=30)
    step_48h: timedelta = timedelta(hours=6)


FULL = Plan(200, 100, 30, 14, 5, timedelta(hours=24), timedelta(hours=24))
QUICK = Plan(12, 8, 30, 8, 4, timedelta(hours=24), timedelta(hours=12))


def healthy_full_health(task):
    """30 days of 30-minute looks at a healthy rollout, full mode from tick 0."""
    seed, per_hour, run, plan = task
    rng = generator(seed, 1, int(per_hour * 1000), run)
    length = ticks(timedelta(days=plan.healthy_days))
    counts = simulate(rng, per_hour, length, [(0, HEALTHY)])
    changes = ledger_for(ORIGIN)
    step = ticks(plan.step)
    statuses, failing = [], Counter()
    for tick in range(step, length + 1, step):
        judged = GATES.judge("full-health", counts, tick, changes)
        statuses.append(judged.status)
        failing.update(c for c, s in judged.checks.items() if s == Status.FAIL)
    return {"statuses": statuses, "failing": dict(failing)}


def broken_full_health(task):
    """Healthy full mode, then an incident from a random tick: time and bookings to a FAIL."""
    seed, per_hour, kind, run, plan = task
    rng = generator(seed, 2, int(per_hour * 1000), list(BROKEN).index(kind), run)
    incident = int(rng.integers(0, ticks(plan.incident_within)))
    step = ticks(plan.step)
    first_look = (incident // step + 1) * step
    last_look = incident + ticks(plan.horizon)
    counts = simulate(rng, per_hour, last_look + 1, [(0, HEALTHY), (incident, BROKEN[kind])])
    changes = ledger_for(ORIGIN)
    statuses, failing, detected = [], Counter(), None
    for tick in range(first_look, last_look + 1, step):
        judged = GATES.judge("full-health", counts, tick, changes)
        statuses.append(judged.status)
        failing.update(c for c, s in judged.checks.items() if s == Status.FAIL)
        if detected is None and judged.status == Status.FAIL:
            detected = {
                "hours": (tick - incident) * (TICK / HOUR),
                "bookings": counts.total("active_starts", incident, tick),
                "rate_check": any(judged.checks.get(c) == Status.FAIL
                                  for c in RATE_CHECKS["full-health"]),
            }  # fmt: skip
    return {"statuses": statuses, "failing": dict(failing), "detected": detected}


def rollout_48h(task):
    """Looks every 6 hours at a rollout in one state from full mode's start."""
    seed, per_hour, kind, run, plan = task
    mix = HEALTHY if kind == "healthy" else BROKEN[kind]
    days = plan.healthy_48h_days if kind == "healthy" else plan.broken_48h_days
    code = 99 if kind == "healthy" else list(BROKEN).index(kind)
    rng = generator(seed, 3, int(per_hour * 1000), code, run)
    length = ticks(timedelta(days=days))
    counts = simulate(rng, per_hour, length, [(0, mix)])
    changes = ledger_for(ORIGIN)
    full_window = ticks(timedelta(hours=48))
    step = ticks(plan.step_48h)
    # A broken rollout is counted on its looks with 48h of data only: the earlier ones are
    # not judged at all (a healthy one is judged from its first look, 6h in).
    first_look = step if kind == "healthy" else full_window
    found = {}
    for gate in GATES_48H:
        looks = []
        for tick in range(first_look, length + 1, step):
            judged = GATES.judge(gate, counts, tick, changes)
            looks.append((tick >= full_window, judged.status, judged.checks))
        found[gate] = looks
    return found


GATES: Gates | None = None
EXTRA_WINDOWS: list[timedelta] = []  # --full-health-windows: an alternative to measure
EXTRA_SAMPLES: list = []  # the current look's samples over those windows
PARTS = ("full-health-broken", "full-health-healthy", "48h")


def extra_samples(counts, tick, metrics, params):
    """The alternative's windows between the last hour and full mode so far (summaries of both
    rates per window; those not longer than an hour or reaching before full mode are left out)."""
    if metrics.full_mode is None:
        return []
    longest = metrics.full_mode[0]
    found = []
    for length in EXTRA_WINDOWS:
        start = metrics.window.end - length
        if length <= params.window or start <= longest.start:
            continue
        summary = counts.summary(counts.tick_of(start), tick, tick, ticks(params.outcome_grace))
        found.append(full_health.sample_of(summary, Window(start, metrics.window.end), "extra"))
    return found


def use_extra_full_health_windows(lengths: list[timedelta]):
    """full-health judged over more nested windows (e.g. the last 3h), each like the others."""
    EXTRA_WINDOWS[:] = lengths
    original = full_health.samples

    def samples(metrics, rate):
        found = original(metrics, rate)
        extra = [rates.Sample(rate(s.proportion), s.label, s.hours, s.as_of) for s in EXTRA_SAMPLES]
        return [found[0], *extra, *found[1:]]

    full_health.samples = samples


def start_worker(memoize: bool, prior, windows=()):
    """Each worker's gates; with `memoize`, stats.confidence_bounds (a pure function of k, n,
    the confidence and the looks, which only the detail text and the evidence show) is cached:
    most of a red-flag judgement's time goes into its three root findings."""
    global GATES
    GATES = Gates(memoize)
    if memoize and prior is None and not hasattr(stats.confidence_bounds, "cache_info"):
        stats.confidence_bounds = functools.cache(stats.confidence_bounds)
    if windows:
        use_extra_full_health_windows(list(windows))
    if prior is not None:
        use_centred_prior_for_criteria(*prior)


# --- an alternative to measure: a criterion's mixture centred on its limit ------------------


def use_centred_prior_for_criteria(concentration: float, weight: float = 1.0):
    """Criteria (rates.assess_criterion) judged with a Beta(c p, c (1 - p)) mixture centred on
    the tested rate p instead of the uniform one; red flags keep the uniform prior.

    For each p the centred mixture is still a test martingale under p, so the bounds stay
    exact and peek-safe; it spends its evidence near the limit, where a 48h criterion at high
    volume is decided, instead of uniformly over [0, 1].
    """
    from scipy.special import betaln

    uniform = stats.log_mixture_ratio

    def only_centred(k, n, p):
        a, b = concentration * p, concentration * (1 - p)
        return betaln(k + a, n - k + b) - betaln(a, b) - k * math.log(p) - (n - k) * math.log1p(-p)

    def centred(k, n, p):
        """`weight` of the centred mixture and the rest of the uniform one: a mixture of two
        test martingales is one, and it costs at most log(1 / weight) against either."""
        if weight >= 1:
            return only_centred(k, n, p)
        a, b = only_centred(k, n, p) + math.log(weight), uniform(k, n, p) + math.log1p(-weight)
        high = max(a, b)
        return high + math.log1p(math.exp(min(a, b) - high))

    original = rates.assess_criterion

    def assess_criterion(*args, **kwargs):
        stats.log_mixture_ratio = centred
        try:
            return original(*args, **kwargs)
        finally:
            stats.log_mixture_ratio = uniform

    for module in (rates, stability, success, scale):
        module.assess_criterion = assess_criterion


# --- summaries and targets -------------------------------------------------------------------


def share(count: int, total: int) -> float | None:
    return count / total if total else None


def quantile(values: list[float], q: float) -> float | None:
    """The q-quantile counting undetected runs (inf) as later than any detected one."""
    if not values:
        return None
    value = float(np.quantile(np.array(values, dtype=float), q, method="higher"))
    return None if math.isinf(value) else value


def episodes(statuses: list[str]) -> int:
    return sum(
        1
        for previous, status in zip(["PASS", *statuses], statuses, strict=False)
        if status == Status.FAIL and previous != Status.FAIL
    )


def summarize_healthy_full_health(per_hour, results, plan):
    looks = sum(len(r["statuses"]) for r in results)
    fails = [r["statuses"].count(Status.FAIL) for r in results]
    failing = Counter()
    for r in results:
        failing.update(r["failing"])
    inconclusive = sum(r["statuses"].count(Status.INCONCLUSIVE) for r in results)
    scale_days = 30 / plan.healthy_days
    return {
        "gate": "full-health",
        "volume": per_hour,
        "kind": "healthy",
        "runs": len(results),
        "looks": looks,
        "fail_share": share(sum(fails), looks),
        "fails_per_30_days": sum(fails) / len(results) * scale_days,
        "fail_episodes_per_30_days": sum(episodes(r["statuses"]) for r in results)
        / len(results)
        * scale_days,
        "runs_with_a_fail": share(sum(1 for f in fails if f), len(results)),
        "most_fails_in_a_run": max(fails),
        "inconclusive_share": share(inconclusive, looks),
        "checks_failing": {c: share(n, looks) for c, n in sorted(failing.items())},
        "rate_checks_fails_per_30_days": sum(failing.get(c, 0) for c in RATE_CHECKS["full-health"])
        / len(results)
        * scale_days,
    }


def summarize_broken_full_health(per_hour, kind, results, plan):
    looks = sum(len(r["statuses"]) for r in results)
    fails = sum(r["statuses"].count(Status.FAIL) for r in results)
    inconclusive = sum(r["statuses"].count(Status.INCONCLUSIVE) for r in results)
    delays = [r["detected"]["hours"] if r["detected"] else math.inf for r in results]
    bookings = [r["detected"]["bookings"] if r["detected"] else math.inf for r in results]
    failing = Counter()
    for r in results:
        failing.update(r["failing"])
    return {
        "gate": "full-health",
        "volume": per_hour,
        "kind": kind,
        "runs": len(results),
        "looks": looks,
        "fail_share": share(fails, looks),
        "inconclusive_share": share(inconclusive, looks),
        "detected": share(sum(1 for d in delays if not math.isinf(d)), len(results)),
        "delay_hours_median": quantile(delays, 0.5),
        "delay_hours_p80": quantile(delays, 0.8),
        "bookings_median": quantile(bookings, 0.5),
        "bookings_p80": quantile(bookings, 0.8),
        "within_1h": share(sum(1 for d in delays if d <= 1), len(results)),
        "within_3h": share(sum(1 for d in delays if d <= 3), len(results)),
        "first_fail_by_a_rate_check": share(
            sum(1 for r in results if r["detected"] and r["detected"]["rate_check"]),
            len(results),
        ),
        "checks_failing": {c: share(n, looks) for c, n in sorted(failing.items())},
        "horizon_hours": plan.horizon / HOUR,
    }


def summarize_48h(gate, per_hour, kind, results):
    """Shares over every look, and over the looks whose 48h window is full (soak reached)."""
    looks = [entry for result in results for entry in result[gate]]
    full = [entry for entry in looks if entry[0]]
    chosen = looks if kind == "healthy" else full
    failing = Counter(c for _, _, checks in chosen for c, s in checks.items() if s == Status.FAIL)
    rate_fail = sum(
        1 for _, _, checks in chosen if any(checks.get(c) == Status.FAIL for c in RATE_CHECKS[gate])
    )
    inconclusive = Counter(
        c for _, _, checks in full for c, s in checks.items() if s == Status.INCONCLUSIVE
    )
    return {
        "gate": gate,
        "volume": per_hour,
        "kind": kind,
        "runs": len(results),
        "looks": len(chosen),
        "looks_counted": "every look from 6h" if kind == "healthy" else "looks with 48h of data",
        "fail_share": share(sum(1 for _, s, _ in chosen if s == Status.FAIL), len(chosen)),
        "rate_checks_fail_share": share(rate_fail, len(chosen)),
        "inconclusive_share_after_soak": share(
            sum(1 for _, s, _ in full if s == Status.INCONCLUSIVE), len(full)
        ),
        "checks_failing": {c: share(n, len(chosen)) for c, n in sorted(failing.items())},
        "checks_inconclusive_after_soak": {
            c: share(n, len(full)) for c, n in sorted(inconclusive.items())
        },
    }


def targets(cells: list[dict]) -> list[dict]:
    """DESIGN.md's targets, each measured on the gate as shipped and on its rate checks alone."""

    def cell(gate, volume, kind):
        return next(
            c for c in cells if c["gate"] == gate and c["volume"] == volume and c["kind"] == kind
        )

    found = []
    for volume in VOLUMES:
        c = cell("full-health", volume, "healthy")
        limit = 0 if volume == VOLUMES[0] else 1
        found.append(
            {
                "target": f"healthy, {volume:g}/h: full-health "
                + ("never FAILs in 30 days" if limit == 0 else "FAILs at most once in 30 days"),
                "measured": f"{c['fails_per_30_days']:.2f} FAIL looks per 30 days "
                f"({c['fail_episodes_per_30_days']:.2f} episodes; {c['runs_with_a_fail']:.0%} "
                f"of {c['runs']} rollouts with one); rate checks alone "
                f"{c['rate_checks_fails_per_30_days']:.2f}",
                "met": c["fails_per_30_days"] <= limit
                and (limit or c["runs_with_a_fail"] == 0),
                "rate_rules_met": c["rate_checks_fails_per_30_days"] <= limit,
            }
        )  # fmt: skip
    for gate in GATES_48H:
        for volume in VOLUMES:
            c = cell(gate, volume, "healthy")
            found.append(
                {
                    "target": f"healthy, {volume:g}/h: {GATE_NAMES[gate]} FAILs in <= 1% of looks",
                    "measured": f"{c['fail_share']:.2%} of {c['looks']} looks; rate checks "
                    f"alone {c['rate_checks_fail_share']:.2%}",
                    "met": c["fail_share"] <= 0.01,
                    "rate_rules_met": c["rate_checks_fail_share"] <= 0.01,
                }
            )
    c = cell("full-health", 20.0, "success 60%")
    found.append(
        {
            "target": "success 60% at 20/h: full-health FAILs within 1 hour (read: in >= 95% "
            "of runs)",
            "measured": f"{c['within_1h']:.1%} of {c['runs']} runs within 1h; median "
            f"{hours_or_dash(c['delay_hours_median'])}, p80 {hours_or_dash(c['delay_hours_p80'])}",
            "met": c["within_1h"] >= 0.95,
            "rate_rules_met": None,
        }
    )
    c = cell("full-health", 1.125, "every booking failing")
    found.append(
        {
            "target": "every booking failing at 1.125/h: full-health FAILs within 3 hours in "
            ">= 80% of runs",
            "measured": f"{c['within_3h']:.1%} of {c['runs']} runs within 3h; median "
            f"{hours_or_dash(c['delay_hours_median'])}, p80 {hours_or_dash(c['delay_hours_p80'])}",
            "met": c["within_3h"] >= 0.80,
            "rate_rules_met": None,
        }
    )
    for kind, volume in (("success 96%", 200.0), ("success 90%", 20.0)):
        for gate in GATES_48H:
            c = cell(gate, volume, kind)
            found.append(
                {
                    "target": f"{kind} at {volume:g}/h: {GATE_NAMES[gate]} FAILs in >= 95% of "
                    "looks",
                    "measured": f"{c['fail_share']:.1%} of {c['looks']} looks; rate checks "
                    f"alone {c['rate_checks_fail_share']:.1%}",
                    "met": c["fail_share"] >= 0.95,
                    "rate_rules_met": c["rate_checks_fail_share"] >= 0.95,
                }
            )
    return found


# --- output ----------------------------------------------------------------------------------


def percent_or_dash(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def hours_or_dash(value) -> str:
    return "-" if value is None else f"{value:.1f}h"


def number_or_dash(value) -> str:
    return "-" if value is None else f"{value:.0f}"


def tables(cells: list[dict], found: list[dict]) -> str:
    lines = ["### full-health, healthy (30 days of 30-minute looks per rollout)", ""]
    lines += [
        "| volume | rollouts | FAIL looks / 30 days | FAIL episodes / 30 days | rollouts with a "
        "FAIL | FAIL share of looks | INCONCLUSIVE share | FAILs by check (share of looks) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        if c["gate"] == "full-health" and c["kind"] == "healthy":
            by = ", ".join(f"{k} {v:.3%}" for k, v in c["checks_failing"].items()) or "none"
            lines.append(
                f"| {c['volume']:g}/h | {c['runs']} | {c['fails_per_30_days']:.2f} | "
                f"{c['fail_episodes_per_30_days']:.2f} | {c['runs_with_a_fail']:.1%} | "
                f"{c['fail_share']:.3%} | {c['inconclusive_share']:.1%} | {by} |"
            )
    lines += [
        "",
        "### full-health, broken (incident from a random time in the first 24h of full mode; "
        "looks every 30 minutes for 24h after it)",
        "",
        "| volume | incident | runs | detected | median delay | p80 delay | median bookings | "
        "p80 bookings | within 1h | within 3h | FAIL share of looks | INCONCLUSIVE share | "
        "first FAIL by a rate check |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        if c["gate"] == "full-health" and c["kind"] != "healthy":
            lines.append(
                f"| {c['volume']:g}/h | {c['kind']} | {c['runs']} | {c['detected']:.1%} | "
                f"{hours_or_dash(c['delay_hours_median'])} | {hours_or_dash(c['delay_hours_p80'])}"
                f" | {number_or_dash(c['bookings_median'])} | {number_or_dash(c['bookings_p80'])}"
                f" | {c['within_1h']:.1%} | {c['within_3h']:.1%} | {c['fail_share']:.1%} | "
                f"{c['inconclusive_share']:.1%} | {c['first_fail_by_a_rate_check']:.1%} |"
            )
    lines += [
        "",
        "### 48h gates, looks every 6 hours (healthy: every look from 6h; broken: looks with "
        "48h of data, the soak reached)",
        "",
        "| gate | volume | rollout | runs | looks | FAIL share | rate checks FAIL share | "
        "INCONCLUSIVE share after soak | FAILs by check |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        if c["gate"] in GATES_48H:
            by = ", ".join(f"{k} {v:.1%}" for k, v in c["checks_failing"].items()) or "none"
            lines.append(
                f"| {GATE_NAMES[c['gate']]} | {c['volume']:g}/h | {c['kind']} | {c['runs']} | "
                f"{c['looks']} | {c['fail_share']:.2%} | {c['rate_checks_fail_share']:.2%} | "
                f"{percent_or_dash(c['inconclusive_share_after_soak'])} | {by} |"
            )
    lines += ["", "### DESIGN targets", "", "| target | measured | gate | rate rules alone |"]
    lines.append("|---|---|---|---|")
    for t in found:
        rate = {None: "-", True: "met", False: "**missed**"}[t["rate_rules_met"]]
        lines.append(
            f"| {t['target']} | {t['measured']} | {'met' if t['met'] else '**missed**'} | {rate} |"
        )
    return "\n".join(lines)


def run_pool(function, tasks, jobs, memoize, prior, label, windows=()):
    started = time.perf_counter()
    chunks = max(1, len(tasks) // (jobs * 8))
    results = []
    if jobs == 1:
        start_worker(memoize, prior, windows)
        iterator = map(function, tasks)
    else:
        context = multiprocessing.get_context("fork")
        pool = context.Pool(jobs, initializer=start_worker, initargs=(memoize, prior, windows))
        iterator = pool.imap(function, tasks, chunksize=chunks)
    for index, result in enumerate(iterator, 1):
        results.append(result)
        if index % max(1, len(tasks) // 10) == 0 or index == len(tasks):
            print(
                f"  {label}: {index}/{len(tasks)} ({time.perf_counter() - started:.0f}s)",
                flush=True,
            )
    if jobs != 1:
        pool.close()
        pool.join()
    return results, time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, help="rollouts per cell (default 200; --quick 12)")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--quick", action="store_true", help="few runs, for development")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--no-memo", action="store_true", help="evaluate full-health every look")
    parser.add_argument(
        "--criterion-prior",
        type=float,
        help="measure an alternative: criteria with a Beta mixture centred on the limit, of "
        "this concentration (e.g. 1000); red flags keep the uniform prior",
    )
    parser.add_argument(
        "--criterion-prior-weight",
        type=float,
        default=1.0,
        help="with --criterion-prior: the centred mixture's weight, the rest uniform (e.g. 0.5)",
    )
    parser.add_argument(
        "--full-health-windows",
        default="",
        help="measure an alternative: full-health also judged over these windows, e.g. 3h",
    )
    parser.add_argument(
        "--full-health-step",
        default="30m",
        help="measure an alternative: full-health looked at this often (default 30m)",
    )
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help=f"which experiments, comma-separated (default all: {','.join(PARTS)})",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    plan = Plan(**{**plan.__dict__, "step": timefmt.parse_duration(args.full_health_step)})
    windows = tuple(timefmt.parse_duration(w) for w in args.full_health_windows.split(",") if w)
    if args.runs:
        plan = Plan(**{**plan.__dict__, "runs": args.runs,
                       "runs_48h_broken": max(1, args.runs // 2)})  # fmt: skip
    started = time.perf_counter()
    load = os.getloadavg()[0]
    print(
        f"operating characteristics: seed {args.seed}, {plan.runs} rollouts per cell "
        f"({plan.runs_48h_broken} for the broken 48h cells), {args.jobs} jobs"
        + (
            f", criteria with a centred Beta prior of {args.criterion_prior:g} "
            f"(weight {args.criterion_prior_weight:g}, the rest uniform)"
            if args.criterion_prior
            else ""
        ),  # fmt: skip
        flush=True,
    )
    memoize = not args.no_memo
    prior = None
    if args.criterion_prior:
        prior = (args.criterion_prior, args.criterion_prior_weight)
    cells, timings = [], {}
    parts = set(args.parts.split(","))
    if parts - set(PARTS):
        parser.error(f"--parts: unknown {', '.join(sorted(parts - set(PARTS)))}")
    # The broken cells first: they are the quick ones.
    tasks = [
        (args.seed, volume, kind, run, plan)
        for volume in VOLUMES
        for kind in BROKEN
        for run in range(plan.runs)
    ]
    if "full-health-broken" in parts:
        results, timings["full-health broken"] = run_pool(
            broken_full_health, tasks, args.jobs, memoize, prior, "full-health broken", windows
        )
    for volume in VOLUMES if "full-health-broken" in parts else ():
        for kind in BROKEN:
            chosen = [r for t, r in zip(tasks, results, strict=True) if t[1:3] == (volume, kind)]
            cells.append(summarize_broken_full_health(volume, kind, chosen, plan))
    tasks = [(args.seed, volume, run, plan) for volume in VOLUMES for run in range(plan.runs)]
    if "full-health-healthy" in parts:
        results, timings["full-health healthy"] = run_pool(
            healthy_full_health,
            tasks,
            args.jobs,
            memoize,
            prior,
            "full-health healthy 30 days",
            windows,
        )
    for volume in VOLUMES if "full-health-healthy" in parts else ():
        chosen = [r for t, r in zip(tasks, results, strict=True) if t[1] == volume]
        cells.append(summarize_healthy_full_health(volume, chosen, plan))
    tasks = [
        (args.seed, volume, kind, run, plan)
        for volume in VOLUMES
        for kind in ("healthy", *BROKEN)
        for run in range(plan.runs if kind == "healthy" else plan.runs_48h_broken)
    ]
    if "48h" in parts:
        results, timings["48h gates"] = run_pool(
            rollout_48h, tasks, args.jobs, memoize, prior, "48h gates"
        )
    for gate in GATES_48H if "48h" in parts else ():
        for volume in VOLUMES:
            for kind in ("healthy", *BROKEN):
                chosen = [
                    r for t, r in zip(tasks, results, strict=True) if t[1:3] == (volume, kind)
                ]
                cells.append(summarize_48h(gate, volume, kind, chosen))
    found = targets(cells) if parts == set(PARTS) else []
    wall = time.perf_counter() - started
    gates = Gates()
    report = {
        "generated": datetime.now(UTC).isoformat(),
        "seed": args.seed,
        "quick": args.quick,
        "plan": {k: str(v) if isinstance(v, timedelta) else v for k, v in plan.__dict__.items()},
        "criterion_prior": prior,
        "full_health_windows": [timefmt.format_duration(w) for w in windows],
        "parts": sorted(parts),
        "method": stats.METHOD,
        "confidence": gates.full_health.confidence,
        "prerequisites_and_full_extended_share_params": gates.stability_shared,
        "wall_seconds": round(wall, 1),
        "seconds_by_part": {k: round(v, 1) for k, v in timings.items()},
        "jobs": args.jobs,
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": round(load, 2),
        },
        "mixes": {"healthy": HEALTHY, **BROKEN},
        "cells": cells,
        "targets": found,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(tables(cells, found))
    print()
    parts = ", ".join(f"{k} {v:.0f}s" for k, v in timings.items())
    print(
        f"wall time {wall:.0f}s on {args.jobs} jobs ({parts}); 1-minute load average at "
        f"start {load:.2f}; results in {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
