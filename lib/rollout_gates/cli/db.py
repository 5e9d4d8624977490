"""`doctor` and `db`: the database the gates read, checked; the embedded server, run."""

import sys

import click

from ..config import params as config
from ..core.errors import EXIT_ERROR
from ..core.secrets import resolve_db_url
from .common import DB_URL_OPTION, ENV_OPTION, reports_errors


@click.command("doctor")
@ENV_OPTION
@DB_URL_OPTION
@reports_errors
def doctor_command(env, db_url):
    """Check that the gates can run against the database, and fast.

    Connects read-only, as the gates do, and checks the server version, that the session is
    read-only and may read observability_events, the table's columns and types, its indexes,
    the planner's row estimate and the events per day of the last week. Prints the CREATE INDEX
    CONCURRENTLY statements that would help, for a DBA to run: doctor runs none of them.

    Exit codes: 0 every essential check passed (warnings allowed), 2 usage error, 4 one failed.
    """
    from ..ops.doctor import diagnose, report_lines

    diagnosis = diagnose(resolve_db_url(db_url))
    click.echo("\n".join(report_lines(diagnosis, env)))
    sys.exit(EXIT_ERROR if diagnosis.failed else 0)


@click.group("db")
def db_group():
    """The embedded PostgreSQL server, for the demo and for notebooks opened by hand."""


@db_group.command("start")
@reports_errors
def db_start():
    """Start the embedded server (data in the per-user cache folder) and print its URLs."""
    from ..ops import embedded

    for env, url in embedded.start().items():
        click.echo(f"{env}: {url}")
    click.echo(f"data directory: {embedded.data_dir()}", err=True)


@db_group.command("url")
@click.option("--env", "env", type=click.Choice(config.ENVIRONMENTS), default="production")
@click.option("--scenario", help="A database loaded by `demo` for this scenario.")
@reports_errors
def db_url_command(env, scenario):
    """Print the URL of an embedded database, e.g. export ROLLOUT_DB_URL=$(rollout-gates db url)."""
    from ..ops import embedded
    from ..sim.demo import demo_database

    click.echo(embedded.url(demo_database(scenario, env) if scenario else env))


@db_group.command("stop")
@click.option(
    "--only-this-install",
    is_flag=True,
    help="Stop it only if this installation's binaries started it (`make clean` uses this).",
)
@reports_errors
def db_stop(only_this_install):
    """Stop the embedded server."""
    from ..ops import embedded

    if embedded.stop(only_ours=only_this_install):
        click.echo("stopped")
    elif only_this_install and embedded.server_state().running:
        click.echo("the embedded server was started by another install: left running")
    else:
        click.echo("the embedded server was not running")


@db_group.command("status")
@reports_errors
def db_status():
    """The embedded server's data folder and binaries, and whether they are this install's."""
    from ..ops import embedded

    for line in embedded.status_lines():
        click.echo(line)


COMMANDS = (doctor_command, db_group)
