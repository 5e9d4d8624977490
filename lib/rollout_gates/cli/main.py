"""The `rollout-gates` command line: the root group; each command group has its own module."""

import os

import click

from .. import __version__
from . import db, demo, flags, investigate, report, run, schedule

# Each module lists its commands in COMMANDS; the root group registers them all.
COMMAND_MODULES = (run, investigate, schedule, db, demo, flags, report)


def forbid_world_write() -> None:
    """Evidence, ledgers and reports never get world-write permission, whatever the umask."""
    os.umask(os.umask(0) | 0o002)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="rollout-gates")
def main():
    """Gates for the Assignment Pipeline V3 rollout runbook.

    Each gate runs a runbook checkpoint as a Jupyter notebook against an
    environment's observability_events and records PASS, FAIL, INCONCLUSIVE or
    ERROR with its evidence under outputs/.

    Exit codes: 0 PASS, 1 FAIL, 2 usage error, 3 INCONCLUSIVE, 4 ERROR.
    """
    forbid_world_write()


for module in COMMAND_MODULES:
    for command in module.COMMANDS:
        main.add_command(command)
