"""The gate registry: one module a gate, found by discovery, listed in runbook order.

A gate module defines SPEC (a GateSpec), its parameter model, pure `evaluate`
functions and `actions(status, env)`: the advice its verdict carries.
"""

import difflib
import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from ..config import GateParams
from ..errors import UsageError

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


@dataclass(frozen=True)
class GateSpec:
    id: str
    runbook_step: str
    window: str
    env: str
    params_model: type[GateParams]


@cache
def _registry() -> dict[str, ModuleType]:
    modules = [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_")
    ]
    order = {gate_id: position for position, gate_id in enumerate(RUNBOOK_ORDER)}
    modules.sort(key=lambda m: (order.get(m.SPEC.id, len(order)), m.SPEC.id))
    return {module.SPEC.id: module for module in modules}


def gate_ids() -> list[str]:
    return list(_registry())


def gate_module(gate_id: str) -> ModuleType:
    registry = _registry()
    if gate_id not in registry:
        close = difflib.get_close_matches(gate_id, list(registry), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(
            f"unknown gate {gate_id!r}{hint} (known: {', '.join(registry)}; "
            "`rollout-gates gates` lists them)"
        )
    return registry[gate_id]


def gate_spec(gate_id: str) -> GateSpec:
    return gate_module(gate_id).SPEC
