"""prerequisites: staging stable for 48+ hours before the production rollout starts.

Runbook, "Prerequisites": success rate >= 97% for 48 hours, manual review rate < 1%,
no sustained errors or circuit breaker trips. The checks are stability.py's, on staging.
"""

from ..config.flags import plan_commands
from ..core.verdict import Check, Status
from ..telemetry.checklist import RunbookChecklist
from ..telemetry.stability import StabilityMetrics, StabilityParams
from ..telemetry.stability import collect as collect_stability
from ..telemetry.stability import evaluate as evaluate_stability
from . import GateSpec

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


def collect(connection, taxonomy: dict, window, params: PrerequisitesParams, changes, env: str):
    """Run the gate's queries; `changes` is the environment's flag ledger ([] if none)."""
    return collect_stability(connection, taxonomy, window, params, changes, env)


def evaluate(metrics: StabilityMetrics, params: PrerequisitesParams) -> list[Check]:
    return evaluate_stability(metrics, params)


def assess(gate) -> list[Check]:
    """The gate's checks at `gate.as_of`, as its notebook computes them (used by replay)."""
    metrics, _ = collect(
        gate.connection, gate.taxonomy, gate.window, gate.params, gate.ledger(), gate.env
    )
    return evaluate(metrics, gate.params)


def actions(status: Status, env: str, checks: list[Check] | None = None) -> list[str]:
    """PASS: the runbook's Phase 1 commands; otherwise why not yet, and how to re-run."""
    rerun = f"rollout-gates run prerequisites --env {env}"
    if status is Status.PASS:
        return [
            "# Staging is stable: production may enter shadow mode (runbook Phase 1).",
            "# Also before Phase 1: rollback plan ready and tested, a staffed window booked.",
            *plan_commands("shadow", "production"),
        ]
    reasons = [f"# {c.id}: {c.detail}" for c in checks or [] if c.status is status]
    if status is Status.FAIL:
        return [
            "# Do not start the production rollout: staging does not meet the prerequisites.",
            *reasons,
            "# Fix the cause, let staging run stable again, then re-run:",
            rerun,
        ]
    if status is Status.INCONCLUSIVE:
        return ["# Not enough evidence yet to start the production rollout.", *reasons, rerun]
    return []
