"""`replay` and `trace`: notebooks that look into verdicts after the fact, recording none."""

from datetime import datetime
from pathlib import Path

import click

from ..config import params as config
from ..core import timefmt
from ..core.errors import RolloutGatesError, UsageError
from ..core.secrets import resolve_db_url
from .common import (
    DB_URL_OPTION,
    ENV_OPTION,
    OUTPUT_DIR_OPTION,
    parse_duration_option,
    reports_errors,
    sigterm_as_interrupt,
)


@click.command("replay")
@click.argument("gate")
@ENV_OPTION
@click.option("--from", "start", required=True, help="First as-of time, ISO-8601 (UTC if naive).")
@click.option("--to", "end", default="", help="Last as-of time (default: the database's now()).")
@click.option(
    "--step",
    default="30m",
    show_default=True,
    callback=parse_duration_option,
    help="Time between two as-of times.",
)
@DB_URL_OPTION
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Change one gate parameter for the replay (repeatable), e.g. to try a threshold.",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Evidence root (default: outputs/); the replay goes to <env>/replays/<gate>/.",
)
@click.option("--timeout", default=600, show_default=True, help="Seconds a notebook cell may run.")
@reports_errors
def replay_command(gate, env, start, end, step, db_url, settings, output_dir, timeout):
    """Backtest GATE: judge it at every STEP from --from to --to, in one notebook.

    When would a red flag have fired, and would it have fired on a normal day? Each
    step applies the gate's rules to its own window; the notebook shows the verdict
    timeline as a table and a plot. Recorded verdicts are not touched. Exit 0 when
    the replay ran, whatever it found; 4 when it could not.
    """
    from ..run.runner import run_replay

    url = resolve_db_url(db_url)
    with sigterm_as_interrupt():
        run_dir, summary, error = run_replay(
            gate,
            env,
            db_url=url,
            start=start,
            end=end,
            step=timefmt.format_duration(step),
            overrides=config.parse_overrides(settings),
            output_root=output_dir,
            execution_timeout=timeout,
        )
    if error:
        raise RolloutGatesError(f"replay of {gate} failed: {error}; partial notebook in {run_dir}")
    click.echo(f"{'as of (UTC)':<17}  {'status':<12}  not passing")
    for step_row in summary["timeline"]:
        when = datetime.fromisoformat(step_row["as_of"])
        click.echo(f"{when:%Y-%m-%d %H:%M}  {step_row['status']:<12}  {step_row['not_passing']}")
    changes = [
        row
        for previous, row in zip([None, *summary["timeline"]], summary["timeline"], strict=False)
        if previous is not None and previous["status"] != row["status"]
    ]
    for row in changes:
        click.echo(f"changed to {row['status']} at {row['as_of']}")
    click.echo(f"{summary['steps']} steps; worst {summary['worst']}; evidence: {run_dir}")


@click.command("trace")
@ENV_OPTION
@click.option(
    "--verdict",
    "verdict_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A verdict.json: trace the bookings behind its failing checks.",
)
@click.option("--booking", "booking_id", default="", help="Trace this one booking id.")
@click.option("--as-of", "as_of", default="", help="ISO-8601 (default: the verdict's, else now).")
@DB_URL_OPTION
@OUTPUT_DIR_OPTION
@reports_errors
def trace_command(env, verdict_path, booking_id, as_of, db_url, output_dir):
    """Open booking-trace.ipynb after a red flag: each booking's trail, state path and why
    its outcome counts as it does. Exit 0 when the trace ran; 4 when it could not."""
    from ..run.runner import run_trace

    if bool(verdict_path) == bool(booking_id):
        raise UsageError("give one of --verdict and --booking")
    url = resolve_db_url(db_url)
    with sigterm_as_interrupt():
        run_dir, error = run_trace(
            env, db_url=url, verdict_path=verdict_path, booking_id=booking_id, as_of=as_of,
            output_root=output_dir,
        )  # fmt: skip
    if error:
        raise RolloutGatesError(f"trace failed: {error}; partial notebook in {run_dir}")
    click.echo(f"trace: {run_dir / 'booking-trace.html'}")


COMMANDS = (replay_command, trace_command)
