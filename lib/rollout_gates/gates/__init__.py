"""The gate registry: one module a gate, named after its id, listed in runbook order.

A gate module defines SPEC (a GateSpec), its parameter model, pure `evaluate`
functions and `actions(status, env)`: the advice its verdict carries. Only the
module of the gate being run is imported, which keeps a run's start-up short.
"""

import difflib
import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType

from ..config.params import GateParams
from ..core.errors import UsageError

# The runbook's order; a gate module not listed here comes after these.
RUNBOOK_ORDER = (
    "prerequisites",
    "shadow",
    "preflight",
    "full-health",
    "full-extended",
    "scale",
    "rollback",
    "success",
    "cleanup",
)

# The rollout phase (of the gate's own environment) in which each checkpoint decides: a run
# in another phase keeps its status but is labelled out of phase (legacy.rollout_clock).
CHECKPOINT_PHASE = {
    "prerequisites": "full",  # staging's full mode
    "shadow": "shadow",
    "preflight": "shadow",  # before the flip to full mode
    "full-health": "full",
    "full-extended": "full",
    "scale": "full",
    "rollback": "rollback",
    "success": "full",
    "cleanup": "full",
}


@dataclass(frozen=True)
class GateSpec:
    id: str
    runbook_step: str
    window: str
    env: str
    params_model: type[GateParams]
    # Gates whose recorded verdicts this one reads: `run all` finishes them first.
    after: tuple[str, ...] = ()


def gate_ids() -> list[str]:
    """Every gate with a module here (gate `full-health` lives in `full_health.py`)."""
    found = {
        info.name.replace("_", "-")
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_")
    }
    order = {gate_id: position for position, gate_id in enumerate(RUNBOOK_ORDER)}
    return sorted(found, key=lambda gate_id: (order.get(gate_id, len(order)), gate_id))


def gate_module(gate_id: str) -> ModuleType:
    known = gate_ids()
    if gate_id not in known:
        close = difflib.get_close_matches(gate_id, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(
            f"unknown gate {gate_id!r}{hint} (known: {', '.join(known)}; "
            "`rollout-gates gates` lists them)"
        )
    return importlib.import_module(f"{__name__}.{gate_id.replace('-', '_')}")


def gate_spec(gate_id: str) -> GateSpec:
    return gate_module(gate_id).SPEC


def gate_checklist(gate_id: str):
    """The runbook items the gate decides (its module's CHECKLIST), or None if it declares none."""
    return getattr(gate_module(gate_id), "CHECKLIST", None)
