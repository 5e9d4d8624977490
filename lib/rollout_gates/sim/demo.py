"""`rollout-gates demo`: a simulated rollout on the embedded server, each gate at its checkpoint."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from ..config.ledger import append_changes
from ..config.params import ENVIRONMENTS
from ..core import layout
from ..core.verdict import GateResult
from ..gates import gate_ids, gate_spec
from ..ops import admin, embedded
from ..report.verification import write_report
from ..run.runner import run_gate

DEFAULT_SCENARIOS = ("v3-rollout",)


@dataclass(frozen=True)
class DemoRun:
    scenario: str
    label: str
    result: GateResult
    seconds: float


def demo_database(scenario: str, env: str) -> str:
    """The demo's main scenario lives in the embedded `staging` and `production` databases,
    where notebooks opened by hand find it; any other scenario in databases of its own."""
    if scenario == DEFAULT_SCENARIOS[0]:
        return env
    return f"demo_{scenario.replace('-', '_')}_{env}"


def new_demo_root(parent: Path) -> Path:
    """outputs/demo/<UTC time>/, with outputs/demo/latest pointing at it."""
    stamp = layout.stamp(datetime.now(UTC))
    root = parent / stamp
    root.mkdir(parents=True, exist_ok=False)
    latest = parent / layout.LATEST
    if latest.is_symlink() or not latest.exists():
        latest.unlink(missing_ok=True)
        latest.symlink_to(stamp, target_is_directory=True)
    return root


def run_demo(
    scenarios: list[str] | None, output_root: Path | None, echo: Callable[[str], None]
) -> tuple[Path, list[DemoRun], list[Path]]:
    """Load each scenario into its own staging and production databases and run its checkpoints.

    A scenario without checkpoints gets `full-health` at its end. After the checkpoints,
    every gate of each environment runs once more at the end (`run all`).
    """
    from .simulate import flag_changes, load_scenario, simulate

    root = output_root or new_demo_root(layout.demo_dir(layout.outputs_dir()))
    echo("starting the embedded PostgreSQL server ...")
    server_url = admin.with_database(embedded.start()["production"], "postgres")
    end = server_clock(server_url)
    runs, reports = [], []
    for name in scenarios or DEFAULT_SCENARIOS:
        scenario = load_scenario(name)
        evidence = root / name
        urls = {}
        for env in ENVIRONMENTS:
            urls[env] = admin.create_database(server_url, demo_database(name, env), replace=True)
            summary = simulate(urls[env], name, env, end)
            echo(f"simulated {name} ({env}): {summary.rows} events")
            append_changes(layout.ledger_path(evidence, env), flag_changes(scenario, env, end))
        for gate_id, env, as_of, settings, label in demo_plan(scenario, end):
            echo(f"[{name}] {gate_id} on {env} as of {as_of:%Y-%m-%d %H:%M} UTC ({label}) ...")
            started = time.monotonic()
            result = run_gate(
                gate_id,
                env,
                db_url=urls[env],
                as_of=as_of.isoformat(),
                overrides=settings,
                output_root=evidence,
            )
            runs.append(DemoRun(name, label, result, time.monotonic() - started))
            label = f", {result.out_of_phase}" if result.out_of_phase else ""
            echo(f"    {result.status}{label}")
        reports += [write_report(evidence, env) for env in ENVIRONMENTS]
        reports.append(write_report(evidence, "production", fmt="html"))
    return root, runs, reports


def demo_plan(scenario, end: datetime):
    """(gate, env, as_of, settings, label) in time order: checkpoints, then `run all` at the end."""
    plan = []
    for checkpoint in scenario.checkpoints:
        env = checkpoint.env or gate_spec(checkpoint.gate).env
        label = checkpoint.note or "checkpoint"
        as_of = end - checkpoint.at
        plan.append((checkpoint.gate, env, as_of, dict(checkpoint.set or {}), label))
    if not plan:
        plan.append(("full-health", "production", end, {}, "end of the scenario"))
    plan.sort(key=lambda step: step[2])
    settings_by_gate = {step[0]: step[3] for step in plan}
    for env in ENVIRONMENTS:
        for gate_id in gate_ids():
            if gate_spec(gate_id).env == env:
                plan.append((gate_id, env, end, settings_by_gate.get(gate_id, {}), "run all"))
    return plan


def server_clock(server_url: str) -> datetime:
    """The database server's now(), to the second: the end of every simulated timeline."""
    with psycopg.connect(server_url) as connection:
        now = connection.execute("SELECT date_trunc('second', now())").fetchone()[0]
    return now.astimezone(UTC) - timedelta(seconds=1)
