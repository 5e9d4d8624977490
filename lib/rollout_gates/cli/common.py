"""What the command modules share: the common options, one-line errors, SIGTERM as Ctrl-C."""

import contextlib
import functools
import signal
import sys
from pathlib import Path

import click

from ..config import params as config
from ..core import timefmt
from ..core.errors import RolloutGatesError

OUTPUT_DIR_OPTION = click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Evidence root (default: outputs/ of the project).",
)
DB_URL_OPTION = click.option(
    "--db-url", help="Database URL (else ROLLOUT_DB_URL, else SUPABASE_DB_URL)."
)
ENV_OPTION = click.option(
    "--env",
    "env",
    type=click.Choice(config.ENVIRONMENTS),
    required=True,
    help="Environment whose observability_events the gate reads.",
)


def reports_errors(command):
    """Turn RolloutGatesError into one line on stderr and its exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except RolloutGatesError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


def parse_duration_option(ctx, param, value):
    """A click callback: '30m' -> timedelta, with the option's name in the error."""
    if value is None:
        return None
    try:
        return timefmt.parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def every_option(help_text: str):
    """--every: a clock-aligned interval, the runbook's 30 minutes unless given."""
    return click.option(
        "--every", default="30m", show_default=True, callback=parse_duration_option, help=help_text
    )


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Let SIGTERM stop work the way Ctrl-C does, once: the evidence of the run is still written."""
    received = []

    def interrupt(signum, frame):
        if not received:
            received.append(signum)
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
