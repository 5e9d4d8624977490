"""prerequisites: staging stable for 48+ hours before the production rollout starts.

Runbook, "Prerequisites": success rate >= 97% for 48 hours, manual review rate < 1%,
no sustained errors or circuit breaker trips. The checks are rules/stability.py's, on staging.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config.flags import plan_commands
from ..core.verdict import Check, Status
from ..rules.checklist import RunbookChecklist
from ..rules.stability import StabilityParams
from ..rules.stability import evaluate as evaluate_stability
from .base import Assessment, GateSpec

if TYPE_CHECKING:
    from ..telemetry.stability import StabilityFrames, StabilityMetrics

# The runbook's Prerequisites, item 1 ("Verify staging metrics meet thresholds"), and the
# checks that decide each; items 2-3 (rollback plan, staffed window) are preflight's.
CHECKLIST = RunbookChecklist.of(
    "Prerequisites",
    [
        ("Success rate ≥97% for 48 hours", ("soak", "success_rate", "red_flag_hours")),
        ("Manual review rate <1%", ("manual_review_rate",)),
        ("No sustained errors or circuit breaker trips", ("sustained_errors", "circuit_opens")),
    ],
)


class PrerequisitesParams(StabilityParams):
    """params/defaults.yaml, gates.prerequisites."""


SPEC = GateSpec(
    id="prerequisites",
    runbook_step="Prerequisites: staging stable for 48+ hours (success rate >= 97%, manual "
    "review rate < 1%, no sustained errors or circuit breaker trips)",
    window="48h",
    env="staging",
    params_model=PrerequisitesParams,
)


@dataclass(frozen=True)
class PrerequisitesMetrics:
    """stability.py's metrics on staging, and the frames the notebook shows."""

    stability: StabilityMetrics
    frames: StabilityFrames


def collect(ctx) -> PrerequisitesMetrics:
    """Run the gate's queries; the environment's flag ledger dates the phase ([] if none)."""
    from ..telemetry.stability import collect as collect_stability

    stability, frames = collect_stability(
        ctx.connection, ctx.taxonomy, ctx.window, ctx.params, ctx.ledger()
    )
    return PrerequisitesMetrics(stability, frames)


def evaluate(metrics: PrerequisitesMetrics, params: PrerequisitesParams) -> list[Check]:
    return evaluate_stability(metrics.stability, params)


def advice(result: Assessment) -> list[str]:
    """PASS: the runbook's Phase 1 commands; otherwise why not yet, and how to re-run."""
    status = result.status
    rerun = f"rollout-gates run prerequisites --env {result.env}"
    if status is Status.PASS:
        return [
            "# Staging is stable: production may enter shadow mode (runbook Phase 1).",
            "# Also before Phase 1: rollback plan ready and tested, a staffed window booked.",
            *plan_commands("shadow", "production"),
        ]
    if status is Status.FAIL:
        return [
            "# Do not start the production rollout: staging does not meet the prerequisites.",
            *result.reasons(),
            "# Fix the cause, let staging run stable again, then re-run:",
            rerun,
        ]
    if status is Status.INCONCLUSIVE:
        return [
            "# Not enough evidence yet to start the production rollout.",
            *result.reasons(),
            rerun,
        ]
    return []
