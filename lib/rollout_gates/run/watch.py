"""Run a gate at every clock-aligned interval for a while: the runbook's "every 30-60 minutes".

Ticks are aligned to the clock (every 30m: at :00 and :30 UTC), so evidence
folders line up with the schedule an on-call engineer expects. A run that
errors does not stop the watch; a tick that falls while the previous run is
still going is skipped and said so, never queued behind it.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..core.errors import EXIT_ERROR, RolloutGatesError
from ..core.timefmt import format_duration
from ..core.verdict import EXIT_CODES, GateResult, Status, worst
from .runner import RunInterrupted


@dataclass(frozen=True)
class WatchRun:
    """What happened at one tick: a verdict, a run that could not start, or a skipped tick."""

    scheduled: datetime
    result: GateResult | None = None
    problem: str | None = None  # the run could not start (e.g. another run holds the lock)
    seconds: float = 0.0

    @property
    def status(self) -> Status | None:
        if self.result is not None:
            return self.result.status
        return Status.ERROR if self.problem else None

    def summary_line(self) -> str:
        when = f"{self.scheduled:%Y-%m-%d %H:%M:%S}"
        if self.status is None:
            return f"{when}  {'SKIPPED':<12}  the run before was still going"
        detail = self.problem or ""
        if self.result is not None:
            failing = [c.id for c in self.result.checks if c.status in (Status.FAIL, Status.ERROR)]
            detail = self.result.error or ", ".join(failing)
            detail = f"{detail}  evidence: {self.result.run_dir}".strip()
        return f"{when}  {self.status:<12}  {self.seconds:4.0f}s  {detail}"


def clock_ticks(start: datetime, every: timedelta, duration: timedelta) -> list[datetime]:
    """The multiples of `every` since the epoch (UTC) in [start, start + duration)."""
    step = every.total_seconds()
    first = math.ceil(start.timestamp() / step) * step
    end = (start + duration).timestamp()
    count = max(0, math.ceil((end - first) / step))
    return [datetime.fromtimestamp(first + i * step, UTC) for i in range(count)]


def watch_gate(
    run_once: Callable[[], GateResult],
    every: timedelta,
    duration: timedelta,
    *,
    echo: Callable[[str], None] = print,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
) -> list[WatchRun]:
    """Call `run_once` at each tick; returns one WatchRun a tick, also when stopped early.

    Ctrl-C or SIGTERM (raised as KeyboardInterrupt) stops the watch: during a run,
    after that run's partial evidence is written (RunInterrupted); between runs, at once.
    """
    ticks = clock_ticks(clock(), every, duration)
    if ticks:
        first, interval = f"{ticks[0]:%H:%M:%S}", format_duration(every)
        echo(f"watching: {len(ticks)} runs, first at {first} UTC, every {interval}")
    runs: list[WatchRun] = []
    for tick in ticks:
        now = clock()
        if now >= tick + every:  # the previous run overran this tick's interval
            runs.append(WatchRun(scheduled=tick))
            continue
        try:
            if now < tick:
                sleep((tick - now).total_seconds())
            began = time.monotonic()
            try:
                result, problem = run_once(), None
            except RunInterrupted as interrupted:
                runs.append(WatchRun(tick, interrupted.result, None, time.monotonic() - began))
                echo(f"stopped during the run at {tick:%H:%M:%S}; its partial evidence is kept")
                break
            except RolloutGatesError as exc:
                result, problem = None, str(exc)
            run = WatchRun(tick, result, problem, time.monotonic() - began)
        except KeyboardInterrupt:
            echo("stopped (Ctrl-C or SIGTERM) between runs")
            break
        runs.append(run)
        echo(run.summary_line())
    return runs


def exit_code_of(runs: list[WatchRun]) -> int:
    """The worst verdict's exit code; a watch that ran nothing judged nothing: ERROR."""
    statuses = [run.status for run in runs if run.status is not None]
    return EXIT_CODES[worst(statuses)] if statuses else EXIT_ERROR
