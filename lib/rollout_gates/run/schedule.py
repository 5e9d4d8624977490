"""Ready-to-use scheduler entries (cron, systemd) that run a gate at clock-aligned times.

Each entry calls `rollout-gates run ... --align INTERVAL`, so a run that starts
late still judges the window ending at the time it was scheduled for. The
database URL stays in an environment file that only the scheduler reads: never
in the crontab or the unit, where `ps` or `systemctl show` would reveal it.
"""

import shlex
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ..core import layout
from ..core.errors import UsageError
from ..core.timefmt import DAY, HOUR, format_duration


@dataclass(frozen=True)
class Job:
    gate: str
    env: str
    every: timedelta
    project: Path  # the checkout holding .venv and outputs/
    env_file: Path  # holds ROLLOUT_DB_URL (and ROLLOUT_NOTIFY_WEBHOOK), mode 0600
    output_dir: Path | None = None

    @property
    def name(self) -> str:
        return f"rollout-gates-{self.gate}-{self.env}"

    def command(self) -> list[str]:
        args = [
            str(self.project / ".venv" / "bin" / "rollout-gates"),
            "run", self.gate, "--env", self.env, "--align", format_duration(self.every),
        ]  # fmt: skip
        if self.output_dir:
            args += ["--output-dir", str(self.output_dir)]
        return args


def check_interval(every: timedelta) -> None:
    """Clock alignment needs an interval that divides the hour or the day evenly."""
    minutes = every.total_seconds() / 60
    divides_hour = minutes < 60 and minutes.is_integer() and 60 % minutes == 0
    hours = every.total_seconds() / 3600
    divides_day = HOUR <= every <= DAY and hours.is_integer() and 24 % hours == 0
    if not (divides_hour or divides_day):
        raise UsageError(
            f"--every {format_duration(every)} does not divide the hour or the day, so it cannot "
            "be aligned to the clock: use e.g. 10m, 15m, 30m, 1h, 6h or 12h"
        )


def cron_times(every: timedelta) -> str:
    """The five cron time fields for an aligned interval (see check_interval)."""
    check_interval(every)
    minutes = int(every.total_seconds() // 60)
    if minutes < 60:
        return f"*/{minutes} * * * *" if minutes > 1 else "* * * * *"
    hours = minutes // 60
    return "0 0 * * *" if hours == 24 else f"0 */{hours} * * *" if hours > 1 else "0 * * * *"


def on_calendar(every: timedelta) -> str:
    """systemd's OnCalendar= for an aligned interval."""
    check_interval(every)
    minutes = int(every.total_seconds() // 60)
    if minutes < 60:
        return f"*-*-* *:00/{minutes}:00"
    return f"*-*-* 00/{minutes // 60}:00:00"


def cron_entry(job: Job) -> str:
    """One crontab line; its output is appended to a log beside the evidence."""
    log = layout.job_log(job.output_dir or job.project / layout.OUTPUTS, job.env, job.name)
    shell = (
        f"set -a && . {shlex.quote(str(job.env_file))} && set +a && "
        f"{shlex.join(job.command())} >> {shlex.quote(str(log))} 2>&1"
    )
    return f"{cron_times(job.every)} cd {shlex.quote(str(job.project))} && {shell}"


def systemd_units(job: Job) -> dict[str, str]:
    """A oneshot service and its timer, by file name."""
    service = f"""[Unit]
Description=rollout-gates: {job.gate} on {job.env}
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
WorkingDirectory={job.project}
EnvironmentFile={job.env_file}
ExecStart={shlex.join(job.command())}
# exit codes 1 (FAIL) and 3 (INCONCLUSIVE) are verdicts, not a broken service
SuccessExitStatus=1 3
"""
    timer = f"""[Unit]
Description=rollout-gates: {job.gate} on {job.env} every {format_duration(job.every)}

[Timer]
OnCalendar={on_calendar(job.every)}
AccuracySec=1s
# a run missed while the machine was down runs once at boot, judging the latest aligned time
Persistent=true

[Install]
WantedBy=timers.target
"""
    return {f"{job.name}.service": service, f"{job.name}.timer": timer}
