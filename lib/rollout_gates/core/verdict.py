"""Checks, gate results and how statuses combine (DESIGN.md, "Verdicts")."""

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import EXIT_ERROR, EXIT_FAIL, EXIT_INCONCLUSIVE, EXIT_PASS


class Status(StrEnum):
    PASS = "PASS"
    WARN = "WARN"
    INCONCLUSIVE = "INCONCLUSIVE"
    ERROR = "ERROR"
    FAIL = "FAIL"


# Worst wins: a FAIL outranks an ERROR, which outranks "not enough data".
SEVERITY = {Status.PASS: 0, Status.INCONCLUSIVE: 1, Status.ERROR: 2, Status.FAIL: 3}

EXIT_CODES = {
    Status.PASS: EXIT_PASS,
    Status.FAIL: EXIT_FAIL,
    Status.INCONCLUSIVE: EXIT_INCONCLUSIVE,
    Status.ERROR: EXIT_ERROR,
}


class RateEvidence(BaseModel):
    """What a rate check saw and how sure it is (DESIGN.md, "Statistics"), for verdict.json."""

    model_config = ConfigDict(frozen=True)

    window: str  # which window decided, e.g. "the last hour"
    decided: int
    count: int  # the bookings counted by the rate (confirmed, or manual reviews)
    rate: float | None
    low: float | None
    high: float | None
    method: str
    confidence: float
    looks: int = 1  # windows judged together; each at alpha / looks
    certified: bool  # the whole bound on the healthy side of the limit
    bookings_to_decide: int | None = None  # more decided bookings, at this rate, to decide
    decidable_at: datetime | None = None  # about when, at the window's volume


BEHIND_TABLE = "bookings-behind"  # tables/bookings-behind.csv: the bookings, with trails
BEHIND_LISTED = 20  # bookings listed per failing check; how many there are is always counted


class Behind(BaseModel):
    """Where the bookings behind a failing check are: decided in [start, end) with one of
    these outcome classes (outcomes.py). The kernel lists them, with their event trails."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime
    outcomes: tuple[str, ...]


class Check(BaseModel):
    """One rule applied to one observation."""

    model_config = ConfigDict(frozen=True)

    id: str
    rule: str
    status: Status
    detail: str
    observed: float | int | str | None = None
    threshold: float | int | str | None = None
    sample_size: int | None = None
    interval: tuple[float, float] | None = None
    evidence: RateEvidence | None = None
    # The check had no rows to look at (no events at all, 0 of 0): never a PASS, and no
    # checklist built on it counts it as met (DESIGN.md, "Verdicts").
    no_data: bool = False
    behind: list[Behind] = Field(default_factory=list)  # a FAIL's bookings, where they are

    @model_validator(mode="after")
    def _no_data_is_never_a_pass(self):
        if self.no_data and self.status is Status.PASS:
            raise ValueError(f"check {self.id}: a check with no data cannot PASS")
        return self

    @property
    def gating(self) -> bool:
        """WARN is advisory: it is shown but never changes the gate."""
        return self.status is not Status.WARN


class Notification(BaseModel):
    """How the chat alert about a run went; it never changes the run's status."""

    kind: str  # fail, error or recovered
    sent: bool
    attempts: int
    error: str | None = None
    at: datetime


class GateResult(BaseModel):
    """A gate's verdict, as written to verdict.json and the notebook's metadata."""

    gate: str
    env: str
    status: Status
    as_of: datetime | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    runbook_step: str = ""
    checks: list[Check] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list)
    error: str | None = None
    simulated: bool = False
    scenario: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    params_hash: str | None = None
    tool_version: str = ""
    server_version: str | None = None
    database: str | None = None
    run_dir: str | None = None
    notification: Notification | None = None
    # The rollout phase of the env at the as-of (flag ledger, else telemetry), and whether it
    # is the phase this gate checks (gates.CHECKPOINT_PHASE); None: unknown.
    phase: str | None = None
    phase_since: datetime | None = None
    phase_source: str | None = None
    in_phase: bool | None = None

    @property
    def out_of_phase(self) -> str | None:
        """ "out of phase (full mode since ...)" for a run outside the phase it checks."""
        if self.in_phase is not False:
            return None
        since = f" since {self.phase_since:%Y-%m-%d %H:%M} UTC" if self.phase_since else ""
        return f"out of phase ({self.phase} mode{since})"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def summary(self) -> str:
        failing = [c.id for c in self.checks if c.status not in (Status.PASS, Status.WARN)]
        tail = f" ({', '.join(failing)})" if failing else ""
        if self.error:
            tail = f": {self.error}"
        when = f" as of {self.as_of:%Y-%m-%d %H:%M} UTC" if self.as_of else ""
        label = f", {self.out_of_phase}" if self.out_of_phase else ""
        return f"{self.gate} [{self.env}]{when}: {self.status}{label}{tail}"


def worst(statuses) -> Status:
    """The worst gating status; PASS when there is none (WARN never counts)."""
    gating = [Status(s) for s in statuses if Status(s) is not Status.WARN]
    return max(gating, key=SEVERITY.__getitem__, default=Status.PASS)


def gate_status(checks: list[Check]) -> Status:
    """A gate with no checks has judged nothing: that is never a PASS."""
    if not checks:
        return Status.INCONCLUSIVE
    return worst(c.status for c in checks)


def read_verdict(path: Path) -> GateResult:
    return GateResult.model_validate(json.loads(path.read_text()))
