"""`rollout-gates demo`: simulated rollouts on the embedded server, every gate run on them."""

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from . import admin, embedded, paths
from .config import ENVIRONMENTS
from .runner import run_gate
from .verdict import GateResult

# Each scenario with the moments (before its end) at which the demo runs the gates:
# the dip is judged at its incident hour and again now, after recovery.
DEMO_SCENARIOS: dict[str, list[timedelta]] = {
    "healthy": [timedelta(0)],
    "red-flag-success-dip": [timedelta(hours=3), timedelta(0)],
}
DEMO_GATES = ("full-health",)


def demo_database(scenario: str, env: str) -> str:
    return f"demo_{scenario.replace('-', '_')}_{env}"


def run_demo(
    scenarios: list[str] | None, output_root: Path | None, echo: Callable[[str], None]
) -> list[GateResult]:
    from .simulate import simulate

    output_root = output_root or paths.outputs_dir() / "demo"
    echo("starting the embedded PostgreSQL server ...")
    server_url = admin.with_database(embedded.start()["production"], "postgres")
    results = []
    for scenario in scenarios or list(DEMO_SCENARIOS):
        urls = {}
        for env in ENVIRONMENTS:
            urls[env] = admin.create_database(server_url, demo_database(scenario, env))
            summary = simulate(urls[env], scenario, env)
            echo(f"simulated {scenario} ({env}): {summary.rows} events")
        end = summary.end
        for before in DEMO_SCENARIOS.get(scenario, [timedelta(0)]):
            as_of = (end - before).isoformat()
            for gate_id in DEMO_GATES:
                echo(f"running {gate_id} on {scenario} as of {as_of} ...")
                results.append(
                    run_gate(
                        gate_id,
                        "production",
                        db_url=urls["production"],
                        as_of=as_of,
                        output_root=output_root / scenario,
                    )
                )
    return results
