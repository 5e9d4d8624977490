"""Shared fixtures: a real PostgreSQL server, never a mock.

With ROLLOUT_TEST_DB_URL set (the CI's Postgres 15), tests use that server and create
their own databases on it; otherwise an embedded server is started for the session.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from rollout_gates.ops import admin


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """The URL of the test server's `postgres` database."""
    external = os.environ.get("ROLLOUT_TEST_DB_URL")
    if external:
        yield admin.with_database(external, "postgres")
        return
    from rollout_gates.ops import embedded

    # Not under pytest's basetemp: a concurrent pytest run prunes old basetemps, data and all.
    folder = Path(tempfile.mkdtemp(prefix="rollout-gates-test-pg-"))
    pgdata = folder / "data"
    urls = embedded.start(pgdata)
    try:
        yield admin.with_database(urls["production"], "postgres")
    finally:
        embedded.stop(pgdata)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def server_folder() -> Iterator[Path]:
    """A folder for an embedded server's data, outside pytest's basetemp (a concurrent pytest
    run prunes old basetemps, data and all); its server is stopped and the folder removed after."""
    from rollout_gates.ops import embedded

    folder = Path(tempfile.mkdtemp(prefix="rollout-gates-test-server-"))
    yield folder
    embedded.stop(folder / "data")
    shutil.rmtree(folder, ignore_errors=True)


def unique_database_name(name: str) -> str:
    """A database name that no concurrent run on a shared server will pick."""
    slug = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")[:40]
    return f"rgt_{slug}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_database(pg_server_url) -> Iterator[Callable[[str], str]]:
    """A factory: name -> URL of a fresh database with the schema, dropped at teardown."""
    created = []

    def make(name: str) -> str:
        database = unique_database_name(name)
        created.append(database)
        return admin.create_database(pg_server_url, database, replace=True)

    yield make
    for database in created:
        admin.drop_database(pg_server_url, database)


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`rollout-gates ARGS` in a child process, as a user or a scheduler runs it."""
    return subprocess.run(
        [sys.executable, "-m", "rollout_gates", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=900,
    )


@pytest.fixture(scope="session")
def cli():
    return run_cli


@pytest.fixture(scope="session")
def scenario_end(pg_server_url) -> datetime:
    """A timeline end one minute before the database clock, on a whole minute."""
    with psycopg.connect(pg_server_url) as connection:
        now = connection.execute("SELECT date_trunc('minute', now())").fetchone()[0]
    return now - timedelta(minutes=1)


@pytest.fixture(scope="session")
def scenario_db(pg_server_url, scenario_end) -> Iterator[Callable[..., str]]:
    """Load a scenario's environment once per session into its own database, via the CLI."""
    loaded: dict[tuple[str, str], str] = {}

    def load(name: str, env: str = "production") -> str:
        if (name, env) not in loaded:
            database = unique_database_name(f"{name}_{env}")
            url = admin.create_database(pg_server_url, database, replace=True)
            completed = run_cli(
                "simulate", "--scenario", name, "--env", env, "--db-url", url,
                "--end", scenario_end.isoformat(),
            )  # fmt: skip
            assert completed.returncode == 0, completed.stderr
            loaded[(name, env)] = database
        return admin.with_database(pg_server_url, loaded[(name, env)])

    yield load
    for database in loaded.values():
        admin.drop_database(pg_server_url, database)


@dataclass
class GateRun:
    completed: subprocess.CompletedProcess
    verdict: dict
    run_dir: Path

    @property
    def checks(self) -> dict[str, dict]:
        return {check["id"]: check for check in self.verdict["checks"]}

    @property
    def statuses(self) -> dict[str, str]:
        return {check_id: check["status"] for check_id, check in self.checks.items()}


@pytest.fixture(scope="session")
def run_gate():
    """Run a gate through the CLI into `output_dir`; returns the run and its verdict.json."""

    def run(gate, env, url, output_dir, as_of=None, *settings, extra_env=None) -> GateRun:
        before = set(output_dir.glob(f"{env}/{gate}/*"))
        args = ["run", gate, "--env", env, "--db-url", url, "--output-dir", str(output_dir)]
        if as_of is not None:
            args += ["--as-of", as_of.isoformat()]
        for setting in settings:
            args += ["--set", setting]
        completed = run_cli(*args, env=extra_env)
        [run_dir] = set(output_dir.glob(f"{env}/{gate}/*")) - before
        recorded = run_dir / "verdict.json"
        assert recorded.exists(), (
            f"no verdict.json in {run_dir} (exit {completed.returncode}):\n"
            f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
        )
        verdict = json.loads(recorded.read_text())
        return GateRun(completed, verdict, run_dir)

    return run


@pytest.fixture(scope="session")
def write_ledger(scenario_end):
    """Write a scenario's flag changes as the ledger under an evidence root, as the demo does."""
    from rollout_gates.config.ledger import append_changes
    from rollout_gates.core.layout import ledger_path
    from rollout_gates.sim.simulate import flag_changes, load_scenario

    def write(output_dir: Path, name: str, env: str = "production") -> Path:
        path = ledger_path(output_dir, env)
        append_changes(path, flag_changes(load_scenario(name), env, scenario_end))
        return path

    return write


@dataclass
class WebhookReceiver:
    """A local HTTP endpoint standing in for Slack: records each POST, answers as told."""

    url: str
    messages: list[dict]
    status: int = 200  # what it answers
    delay: float = 0.0  # seconds before answering


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    receiver = WebhookReceiver(url="", messages=[])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the http.server API)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            receiver.messages.append(json.loads(body))
            time.sleep(receiver.delay)
            self.send_response(receiver.status)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = (
        f"http://127.0.0.1:{server.server_port}/services/T0/B0/secret-token-{uuid.uuid4().hex}"
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connection refused."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


@dataclass
class EventsLock:
    """The test holding observability_events, so a gate's first read of it waits in its cell."""

    connection: psycopg.Connection

    def blocked_gates(self) -> int:
        """Sessions of rollout-gates waiting on a lock in this database."""
        return self.connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'rollout-gates' AND wait_event_type = 'Lock'"
        ).fetchone()[0]

    def wait_for_blocked_gates(self, count: int = 1, timeout: float = 120) -> None:
        import time

        deadline = time.monotonic() + timeout
        while self.blocked_gates() < count:
            assert time.monotonic() < deadline, f"no {count} gate(s) waiting on the table"
            time.sleep(0.1)


@pytest.fixture
def events_locked():
    """`with events_locked(url) as lock:` a gate reading observability_events waits, in a
    cell of its notebook, until the block ends: a run that is certainly still going.

    ACCESS EXCLUSIVE from a second session (autocommit, so pg_stat_activity is read fresh);
    the gates' own SQL is untouched.
    """
    import contextlib

    @contextlib.contextmanager
    def hold(url: str) -> Iterator[EventsLock]:
        with (
            psycopg.connect(url) as holder,
            psycopg.connect(url, autocommit=True) as observer,
        ):
            holder.execute("LOCK TABLE observability_events IN ACCESS EXCLUSIVE MODE")
            try:
                yield EventsLock(observer)
            finally:
                holder.rollback()

    return hold
