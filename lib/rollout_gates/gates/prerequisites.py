"""prerequisites: staging stable for 48+ hours before the production rollout starts.

Runbook, "Prerequisites": success rate >= 97% for 48 hours, manual review rate < 1%,
no sustained errors or circuit breaker trips. The checks are rules/stability.py's, on staging.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config.flags import plan_commands
from ..core.verdict import Status
from ..rules.checklist import RunbookChecklist
from ..rules.stability import StabilityParams
from ..rules.stability import evaluate as evaluate  # the stability checks, on staging
from .base import Assessment, GateSpec

if TYPE_CHECKING:
    from ..telemetry.stability import StabilityMetrics

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


def collect(ctx) -> StabilityMetrics:
    """Run the gate's queries (telemetry/stability.py's, on staging), with the frames."""
    from ..telemetry import stability

    return stability.collect(ctx)


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
