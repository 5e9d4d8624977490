"""The gate registry: one module a gate, named after its id, listed in runbook order.

Each module keeps the gate contract (base.py), checked when it is loaded. The built-in gates
live here; more come from the folder ROLLOUT_EXTRA_GATES_DIR names, laid out like the
project: gates/<id>.py, notebooks/<id>.ipynb and params.yaml (docs/adding-a-gate.md). Only
the module of the gate being run is imported, which keeps a run's start-up short.
"""

import difflib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from ..core import layout
from ..core.errors import UsageError
from .base import GateSpec, check_gate

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
# in another phase keeps its status but is labelled out of phase (telemetry/phase.py).
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


BUILT_IN = Path(__file__).parent
NOT_GATES = {"base"}  # modules of this package that are not gates
EXTRA_PACKAGE = "rollout_gates_extra"  # the name extra gate modules are imported under


def gate_files() -> dict[str, Path]:
    """Every gate's module file by gate id: the built-in ones, then the extra folder's."""
    found = modules_in(BUILT_IN)
    extra = layout.extra_gates_dir()
    if extra is not None:
        for gate_id, path in modules_in(extra / "gates").items():
            if gate_id in found:
                raise UsageError(
                    f"extra gate {gate_id!r} ({path}) has the id of the gate in {found[gate_id]}"
                )
            found[gate_id] = path
    return found


def modules_in(folder: Path) -> dict[str, Path]:
    """gates/full_health.py is gate `full-health`; _private.py and base.py are no gates."""
    return {
        path.stem.replace("_", "-"): path
        for path in sorted(folder.glob("*.py"))
        if not path.stem.startswith("_") and path.stem not in NOT_GATES
    }


def gate_ids() -> list[str]:
    """Every gate, in the runbook's order; gates it does not list after those, by id."""
    order = {gate_id: position for position, gate_id in enumerate(RUNBOOK_ORDER)}
    return sorted(gate_files(), key=lambda gate_id: (order.get(gate_id, len(order)), gate_id))


def gate_module(gate_id: str) -> ModuleType:
    """The gate's module, checked against the contract (base.py)."""
    files = gate_files()
    if gate_id not in files:
        known = gate_ids()
        close = difflib.get_close_matches(gate_id, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(
            f"unknown gate {gate_id!r}{hint} (known: {', '.join(known)}; "
            "`rollout-gates gates` lists them)"
        )
    path = files[gate_id]
    if path.parent == BUILT_IN:
        module = importlib.import_module(f"{__name__}.{path.stem}")
    else:
        module = import_extra(path)
    return check_gate(module, gate_id)


def import_extra(path: Path) -> ModuleType:
    """An extra gate's module, imported once from its file."""
    name = f"{EXTRA_PACKAGE}.{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def gate_notebook(gate_id: str) -> Path:
    """notebooks/<id>.ipynb: the project's for a built-in gate, the extra folder's for an extra."""
    path = gate_files().get(gate_id)
    if path is not None and path.parent != BUILT_IN:
        return path.parent.parent / "notebooks" / f"{gate_id}.ipynb"
    return layout.notebooks_dir() / f"{gate_id}.ipynb"


def gate_spec(gate_id: str) -> GateSpec:
    return gate_module(gate_id).SPEC


def gate_checklist(gate_id: str):
    """The runbook items the gate decides (its module's CHECKLIST), or None if it declares none."""
    return getattr(gate_module(gate_id), "CHECKLIST", None)
