"""`simulate` and `demo`: simulated rollouts, loaded into a database or run through every gate."""

import sys
import time
from pathlib import Path

import click

from ..config import params as config
from ..core.errors import EXIT_ERROR
from ..core.secrets import redact_url
from ..core.timefmt import parse_as_of
from ..core.verdict import Status
from .common import reports_errors


@click.command("simulate")
@click.option("--scenario", required=True, help="Scenario name in params/scenarios/.")
@click.option(
    "--db-url",
    required=True,
    help="Database to load (required: simulate never reads ROLLOUT_DB_URL or SUPABASE_DB_URL).",
)
@click.option(
    "--env",
    "env",
    type=click.Choice(config.ENVIRONMENTS),
    default="production",
    show_default=True,
    help="Which environment of the scenario to load.",
)
@click.option("--end", default="", help="End of the timeline, ISO-8601 (default: server now()).")
@click.option(
    "--force", is_flag=True, help="Overwrite a table that holds events not written by simulate."
)
@click.option(
    "--append",
    is_flag=True,
    help="Add the scenario's events to those loaded before (e.g. params/scenarios/incident.yaml "
    "during a watch) instead of replacing them.",
)
@reports_errors
def simulate_command(scenario, db_url, env, end, force, append):
    """Load a simulated rollout into a database (replacing earlier simulated data)."""
    from ..sim.simulate import simulate

    end_time, note = parse_as_of(end)
    if note:
        click.echo(note.replace("--as-of", "--end"), err=True)
    summary = simulate(
        db_url,
        scenario,
        env,
        end_time,
        force=force,
        append=append,
        progress=lambda m: click.echo(m, err=True),
    )
    click.echo(
        f"{'appended' if append else 'loaded'} {summary.rows} events of scenario "
        f"{scenario} ({env}) into "
        f"{redact_url(db_url)}, {summary.start:%Y-%m-%d %H:%M} to "
        f"{summary.end:%Y-%m-%d %H:%M} UTC"
    )


@click.command("demo")
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    help="Scenario to simulate (repeatable; default: v3-rollout, the whole rollout story).",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Evidence root (default: a new outputs/demo/<UTC time>/, linked as outputs/demo/latest).",
)
@reports_errors
def demo_command(scenarios, output_dir):
    """Simulate a rollout on the embedded server, run every gate at its checkpoint, show where
    the evidence is. Exits 0 when every gate ran, whatever the verdicts; 4 if one could not."""
    from ..sim.demo import run_demo

    started = time.monotonic()
    root, runs, reports = run_demo(
        list(scenarios) or None, output_dir, echo=lambda m: click.echo(m, err=True)
    )
    click.echo("")
    for row in demo_table(runs):
        click.echo(row)
    click.echo(f"\ndemo finished in {time.monotonic() - started:.0f}s; evidence under {root}")
    for report in reports:
        click.echo(f"report: {report}")
    click.echo(
        "notebooks by hand: `jupyter lab notebooks/` (with ROLLOUT_DB_URL unset they read the "
        "demo's embedded databases)"
    )
    could_not_run = [run for run in runs if run.result.status is Status.ERROR]
    sys.exit(EXIT_ERROR if could_not_run else 0)


def demo_table(runs) -> list[str]:
    """One line a gate run: what ran, when it judged, its verdict and how long it took."""
    rows = [f"{'scenario':<12} {'gate':<14} {'env':<11} {'as of (UTC)':<17} {'verdict':<13} time"]
    for run in runs:
        result = run.result
        when = f"{result.as_of:%Y-%m-%d %H:%M}" if result.as_of else "-"
        label = f"{run.label}: {result.error}" if result.error else run.label
        rows.append(
            f"{run.scenario:<12} {result.gate:<14} {result.env:<11} {when:<17} "
            f"{result.status:<13} {run.seconds:>3.0f}s  {label}"
        )
    return rows


COMMANDS = (simulate_command, demo_command)
