"""`flags`: the runbook's feature flags, their change ledger and env file checks."""

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from ..config import params as config
from ..core import layout
from ..core.errors import UsageError
from ..core.timefmt import parse_as_of
from .common import ENV_OPTION, reports_errors

LEDGER_HELP = "Evidence root holding <env>/flags.jsonl (default: outputs/)."


@click.group("flags")
def flags_group():
    """The runbook's feature flags: commands of a phase, the change ledger, env file checks."""


@flags_group.command("plan")
@click.argument("phase")
@ENV_OPTION
@click.option("--to", "target", type=int, help="scale: the new MAX_PARALLEL (one step up).")
@click.option("--from", "current", type=int, help="scale: the current MAX_PARALLEL (else ledger).")
@click.option(
    "--cap",
    type=int,
    help="scale: the highest MAX_PARALLEL allowed (default: the scale gate's max_parallel_cap).",
)
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), help=LEDGER_HELP)
@reports_errors
def flags_plan(phase, env, target, current, cap, output_dir):
    """Print the runbook's commands for PHASE (shadow, full, rollback, or scale --to N)."""
    from ..config import flags
    from ..config.ledger import MAX_PARALLEL, read_ledger, value_at

    if phase == "scale":
        if target is None:
            raise UsageError("flags plan scale needs --to N, the new MAX_PARALLEL")
        if current is None:
            changes = read_ledger(layout.ledger_path(output_dir or layout.outputs_dir(), env))
            known = value_at(changes, MAX_PARALLEL, datetime.now(UTC))
            if known is None:
                raise UsageError("the ledger does not know MAX_PARALLEL yet: pass --from N")
            current = int(known)
        if cap is None:
            from ..gates import gate_spec

            cap = config.load_params(gate_spec("scale").params_model, "scale", env).max_parallel_cap
        lines = flags.plan_scale(current, target, env, cap)
    else:
        lines = flags.plan_commands(phase, env)
    click.echo("\n".join(lines))


@flags_group.command("record")
@ENV_OPTION
@click.option(
    "--set", "settings", multiple=True, required=True, metavar="NAME=VALUE", help="A flag set."
)
@click.option("--by", default=lambda: os.environ.get("USER", "unknown"), help="Who changed it.")
@click.option("--at", "when", default="", help="When, ISO-8601 (default: now, UTC).")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), help=LEDGER_HELP)
@reports_errors
def flags_record(env, settings, by, when, output_dir):
    """Append flag changes to the environment's ledger (outputs/<env>/flags.jsonl)."""
    from ..config.flags import validate_setting
    from ..config.ledger import FlagChange, append_changes, read_ledger, value_at

    moment, note = parse_as_of(when)
    if note:
        click.echo(note.replace("--as-of", "--at"), err=True)
    moment = moment or datetime.now(UTC)
    path = layout.ledger_path(output_dir or layout.outputs_dir(), env)
    history = read_ledger(path)
    changes = []
    for variable, value in config.parse_overrides(settings).items():
        old = value_at(history, variable, moment)
        changes.append(FlagChange(moment, variable, validate_setting(variable, value), old, by))
    append_changes(path, changes)
    for change in changes:
        click.echo(f"recorded {change.variable}: {change.old} -> {change.new} at {moment:%FT%TZ}")
    click.echo(f"ledger: {path}")


@flags_group.command("check")
@click.option(
    "--env-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The output of `vercel env pull`.",
)
@click.option("--phase", required=True, help="The phase the flags should be in.")
@reports_errors
def flags_check(env_file, phase):
    """Check a pulled env file against the runbook's values for PHASE; exit 1 on a mismatch."""
    from ..config import flags

    values = flags.read_env_file(env_file)
    mismatches = flags.check_env_values(values, phase)
    click.echo(f"the application runs in {flags.effective_mode(values)} mode with these values")
    for mismatch in mismatches:
        click.secho(f"MISMATCH {mismatch.describe()}", fg="red")
    if mismatches:
        sys.exit(1)
    click.echo(f"all flags match the runbook's {phase} phase")


COMMANDS = (flags_group,)
