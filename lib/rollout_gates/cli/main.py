"""The `rollout-gates` command line."""

import contextlib
import functools
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from .. import __version__
from ..config import params as config
from ..core import layout, timefmt
from ..core.errors import EXIT_ERROR, RolloutGatesError, UsageError
from ..core.verdict import GateResult, Status, worst
from ..telemetry import db

LEDGER_HELP = "Evidence root holding <env>/flags.jsonl (default: outputs/)."
OUTPUT_DIR_OPTION = click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Evidence root (default: outputs/ of the project).",
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


@main.command("gates")
def list_gates():
    """List the gates and the runbook step each one checks."""
    from ..gates import gate_ids, gate_spec

    for gate_id in gate_ids():
        spec = gate_spec(gate_id)
        click.echo(f"{spec.id:<14} {spec.env:<11} {spec.runbook_step}")
        click.echo(f"{'':<14} {'':<11} window: {spec.window}")


def parse_duration_option(ctx, param, value):
    """A click callback: '30m' -> timedelta, with the option's name in the error."""
    if value is None:
        return None
    try:
        return timefmt.parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def gate_run_options(command):
    """The options every command that runs gates shares (run, watch)."""
    options = [
        ENV_OPTION,
        click.option("--db-url", help="Database URL (else ROLLOUT_DB_URL, else SUPABASE_DB_URL)."),
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
            envvar=db.WEBHOOK_ENV,
            show_envvar=True,
            metavar="URL",
            help="Slack-compatible webhook told of FAIL, ERROR and recovery (a secret: prefer "
            "the environment variable, which `ps` does not show).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@main.command("run")
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
    from ..notebook.context import parse_as_of
    from ..run.evidence import recorded_traceback
    from ..run.parallel import run_gates
    from ..run.runner import check_request, run_gate

    if align and as_of:
        raise UsageError("give --as-of or --align, not both")
    if align:
        as_of = aligned_now(align).isoformat()
    url = db.resolve_db_url(db_url)
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
                db_url=url,
                as_of=as_of,
                overrides=overrides,
                output_root=output_dir,
                progress=show_progress,
                execution_timeout=timeout,
                lock_wait=lock_wait.total_seconds(),
                secrets=(notify_webhook,) if notify_webhook else (),
                webhook_url=notify_webhook,
            ),
            jobs=jobs,
            after={gate_id: gate_spec(gate_id).after for gate_id in selected},
            announce=lambda gate_id: click.echo(
                f"running {gate_id} on {env} against {db.redact_url(url)} ...", err=True
            ),
            report=report,
        )
    sys.exit(exit_code_of(results))


@main.command("watch")
@click.argument("gate")
@gate_run_options
@click.option(
    "--every",
    default="30m",
    show_default=True,
    callback=parse_duration_option,
    help="Interval between runs, aligned to the clock (30m: at :00 and :30 UTC).",
)
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

    url = db.resolve_db_url(db_url)
    overrides = config.parse_overrides(settings)
    check_request(gate, env, db_url=url, as_of="", overrides=overrides)

    def run_once() -> GateResult:
        result = run_gate(
            gate,
            env,
            db_url=url,
            overrides=overrides,
            output_root=output_dir,
            execution_timeout=timeout,
            lock_wait=lock_wait.total_seconds(),
            secrets=(notify_webhook,) if notify_webhook else (),
            webhook_url=notify_webhook,
        )
        echo_delivery(result)
        return result

    with sigterm_as_interrupt():
        runs = watch_gate(run_once, every, duration, echo=lambda m: click.echo(m, err=True))
    click.echo(f"\nwatch of {gate} on {env}: {len(runs)} scheduled runs")
    for run in runs:
        click.echo(run.summary_line())
    sys.exit(watch_exit_code(runs))


@main.command("replay")
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
@click.option("--db-url", help="Database URL (else ROLLOUT_DB_URL, else SUPABASE_DB_URL).")
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

    url = db.resolve_db_url(db_url)
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


@main.command("trace")
@ENV_OPTION
@click.option(
    "--verdict",
    "verdict_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A verdict.json: trace the bookings behind its failing checks.",
)
@click.option("--booking", "booking_id", default="", help="Trace this one booking id.")
@click.option("--as-of", "as_of", default="", help="ISO-8601 (default: the verdict's, else now).")
@click.option("--db-url", help="Database URL (else ROLLOUT_DB_URL, else SUPABASE_DB_URL).")
@OUTPUT_DIR_OPTION
@reports_errors
def trace_command(env, verdict_path, booking_id, as_of, db_url, output_dir):
    """Open booking-trace.ipynb after a red flag: each booking's trail, state path and why
    its outcome counts as it does. Exit 0 when the trace ran; 4 when it could not."""
    from ..run.runner import run_trace

    if bool(verdict_path) == bool(booking_id):
        raise UsageError("give one of --verdict and --booking")
    url = db.resolve_db_url(db_url)
    with sigterm_as_interrupt():
        run_dir, error = run_trace(
            env, db_url=url, verdict_path=verdict_path, booking_id=booking_id, as_of=as_of,
            output_root=output_dir,
        )  # fmt: skip
    if error:
        raise RolloutGatesError(f"trace failed: {error}; partial notebook in {run_dir}")
    click.echo(f"trace: {run_dir / 'booking-trace.html'}")


@main.command("schedule")
@click.argument("gate")
@ENV_OPTION
@click.option(
    "--every",
    default="30m",
    show_default=True,
    callback=parse_duration_option,
    help="Interval, aligned to the clock; must divide the hour or the day.",
)
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


@main.command("prune")
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
    from ..core.verdict import EXIT_CODES

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


@main.command("doctor")
@ENV_OPTION
@click.option("--db-url", help="Database URL (else ROLLOUT_DB_URL, else SUPABASE_DB_URL).")
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

    diagnosis = diagnose(db.resolve_db_url(db_url))
    click.echo("\n".join(report_lines(diagnosis, env)))
    sys.exit(EXIT_ERROR if diagnosis.failed else 0)


@main.command("simulate")
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
    from ..notebook.context import parse_as_of
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
        f"{db.redact_url(db_url)}, {summary.start:%Y-%m-%d %H:%M} to "
        f"{summary.end:%Y-%m-%d %H:%M} UTC"
    )


@main.group("db")
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


@main.command("demo")
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


@main.group("flags")
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
    from ..notebook.context import parse_as_of

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


@main.command("incident")
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
    from ..notebook.context import parse_as_of
    from ..report.incident import write_incident

    moment, _ = parse_as_of(at)
    draft, bundle = write_incident(evidence_dir or layout.outputs_dir(), env, moment, output)
    click.echo(f"draft: {draft}")
    click.echo(f"bundle: {bundle}")


@main.command("report")
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
