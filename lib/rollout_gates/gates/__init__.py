"""The gate registry: one module a gate, each with a SPEC, `collect` and `evaluate`."""

import difflib
from dataclasses import dataclass
from types import ModuleType

from ..config import GateParams
from ..errors import UsageError


@dataclass(frozen=True)
class GateSpec:
    id: str
    runbook_step: str
    window: str
    env: str
    params_model: type[GateParams]


def _registry() -> dict[str, ModuleType]:
    from . import full_health

    return {module.SPEC.id: module for module in (full_health,)}


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
