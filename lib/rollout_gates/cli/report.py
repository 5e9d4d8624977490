"""`report` and `incident`: the documents written from the recorded evidence."""

from pathlib import Path

import click

from ..core import layout
from ..core.timefmt import parse_as_of
from .common import ENV_OPTION, reports_errors


@click.command("report")
@ENV_OPTION
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="Where to write the report."
)
@click.option(
    "--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True,
    help="Markdown, or one self-contained HTML page (images inline) for an incident report.",
)  # fmt: skip
@click.option(
    "--evidence-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Evidence root holding <env>/<gate>/... and <env>/flags.jsonl (default: outputs/).",
)
@reports_errors
def report_command(env, output, fmt, evidence_dir):
    """Write verification.md (the runbook's post-rollout document) from the recorded evidence."""
    from ..report.verification import write_report

    click.echo(write_report(evidence_dir or layout.outputs_dir(), env, output, fmt))


@click.command("incident")
@ENV_OPTION
@click.option("--at", "at", help="The failure at or before this time (ISO-8601; default: latest).")
@click.option(
    "--evidence-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Evidence root holding <env>/<gate>/... and <env>/flags.jsonl (default: outputs/).",
)
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), help="Folder to write.")
@reports_errors
def incident_command(env, at, evidence_dir, output):
    """Draft the incident report of the latest FAIL and zip exactly the evidence it cites."""
    from ..report.incident import write_incident

    moment, _ = parse_as_of(at)
    draft, bundle = write_incident(evidence_dir or layout.outputs_dir(), env, moment, output)
    click.echo(f"draft: {draft}")
    click.echo(f"bundle: {bundle}")


COMMANDS = (report_command, incident_command)
