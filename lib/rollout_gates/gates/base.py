"""The gate contract: what a gate module defines, checked when the registry loads it.

A gate module (gates/<id>.py with `-` written `_`, or one in the extra gates folder, see
gates/__init__.py) defines:

    SPEC: GateSpec                                  # id, runbook step, env, parameter model
    collect(ctx) -> Metrics                         # the gate's queries, as of ctx.as_of
    evaluate(metrics, params) -> list[Check]        # the rules; pure
    advice(result: Assessment) -> list[str]         # what the verdict tells the on-call to do
    CHECKLIST: RunbookChecklist                     # optional: the runbook items it ticks

`ctx` is the notebook's GateContext (notebook/context.py): ctx.connection, ctx.taxonomy,
ctx.window, ctx.params, ctx.ledger(), ctx.env, ctx.as_of, ctx.evidence_root, ctx.simulated,
ctx.attested_at. The metrics hold everything `evaluate` reads and, as `metrics.frames`, the
tables the notebook shows: they come out of the same queries, so a notebook and a replay step
each make one call and no query runs twice. Metrics that carry `phase` (a PhaseClock: the
clock the gate's checks judged by) give the verdict its phase fields; without it the kernel
reads the phase clock itself.

Imports: the runner and the CLI load a gate module for its SPEC on every command, and a gate
module is loaded before its notebook's kernel has anything to judge. So a gate module's
top-level imports stay light (config/, core/, rules/, this module): it imports telemetry/
(SQLAlchemy, pandas) and present/plots (matplotlib) inside the functions that use them, and
names their types for annotations under TYPE_CHECKING.
tests/test_gate_contract.py checks both this and the contract.
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..config.params import GateParams
from ..core.errors import RolloutGatesError
from ..core.verdict import Check, Status, gate_status
from ..rules.checklist import RunbookChecklist

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class GateSpec:
    id: str
    runbook_step: str
    window: str
    env: str
    params_model: type[GateParams]
    # Gates whose recorded verdicts this one reads: `run all` finishes them first.
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateMetrics:
    """What every gate's metrics carry besides what its rules read: `frames`, the tables its
    notebook shows, out of the same queries (None: not collected); never compared or printed,
    and given by keyword, after the gate's own fields."""

    frames: "dict[str, pd.DataFrame | None]" = field(
        default_factory=dict, compare=False, repr=False, kw_only=True
    )


@dataclass(frozen=True)
class Assessment:
    """A gate's judgement at one as-of, as `advice` reads it: the metrics behind the checks."""

    env: str
    params: GateParams
    metrics: Any
    checks: list[Check]

    @property
    def status(self) -> Status:
        return gate_status(self.checks)

    def reasons(self) -> list[str]:
        """'# id: detail' for each check with the gate's status: why it is not a PASS."""
        return [f"# {c.id}: {c.detail}" for c in self.checks if c.status is self.status]


def empty_telemetry(module: str, name: str) -> Callable[[], Any]:
    """A default_factory for a metrics field of a telemetry/ type: that type's empty value
    (telemetry.metrics OutcomeSummary: no outcome), imported only when it is built, since a
    gate module does not import telemetry/ at the top."""

    def build() -> Any:
        return getattr(import_module(f"..telemetry.{module}", __package__), name)()

    return build


class GateContractError(RolloutGatesError):
    """A gate module that does not define what the contract asks for."""


# (name, the positional parameters it takes); SPEC is checked apart.
FUNCTIONS = (("collect", 1), ("evaluate", 2), ("advice", 1))


def contract_problems(module: ModuleType, gate_id: str) -> list[str]:
    """What `module` lacks of the contract, each said; [] when it keeps it."""
    problems = []
    spec = getattr(module, "SPEC", None)
    if not isinstance(spec, GateSpec):
        problems.append("SPEC is missing" if spec is None else "SPEC is not a GateSpec")
    else:
        if spec.id != gate_id:
            problems.append(f"SPEC.id is {spec.id!r}, not the module's gate id {gate_id!r}")
        if not (isinstance(spec.params_model, type) and issubclass(spec.params_model, GateParams)):
            problems.append("SPEC.params_model is not a GateParams subclass")
    for name, arity in FUNCTIONS:
        function = getattr(module, name, None)
        if function is None:
            problems.append(f"{name}() is missing")
        elif not callable(function):
            problems.append(f"{name} is not a function")
        elif not takes_positional(function, arity):
            problems.append(f"{name}() does not take {arity} positional argument(s)")
    checklist = getattr(module, "CHECKLIST", None)
    if checklist is not None and not isinstance(checklist, RunbookChecklist):
        problems.append("CHECKLIST is not a RunbookChecklist")
    return problems


def takes_positional(function, count: int) -> bool:
    try:
        inspect.signature(function).bind(*range(count))
    except TypeError:
        return False
    return True


def check_gate(module: ModuleType, gate_id: str) -> ModuleType:
    """The module, once it keeps the contract; else GateContractError naming what is missing."""
    problems = contract_problems(module, gate_id)
    if problems:
        raise GateContractError(
            f"gate {gate_id!r} ({module.__file__}) does not keep the gate contract "
            f"(gates/base.py, docs/adding-a-gate.md): {'; '.join(problems)}"
        )
    return module


def assess(module: ModuleType, ctx) -> list[Check]:
    """The gate's checks at ctx.as_of, as its notebook computes them (replay's step)."""
    return module.evaluate(module.collect(ctx), ctx.params)
