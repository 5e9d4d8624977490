"""preflight: the runbook's Phase 2 Pre-Flight Checklist, before V3 is turned on.

Checks:

- staging_prerequisites: the latest recorded `prerequisites` verdict on staging, at or
  before the as-of, is a PASS at most `max_verdict_age` old ("Staging has been stable for
  48+ hours"). None recorded, INCONCLUSIVE or ERROR recorded, stale, or a simulated PASS
  judged for a real database: INCONCLUSIVE, saying which command to run. FAIL recorded:
  FAIL, whatever its age.
- production_shadow: the same for the latest `shadow` verdict on production
  ("Production shadow mode is healthy (24+ hours)").
- attest.oncall, attest.rollback_plan, attest.db_monitoring, attest.alert_channels: the
  human items, `--set attest.NAME="who"`; missing is INCONCLUSIVE.

The gate opens the database only for the as-of time and the server facts: it runs no
event query. On PASS the verdict's actions are the runbook's Phase 2 Step 1 commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..config.flags import plan_commands
from ..config.params import Attestations, Duration, GateParams
from ..core.errors import RolloutGatesError
from ..core.timefmt import format_duration
from ..core.verdict import Check, GateResult, Status
from ..rules.checklist import RunbookChecklist
from ..rules.recorded import assess_recorded_verdict
from ..rules.signals import assess_attestations
from ..run.evidence import latest_verdict, recorded_verdicts
from .base import Assessment, GateMetrics, GateSpec

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

ATTESTATIONS = {
    "oncall": "Engineering team is available for monitoring (staffed window)",
    "rollback_plan": "Rollback plan is documented and ready",
    "db_monitoring": "Database monitoring is active",
    "alert_channels": "Alert channels are configured",
}

# (check id, environment, gate, the runbook's checklist item)
RECORDED = (
    ("staging_prerequisites", "staging", "prerequisites", "Staging has been stable for 48+ hours"),
    ("production_shadow", "production", "shadow", "Production shadow mode is healthy (24+ hours)"),
)

# The runbook's checklist as it wrote it, and the check that ticks each item.
CHECKLIST = RunbookChecklist.of(
    "Phase 2, Pre-Flight Checklist",
    [
        *((item, check_id) for check_id, _env, _gate, item in RECORDED),
        ("Engineering team is available for monitoring", "attest.oncall"),
        ("Rollback plan is documented and ready", "attest.rollback_plan"),
        ("Database monitoring is active", "attest.db_monitoring"),
        ("Alert channels are configured", "attest.alert_channels"),
    ],
)


class PreflightAttestations(Attestations):
    oncall: str | None = None
    rollback_plan: str | None = None
    db_monitoring: str | None = None
    alert_channels: str | None = None


class PreflightParams(GateParams):
    max_verdict_age: Duration
    attest: PreflightAttestations = PreflightAttestations()


SPEC = GateSpec(
    id="preflight",
    runbook_step="Phase 2, Pre-Flight Checklist: staging stable 48h, shadow healthy 24h, "
    "team, rollback plan, database monitoring and alerts ready",
    window="latest verdicts + attestations",
    env="production",
    params_model=PreflightParams,
    after=("prerequisites", "shadow"),
)


@dataclass(frozen=True)
class PreflightMetrics(GateMetrics):
    """The latest recorded verdict of each prerequisite gate (or the error reading them)."""

    verdicts: dict[str, GateResult | None | RolloutGatesError]
    as_of: datetime
    simulated: bool = False  # whether this run reads simulated data
    attested_at: datetime | None = None  # when the attestations are recorded (default: as-of)


def collect(ctx) -> PreflightMetrics:
    """Read the recorded verdicts under the evidence root; the gate runs no event query."""
    found = {}
    for check_id, env, gate, _item in RECORDED:
        try:
            found[check_id] = latest_verdict(ctx.evidence_root, env, gate, at_or_before=ctx.as_of)
        except RolloutGatesError as exc:
            found[check_id] = exc
    return PreflightMetrics(
        verdicts=found,
        as_of=ctx.as_of,
        simulated=ctx.simulated,
        attested_at=ctx.attested_at,
        frames={"recorded_verdicts": verdict_history(ctx.evidence_root, ctx.as_of)},
    )


def evaluate(metrics: PreflightMetrics, params: PreflightParams) -> list[Check]:
    """The checklist, each item a check; pure."""
    checks = []
    for check_id, env, gate, item in RECORDED:
        verdict = metrics.verdicts.get(check_id)
        if isinstance(verdict, RolloutGatesError):
            checks.append(
                Check(
                    id=check_id,
                    rule=f"{item}: latest `{gate}` verdict on {env} is a recent PASS",
                    status=Status.ERROR,
                    detail=str(verdict),
                )
            )
            continue
        checks.append(
            assess_recorded_verdict(
                check_id,
                item,
                verdict,
                gate=gate,
                env=env,
                as_of=metrics.as_of,
                max_age=params.max_verdict_age,
                simulated=metrics.simulated,
            )
        )
    checks.extend(
        assess_attestations(params.attest, ATTESTATIONS, metrics.attested_at or metrics.as_of)
    )
    return checks


def verdict_history(root: Path, as_of: datetime, limit: int = 5) -> pd.DataFrame:
    """The last recorded verdicts of the prerequisite gates, newest first, for display."""
    import pandas as pd

    rows = []
    for _check_id, env, gate, _item in RECORDED:
        try:
            results = recorded_verdicts(root, env, gate)
        except RolloutGatesError as exc:
            rows.append({"gate": gate, "env": env, "status": "unreadable", "note": str(exc)})
            continue
        usable = [r for r in results if r.as_of is not None]
        for result in reversed(usable[-limit:]):
            age = as_of - result.as_of
            rows.append(
                {
                    "gate": gate,
                    "env": env,
                    "status": str(result.status),
                    "as_of": result.as_of,
                    "age": format_duration(age) if age >= timedelta(0) else "after the as-of",
                    "simulated": result.simulated,
                    "run_dir": result.run_dir,
                }
            )
    columns = ["gate", "env", "status", "as_of", "age", "simulated", "run_dir", "note"]
    return pd.DataFrame(rows, columns=columns)


def advice(result: Assessment) -> list[str]:
    """On PASS, the runbook's Phase 2 Step 1 (flip to full mode) and Step 2 (deploy)."""
    if result.status is Status.PASS:
        return plan_commands("full", result.env)
    return [
        "# Do not flip to full mode yet: complete the unticked checklist items above, then",
        f"rollout-gates run preflight --env {result.env}",
    ]
