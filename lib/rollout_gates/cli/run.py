"""`gates`, `run` and `watch`: the gates listed, run, and their verdicts reported."""

import contextlib
import functools
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from ..config import params as config
from ..core.errors import EXIT_ERROR, RolloutGatesError, UsageError
from ..core.secrets import WEBHOOK_ENV, redact_url, resolve_db_url
from ..core.timefmt import parse_as_of
from ..core.verdict import EXIT_CODES, GateResult, Status, worst
from .common import (
    DB_URL_OPTION,
    ENV_OPTION,
    OUTPUT_DIR_OPTION,
    every_option,
    parse_duration_option,
    reports_errors,
    sigterm_as_interrupt,
)


@click.command("gates")
def list_gates():
    """List the gates and the runbook step each one checks."""
    from ..gates import gate_ids, gate_spec

    for gate_id in gate_ids():
        spec = gate_spec(gate_id)
        click.echo(f"{spec.id:<14} {spec.env:<11} {spec.runbook_step}")
        click.echo(f"{'':<14} {'':<11} window: {spec.window}")


def gate_run_options(command):
    """The options every command that runs gates shares (run, watch)."""
    options = [
        ENV_OPTION,
        DB_URL_OPTION,
        click.option(
            "--set",
            "settings",
            multiple=True,
            metavar="KEY=VALUE",
            help="Change one gate parameter of params/defaults.yaml for this run (repeatable).",
        ),
        OUTPUT_DIR_OPTION,
        click.option(
            "--timeout", default=600, show_default=True, help="Seconds a notebook cell may run."
        ),
        click.option(
            "--lock-wait",
            default="10m",
            show_default=True,
            callback=parse_duration_option,
            help="How long to wait for a run of the same gate and env still going; then exit 4.",
        ),
        click.option(
            "--notify-webhook",
            envvar=WEBHOOK_ENV,
            show_envvar=True,
            metavar="URL",
            help="Slack-compatible webhook told of FAIL, ERROR and recovery (a secret: prefer "
            "the environment variable, which `ps` does not show).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def run_gate_options(url, overrides, output_dir, timeout, lock_wait, notify_webhook) -> dict:
    """run_gate's arguments from the options of gate_run_options, as `run` and `watch` pass them."""
    return {
        "db_url": url,
        "overrides": overrides,
        "output_root": output_dir,
        "execution_timeout": timeout,
        "lock_wait": lock_wait.total_seconds(),
        "secrets": (notify_webhook,) if notify_webhook else (),
        "webhook_url": notify_webhook,
    }


@click.command("run")
@click.argument("gate")
@gate_run_options
@click.option(
    "--as-of",
    default="",
    help="End of the judged window, ISO-8601 (default: the database server's now()).",
)
@click.option(
    "--align",
    callback=parse_duration_option,
    metavar="INTERVAL",
    help="Judge the window ending at the latest INTERVAL boundary of the clock (e.g. 30m: "
    ":00 or :30), the time a scheduled run was meant for, however late it starts.",
)
@click.option("--progress/--no-progress", default=None, help="Show papermill's progress bar.")
@click.option("--verbose", is_flag=True, help="On ERROR, also print the traceback to stderr.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    help="`run all`: how many gates run at the same time (default: the number of cores).",
)
@reports_errors
def run_command(
    gate, env, db_url, settings, output_dir, timeout, lock_wait, notify_webhook, as_of, align,
    progress, verbose, jobs,
):  # fmt: skip
    """Run GATE (or `all` of the environment's gates) and record its verdict.

    The database URL is never written to the evidence: it reaches the notebook
    through the environment, and any URL shown has its password replaced by ***.
    """
    from ..gates import gate_ids, gate_spec
    from ..run.evidence import recorded_traceback
    from ..run.parallel import run_gates
    from ..run.runner import check_request, run_gate

    if align and as_of:
        raise UsageError("give --as-of or --align, not both")
    if align:
        as_of = aligned_now(align).isoformat()
    url = resolve_db_url(db_url)
    as_of_note = parse_as_of(as_of)[1]
    if as_of_note:
        click.echo(as_of_note, err=True)
    overrides = config.parse_overrides(settings)
    selected = [g for g in gate_ids() if gate_spec(g).env == env] if gate == "all" else [gate]
    if not selected:
        raise RolloutGatesError(f"no gate belongs to the {env} environment yet")
    for gate_id in selected:
        check_request(gate_id, env, db_url=url, as_of=as_of, overrides=overrides)
    jobs = jobs or os.cpu_count() or 1
    # Progress bars of gates running side by side would garble each other.
    show_progress = (sys.stderr.isatty() if progress is None else progress) and jobs == 1
    results = []

    def report(result: GateResult) -> None:
        """In this process, as each gate ends: how its alert went, then its lines together."""
        results.append(result)
        echo_delivery(result)
        echo_result(result)
        if verbose and result.status is Status.ERROR:
            click.echo(recorded_traceback(Path(result.run_dir), result.gate), err=True)

    with sigterm_as_interrupt(), interrupts_as_error(env):
        run_gates(
            selected,
            functools.partial(
                run_gate,
                env=env,
                as_of=as_of,
                progress=show_progress,
                **run_gate_options(url, overrides, output_dir, timeout, lock_wait, notify_webhook),
            ),
            jobs=jobs,
            after={gate_id: gate_spec(gate_id).after for gate_id in selected},
            announce=lambda gate_id: click.echo(
                f"running {gate_id} on {env} against {redact_url(url)} ...", err=True
            ),
            report=report,
        )
    sys.exit(exit_code_of(results))


@click.command("watch")
@click.argument("gate")
@gate_run_options
@every_option("Interval between runs, aligned to the clock (30m: at :00 and :30 UTC).")
@click.option(
    "--for",
    "duration",
    default="6h",
    show_default=True,
    callback=parse_duration_option,
    help="How long to keep watching.",
)
@reports_errors
def watch_command(
    gate, env, db_url, settings, output_dir, timeout, lock_wait, notify_webhook, every, duration
):
    """Run GATE at every clock-aligned interval for a while, e.g. the runbook's intensive
    monitoring: `watch full-health --env production --every 30m --for 6h`.

    Each run leaves its own evidence folder and a run that errors does not stop the
    watch. The first run waits for the next aligned time (`run` gives a verdict now).
    Ctrl-C or SIGTERM stops it after writing the current run's partial evidence. At the
    end: one line per run, and the exit code of the worst verdict.
    """
    from ..run.runner import check_request, run_gate
    from ..run.watch import exit_code_of as watch_exit_code
    from ..run.watch import watch_gate

    url = resolve_db_url(db_url)
    overrides = config.parse_overrides(settings)
    check_request(gate, env, db_url=url, as_of="", overrides=overrides)

    def run_once() -> GateResult:
        result = run_gate(
            gate,
            env,
            **run_gate_options(url, overrides, output_dir, timeout, lock_wait, notify_webhook),
        )
        echo_delivery(result)
        return result

    with sigterm_as_interrupt():
        runs = watch_gate(run_once, every, duration, echo=lambda m: click.echo(m, err=True))
    click.echo(f"\nwatch of {gate} on {env}: {len(runs)} scheduled runs")
    for run in runs:
        click.echo(run.summary_line())
    sys.exit(watch_exit_code(runs))


@contextlib.contextmanager
def interrupts_as_error(env: str):
    """Ctrl-C or SIGTERM while gates run side by side: exit 4, never click's "Aborted!" (1,
    which reads as FAIL). Runs already started finish and keep their evidence."""
    try:
        yield
    except KeyboardInterrupt:
        raise RolloutGatesError(
            f"interrupted (Ctrl-C or SIGTERM) during `run` on {env}; the runs already started "
            "finished and wrote their evidence"
        ) from None


def aligned_now(interval) -> datetime:
    """Now, rounded down to a multiple of `interval` since the epoch (UTC)."""
    step = interval.total_seconds()
    return datetime.fromtimestamp(time.time() // step * step, UTC)


def echo_delivery(result: GateResult) -> None:
    """Say on stderr how the alert about a change of state went, if one was sent."""
    delivery = result.notification
    if delivery is not None:
        outcome = "sent" if delivery.sent else f"NOT sent ({delivery.error})"
        click.echo(
            f"notification ({delivery.kind}): {outcome} after {delivery.attempts} attempt(s)",
            err=True,
        )


def exit_code_of(results: list[GateResult]) -> int:
    """The worst verdict's exit code."""
    return EXIT_CODES[worst(r.status for r in results)] if results else EXIT_ERROR


def echo_result(result: GateResult) -> None:
    """One line for the verdict, one per check, the advice, and where the evidence is."""
    colours = {Status.PASS: "green", Status.FAIL: "red", Status.ERROR: "red"}
    click.secho(result.summary(), fg=colours.get(result.status, "yellow"), bold=True)
    for check in result.checks:
        click.echo(f"  {check.status:<12} {check.id:<20} {check.detail}")
    if result.simulated:
        click.echo(f"  (simulated data, scenario {result.scenario})")
    for line in result.actions:
        click.echo(f"  | {line}")
    if result.run_dir:
        click.echo(f"  evidence: {result.run_dir}")


COMMANDS = (list_gates, run_command, watch_command)
