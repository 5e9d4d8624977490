"""`schedule` and `prune`: gates run unattended, and their evidence kept from filling the disk."""

from datetime import UTC, datetime
from pathlib import Path

import click

from ..core import layout
from .common import ENV_OPTION, OUTPUT_DIR_OPTION, every_option, reports_errors


@click.command("schedule")
@click.argument("gate")
@ENV_OPTION
@every_option("Interval, aligned to the clock; must divide the hour or the day.")
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File with ROLLOUT_DB_URL=... (mode 0600) the scheduler loads "
    "(default: /etc/rollout-gates/ENV.env).",
)
@OUTPUT_DIR_OPTION
@reports_errors
def schedule_command(gate, env, every, env_file, output_dir):
    """Print a crontab line and systemd units that run GATE every INTERVAL.

    Each scheduled run passes --align, so a late run judges the window of the time it
    was scheduled for. docs/scheduling.md shows Airflow and CI equivalents.
    """
    from ..gates import gate_module
    from ..run.schedule import Job, check_interval, cron_entry, systemd_units

    gate_module(gate)
    check_interval(every)
    job = Job(
        gate=gate,
        env=env,
        every=every,
        project=layout.PROJECT_ROOT,
        env_file=env_file or Path(f"/etc/rollout-gates/{env}.env"),
        output_dir=output_dir.resolve() if output_dir else None,
    )
    click.echo(f"# cron (crontab -e); {job.env_file} holds ROLLOUT_DB_URL=..., mode 0600")
    click.echo(cron_entry(job))
    for name, text in systemd_units(job).items():
        click.echo(f"\n# systemd: /etc/systemd/system/{name}")
        click.echo(text, nl=False)
    click.echo(f"\n# then: systemctl daemon-reload && systemctl enable --now {job.name}.timer")


@click.command("prune")
@ENV_OPTION
@click.option(
    "--keep-days",
    type=click.FloatRange(min=0),
    required=True,
    help="Keep every run younger than this many days.",
)
@click.option("--include-failures", is_flag=True, help="Also remove old FAIL and ERROR runs.")
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@OUTPUT_DIR_OPTION
@reports_errors
def prune_command(env, keep_days, include_failures, dry_run, output_dir):
    """Remove run folders older than --keep-days from the environment's evidence.

    Never removes the latest run of a gate, nor a FAIL or ERROR run unless
    --include-failures: those are what incident reports link to.
    """
    from ..run.prune import find_runs, folder_size, remove_runs, select_prunable

    root = output_dir or layout.outputs_dir()
    runs = find_runs(root, env)
    doomed = select_prunable(runs, datetime.now(UTC), keep_days, include_failures)
    for run in doomed:
        click.echo(f"{'would remove' if dry_run else 'removing'} {run.path} ({run.status or '-'})")
    freed = sum(folder_size(run.path) for run in doomed) if dry_run else remove_runs(doomed)
    verb = "would free" if dry_run else "freed"
    click.echo(
        f"{len(doomed)} of {len(runs)} runs under {root / env}; {verb} {freed / 1e6:.1f} MB",
        err=True,
    )


COMMANDS = (schedule_command, prune_command)
